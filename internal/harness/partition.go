package harness

// Partitions: where Cut takes one peer off the network, a partition cuts
// the links between groups of peers and leaves each group whole inside.

// CutLink cuts the link between the peers at a and b, both ways: neither can
// dial the other, and the connections between them are closed. Each keeps
// its other links.
func (n *Network) CutLink(a, b string) {
	n.mu.Lock()
	if n.links == nil {
		n.links = map[[2]string]bool{}
	}
	n.links[[2]string{a, b}] = true
	n.links[[2]string{b, a}] = true
	var victims []*trackedConn
	for c := range n.conns {
		// Only the dialing side knows both ends; closing it ends the TCP
		// connection, so the accepting side reads EOF.
		if o := n.owner[c]; (o[0] == a && o[1] == b) || (o[0] == b && o[1] == a) {
			victims = append(victims, c)
		}
	}
	n.mu.Unlock()
	for _, c := range victims {
		c.Close()
	}
}

// Partition cuts every link between two peers of different groups. A peer
// in no group keeps all its links.
func (n *Network) Partition(groups ...[]string) {
	for i, g := range groups {
		for _, other := range groups[i+1:] {
			for _, a := range g {
				for _, b := range other {
					n.CutLink(a, b)
				}
			}
		}
	}
}

// HealLinks restores every cut link. Peers taken off with Cut stay off.
func (n *Network) HealLinks() {
	n.mu.Lock()
	n.links = nil
	n.mu.Unlock()
}

func (n *Network) linkCut(a, b string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.links[[2]string{a, b}]
}

// Partition splits the cluster's network into groups of peers (see
// Network.Partition); HealPartition joins them again.
func (c *Cluster) Partition(groups ...[]*Peer) {
	addrs := make([][]string, len(groups))
	for i, g := range groups {
		for _, p := range g {
			addrs[i] = append(addrs[i], p.Addr)
		}
	}
	c.Net.Partition(addrs...)
}

// HealPartition restores the links a Partition cut.
func (c *Cluster) HealPartition() { c.Net.HealLinks() }
