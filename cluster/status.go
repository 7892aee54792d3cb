package cluster

import (
	"errors"
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
