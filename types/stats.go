package types

import "github.com/flotilla-ipfs/flotilla/storage"

// Stats is a point-in-time summary of a peer for monitoring. Every number
// is O(1) to gather in the size of the pinset.
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
