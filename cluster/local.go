package cluster

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/internal/version"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// LocalStatus reports what this peer's tracker knows of c.
func (n *Node) LocalStatus(c cid.Cid) types.PinStatus {
	now := time.Now().UTC()
	if err := n.caughtUp(context.Background()); err != nil {
		return clusterError(n.self(), err, now)
	}
	st, known, err := n.status.Get(c)
	if err != nil {
		return clusterError(n.self(), err, now)
	}
	var rec *storage.LocalStatus
	if known {
		rec = &st
	}
	pin, err := n.state.Get(c)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return n.pinStatus(false, false, rec, now)
	case err != nil:
		out := n.pinStatus(false, false, rec, now)
		out.Status, out.Error = types.StatusClusterError, err.Error()
		return out
	}
	return n.pinStatus(true, pin.AllocatedTo(n.cfg.ID), rec, now)
}

// Delegates lists the IPFS addresses of the peers allocated to hold c, for
// the Pinning Service API: a client connects to them to speed up transfer.
func (n *Node) Delegates(ctx context.Context, c cid.Cid) []string {
	pin, err := n.Get(ctx, c)
	out := []string{}
	if err != nil || !n.holds(pin) {
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	id, addrs, err := n.cfg.IPFS.IPFSID(ctx)
	if err != nil {
		return out
	}
	for _, a := range addrs {
		if !strings.Contains(a, "/p2p/") {
			a += "/p2p/" + id
		}
		out = append(out, a)
	}
	return out
}

// Stats gathers the numbers /metrics reports. Every one is O(1) in the size
// of the pinset.
func (n *Node) Stats() types.Stats {
	s := types.Stats{LocalStatus: map[storage.TrackerStatus]int{}}
	s.Pinset, _ = n.state.Count()
	if counts, err := n.status.CountByStatus(); err == nil {
		s.LocalStatus = counts
	}
	now := time.Now()
	if peers, err := n.state.Peers(); err == nil {
		for _, p := range peers {
			switch {
			case p.Follower:
				s.Followers++
			case n.monitor.Healthy(p.ID, now):
				s.Peers++
				s.HealthyPeers++
			default:
				s.Peers++
			}
		}
	}
	s.AlertsRaised, s.AlertsActive = n.monitor.AlertCounts()
	ri := n.RaftInfo()
	s.RaftState, s.Leader, s.Voter = ri.State, ri.State == "leader", ri.Voter
	s.LeaderKnown = ri.Leader != ""
	s.LastContact = n.lastContact()
	s.Term, s.CommitIndex, s.AppliedIndex = ri.Term, ri.CommitIndex, ri.AppliedIndex
	return s
}

func (n *Node) localStatuses(cids []cid.Cid) []types.PinStatus {
	out := make([]types.PinStatus, len(cids))
	for i, c := range cids {
		out[i] = n.LocalStatus(c)
	}
	return out
}

// checkedStatuses is localStatuses with each pinned status checked against
// the IPFS node (CheckedPeerMap). A node that cannot answer leaves the
// status as recorded: the question is the status's, not the pin's.
func (n *Node) checkedStatuses(ctx context.Context, cids []cid.Cid) []types.PinStatus {
	out := n.localStatuses(cids)
	for i, c := range cids {
		if out[i].Status != string(storage.StatusPinned) {
			continue
		}
		pin, err := n.state.Get(c)
		if err != nil {
			continue
		}
		if held, err := n.tracker.HeldOnIPFS(ctx, c, pin.Mode); err == nil && !held {
			out[i].Status = types.StatusUnexpectedlyUnpinned
		}
	}
	return out
}

// CheckedLocalStatus is LocalStatus checked against the IPFS node.
func (n *Node) CheckedLocalStatus(ctx context.Context, c cid.Cid) types.PinStatus {
	return n.checkedStatuses(ctx, []cid.Cid{c})[0]
}

// ID describes this peer.
func (n *Node) ID(ctx context.Context) types.ID {
	info := types.ID{
		ID:                    n.cfg.ID,
		Addresses:             []string{n.cfg.Advertise},
		ClusterPeers:          []string{},
		ClusterPeersAddresses: []string{},
		Version:               version.Version,
		Commit:                version.Commit,
		RPCProtocolVersion:    version.RPCProtocol,
		Peername:              n.cfg.Name,
		Raft:                  n.RaftInfo(),
		IPFS:                  types.IPFSID{Addresses: []string{}},
	}
	if counts, err := n.status.CountByStatus(); err == nil {
		info.PinsByStatus = make(map[string]int, len(counts))
		for st, k := range counts {
			info.PinsByStatus[string(st)] = k
		}
	}
	info.Role = n.role(info.Raft)
	if cf := n.rp.raft.GetConfiguration(); cf.Error() == nil {
		for _, s := range cf.Configuration().Servers {
			info.ClusterPeers = append(info.ClusterPeers, string(s.ID))
			info.ClusterPeersAddresses = append(info.ClusterPeersAddresses, string(s.Address))
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	id, addrs, err := n.cfg.IPFS.IPFSID(ctx)
	if err != nil {
		info.IPFS.Error = err.Error()
	} else {
		info.IPFS.ID = id
		if addrs != nil {
			info.IPFS.Addresses = addrs
		}
	}
	return info
}

func (n *Node) localRepoGC(ctx context.Context) types.RepoGC {
	res := types.RepoGC{Peer: n.cfg.ID, Peername: n.cfg.Name, Keys: []types.RepoGCKey{}}
	err := n.cfg.IPFS.RepoGC(ctx, func(key, errMsg string) error {
		k := types.RepoGCKey{Error: errMsg}
		if key != "" {
			k.Key = &key
		}
		res.Keys = append(res.Keys, k)
		return nil
	})
	if err != nil {
		res.Error = err.Error()
	}
	return res
}

func (n *Node) localRepoStat(ctx context.Context) (types.RepoStat, error) {
	size, max, objects, err := n.cfg.IPFS.RepoTotals(ctx)
	return types.RepoStat{RepoSize: size, StorageMax: max, NumObjects: objects}, err
}
