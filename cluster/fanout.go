package cluster

import (
	"context"
	"sync"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// perPeerTimeout bounds one peer's answer in a fan-out, so that one dead
// peer cannot hold a request.
const perPeerTimeout = 15 * time.Second

// fanOut calls fn for every member in parallel, self included, and returns
// once all have answered or timed out.
func (n *Node) fanOut(ctx context.Context, fn func(ctx context.Context, p storage.Peer)) {
	n.fanOutTo(ctx, n.members(), fn)
}

// fanOutTo is fanOut over the given peers.
func (n *Node) fanOutTo(ctx context.Context, peers []storage.Peer, fn func(ctx context.Context, p storage.Peer)) {
	var wg sync.WaitGroup
	for _, p := range peers {
		wg.Add(1)
		go func(p storage.Peer) {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, perPeerTimeout)
			defer cancel()
			fn(cctx, p)
		}(p)
	}
	wg.Wait()
}

// Peers returns the ID object of every member, ordered as the peer set. A
// peer that does not answer still gets an entry, carrying its error and the
// role this peer's Raft gives it. Each entry carries when this peer last
// heard the member's heartbeat.
func (n *Node) Peers(ctx context.Context) []types.ID {
	peers := n.members()
	out := make([]types.ID, len(peers))
	var wg sync.WaitGroup
	for i, p := range peers {
		wg.Add(1)
		go func(i int, p storage.Peer) {
			defer wg.Done()
			info := n.memberID(ctx, p)
			info.Role = n.roleOf(p, info.Role)
			info.LastHeartbeat, _ = n.monitor.LastHeard(p.ID)
			out[i] = info
		}(i, p)
	}
	wg.Wait()
	return out
}

// memberID is p's own description of itself, or, when p does not answer,
// what the peer set knows of it with the error.
func (n *Node) memberID(ctx context.Context, p storage.Peer) types.ID {
	if p.ID == n.cfg.ID {
		return n.ID(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, perPeerTimeout)
	defer cancel()
	info, err := n.client.ID(ctx, p.ClusterAddr)
	if err != nil {
		return types.ID{
			ID: p.ID, Peername: p.Name, Addresses: []string{p.ClusterAddr}, Error: err.Error(),
			ClusterPeers: []string{}, ClusterPeersAddresses: []string{}, IPFS: types.IPFSID{ID: p.IPFSID, Addresses: []string{}},
		}
	}
	return info
}

// PeerMap asks every peer of the cluster for its status of c, in parallel.
// A peer that does not answer gets a cluster_error entry rather than being
// left out, so that an operator sees it.
func (n *Node) PeerMap(ctx context.Context, c cid.Cid) map[string]types.PinStatus {
	return n.PeerMaps(ctx, []cid.Cid{c})[0]
}

// CheckedPeerMaps is PeerMaps with each peer's pinned status checked
// against its IPFS node, as ipfs-cluster's status of named CIDs is: a pin
// removed from a node behind the cluster's back reads unexpectedly_unpinned
// there, not pinned until the next reconcile. It costs each allocated peer
// a question to its node a CID, so listings of the pinset do not ask it.
func (n *Node) CheckedPeerMaps(ctx context.Context, cids []cid.Cid) []map[string]types.PinStatus {
	return n.peerMaps(ctx, cids, true)
}

// PeerMaps is PeerMap for many CIDs at once: one request per peer for the
// whole batch instead of one per CID, which is what makes a status listing
// of a large pinset take minutes rather than hours. Results are in the
// order of cids.
func (n *Node) PeerMaps(ctx context.Context, cids []cid.Cid) []map[string]types.PinStatus {
	return n.peerMaps(ctx, cids, false)
}

func (n *Node) peerMaps(ctx context.Context, cids []cid.Cid, checked bool) []map[string]types.PinStatus {
	out := make([]map[string]types.PinStatus, len(cids))
	for i := range out {
		out[i] = map[string]types.PinStatus{}
	}
	var mu sync.Mutex
	n.fanOut(ctx, func(ctx context.Context, p storage.Peer) {
		sts, err := n.peerStatuses(ctx, p, cids, checked)
		mu.Lock()
		defer mu.Unlock()
		for i := range cids {
			if err != nil {
				out[i][p.ID] = types.PinStatus{PeerName: p.Name, IPFSPeerID: p.IPFSID, Status: types.StatusClusterError, Error: err.Error(), Timestamp: time.Now().UTC()}
				continue
			}
			out[i][p.ID] = sts[i]
		}
	})
	return out
}

func (n *Node) peerStatuses(ctx context.Context, p storage.Peer, cids []cid.Cid, checked bool) ([]types.PinStatus, error) {
	switch {
	case p.ID == n.cfg.ID && checked:
		return n.checkedStatuses(ctx, cids), nil
	case p.ID == n.cfg.ID:
		return n.localStatuses(cids), nil
	case checked:
		return n.client.CheckedStatuses(ctx, p.ClusterAddr, n.acked.Get(), cids)
	}
	return n.client.Statuses(ctx, p.ClusterAddr, n.acked.Get(), cids)
}

// Recover retries a failed pin or unpin of c on every peer that holds it,
// and returns the resulting peer map.
func (n *Node) Recover(ctx context.Context, c cid.Cid) (map[string]types.PinStatus, error) {
	n.fanOutTo(ctx, n.actedOn(), func(ctx context.Context, p storage.Peer) {
		if p.ID == n.cfg.ID {
			n.tracker.Recover(ctx, c)
			return
		}
		_ = n.client.Recover(ctx, p.ClusterAddr, c)
	})
	return n.PeerMap(ctx, c), nil
}

// RepoGC collects garbage on every peer's IPFS node, in parallel. Pins of
// the cluster are pinned on the nodes, so the collector never removes them.
func (n *Node) RepoGC(ctx context.Context) map[string]types.RepoGC {
	var mu sync.Mutex
	out := map[string]types.RepoGC{}
	n.fanOutTo(ctx, n.actedOn(), func(ctx context.Context, p storage.Peer) {
		var res types.RepoGC
		if p.ID == n.cfg.ID {
			res = n.localRepoGC(ctx)
		} else {
			var err error
			if res, err = n.client.RepoGC(ctx, p.ClusterAddr); err != nil {
				res = types.RepoGC{Peer: p.ID, Peername: p.Name, Error: err.Error()}
			}
		}
		if res.Keys == nil {
			res.Keys = []types.RepoGCKey{}
		}
		mu.Lock()
		out[p.ID] = res
		mu.Unlock()
	})
	return out
}

// RepoStat sums every peer's IPFS repo, as ipfs-cluster does for the proxy's
// repo/stat. Peers that do not answer are left out of the sum.
func (n *Node) RepoStat(ctx context.Context) (types.RepoStat, error) {
	var mu sync.Mutex
	var total types.RepoStat
	var firstErr error
	n.fanOut(ctx, func(ctx context.Context, p storage.Peer) {
		var rs types.RepoStat
		var err error
		if p.ID == n.cfg.ID {
			rs, err = n.localRepoStat(ctx)
		} else {
			rs, err = n.client.RepoStat(ctx, p.ClusterAddr)
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			n.log.Warn().Err(err).Str("peer", p.ID).Msg("repo/stat of a peer failed; left out of the sum")
			return
		}
		total.RepoSize += rs.RepoSize
		total.StorageMax = saturatingAdd(total.StorageMax, rs.StorageMax)
		total.NumObjects += rs.NumObjects
	})
	if total == (types.RepoStat{}) && firstErr != nil {
		return total, firstErr
	}
	return total, nil
}

func saturatingAdd(a, b uint64) uint64 {
	if a+b < a {
		return ^uint64(0)
	}
	return a + b
}
