package types

import (
	"time"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// Statuses other than the tracker's own (storage.TrackerStatus), as
// ipfs-cluster names them.
const (
	StatusRemote       = "remote"
	StatusUnpinned     = "unpinned"
	StatusClusterError = "cluster_error"
	// StatusUnexpectedlyUnpinned is a pin recorded pinned that the IPFS
	// node no longer holds (removed behind the cluster's back), as a
	// status of one CID finds it, before a reconcile or recover pins it
	// again.
	StatusUnexpectedlyUnpinned = "unexpectedly_unpinned"
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

// PeerMap is every peer's status of one pin, keyed by peer ID.
type PeerMap map[string]PinStatus

// GlobalPinInfo is ipfs-cluster's GlobalPinInfo: a pin and every peer's
// status of it, as GET /pins answers.
type GlobalPinInfo struct {
	Cid         string            `json:"cid"`
	Name        string            `json:"name"`
	Allocations []string          `json:"allocations"`
	Origins     []string          `json:"origins"`
	Created     time.Time         `json:"created"`
	Metadata    map[string]string `json:"metadata"`
	PeerMap     PeerMap           `json:"peer_map"`
}

// NewGlobalPinInfo joins a pin with its peer map, with empty lists and
// maps rather than nulls, as ipfs-cluster's clients expect.
func NewGlobalPinInfo(p storage.Pin, pm PeerMap) GlobalPinInfo {
	if pm == nil {
		pm = PeerMap{}
	}
	meta := p.Metadata
	if meta == nil {
		meta = map[string]string{}
	}
	return GlobalPinInfo{
		Cid:         p.Cid.String(),
		Name:        p.Name,
		Allocations: nonNil(p.Allocations),
		Origins:     nonNil(p.Origins),
		Created:     p.Timestamp.UTC(),
		Metadata:    meta,
		PeerMap:     pm,
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
