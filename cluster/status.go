package cluster

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// PinStatus is one peer's view of one pin: ipfs-cluster's PinInfoShort, the
// value of a peer_map entry.
type PinStatus struct {
	PeerName     string    `json:"peername"`
	IPFSPeerID   string    `json:"ipfs_peer_id,omitempty"`
	Status       string    `json:"status"`
	Timestamp    time.Time `json:"timestamp"`
	Error        string    `json:"error"`
	AttemptCount int       `json:"attempt_count"`
	PriorityPin  bool      `json:"priority_pin"`
}

// Statuses other than the tracker's own, as ipfs-cluster names them.
const (
	StatusRemote       = "remote"
	StatusUnpinned     = "unpinned"
	StatusClusterError = "cluster_error"
)

// LocalStatus reports what this peer's tracker knows of c.
func (n *Node) LocalStatus(c cid.Cid) PinStatus {
	out := PinStatus{PeerName: n.cfg.Name, IPFSPeerID: n.cfg.Self.IPFSID, Timestamp: time.Now().UTC()}
	st, known, err := n.status.Get(c)
	if err != nil {
		out.Status, out.Error = StatusClusterError, err.Error()
		return out
	}
	if known {
		out.Status, out.Error, out.AttemptCount, out.Timestamp = string(st.Status), st.Error, st.AttemptCount, st.Timestamp
	}
	pin, err := n.state.Get(c)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		if !known {
			out.Status = StatusUnpinned
		}
	case err != nil:
		out.Status, out.Error = StatusClusterError, err.Error()
	case !pin.AllocatedTo(n.cfg.ID):
		if !known || (st.Status != storage.StatusUnpinning && st.Status != storage.StatusUnpinQueued && st.Status != storage.StatusUnpinError) {
			out.Status, out.Error = StatusRemote, ""
		}
	case !known:
		out.Status = string(storage.StatusPinQueued)
	}
	return out
}

// PeerMap asks every peer of the cluster for its status of c, in parallel.
// A peer that does not answer gets a cluster_error entry rather than being
// left out, so that an operator sees it.
func (n *Node) PeerMap(ctx context.Context, c cid.Cid) map[string]PinStatus {
	return n.PeerMaps(ctx, []cid.Cid{c})[0]
}

// Delegates lists the IPFS addresses of the peers allocated to hold c, for
// the Pinning Service API: a client connects to them to speed up transfer.
func (n *Node) Delegates(ctx context.Context, c cid.Cid) []string {
	pin, err := n.state.Get(c)
	out := []string{}
	if err != nil || !pin.AllocatedTo(n.cfg.ID) {
		return out
	}
	ider, ok := n.cfg.IPFS.(IPFSIdentity)
	if !ok {
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	id, addrs, err := ider.IPFSID(ctx)
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

// Stats is a point-in-time summary for monitoring.
type Stats struct {
	Pinset       int
	LocalStatus  map[storage.TrackerStatus]int
	Peers        int
	HealthyPeers int
	Alerts       int
	RaftState    string
	Leader       bool
	Voter        bool
	Term         uint64
	CommitIndex  uint64
	AppliedIndex uint64
}

// Stats gathers the numbers /metrics reports. Every one is O(1) in the size
// of the pinset.
func (n *Node) Stats() Stats {
	s := Stats{LocalStatus: map[storage.TrackerStatus]int{}}
	s.Pinset, _ = n.state.Count()
	if counts, err := n.status.CountByStatus(); err == nil {
		s.LocalStatus = counts
	}
	now := time.Now()
	if peers, err := n.state.Peers(); err == nil {
		s.Peers = len(peers)
		for _, p := range peers {
			if n.monitor.Healthy(p.ID, now) {
				s.HealthyPeers++
			}
		}
	}
	s.Alerts = len(n.monitor.Alerts())
	ri := n.RaftInfo()
	s.RaftState, s.Leader, s.Voter = ri.State, ri.State == "leader", ri.Voter
	s.Term, s.CommitIndex, s.AppliedIndex = ri.Term, ri.CommitIndex, ri.AppliedIndex
	return s
}
