package cluster

import "github.com/flotilla-ipfs/flotilla/cluster/tracker"

// Upstream is what the Node needs from the IPFS node behind this peer: at
// least all that its pin tracker needs.
type Upstream interface {
	tracker.IPFS
}
