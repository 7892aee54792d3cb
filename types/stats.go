package types

import (
	"time"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// Stats is a point-in-time summary of a peer for monitoring. Every number
// is O(1) to gather in the size of the pinset.
type Stats struct {
	Pinset      int
	LocalStatus map[storage.TrackerStatus]int
	// Peers counts the full members (voters, and peers on their way to
	// voting); Followers the read-only followers. HealthyPeers counts the
	// full members whose heartbeat is current.
	Peers        int
	Followers    int
	HealthyPeers int
	// AlertsRaised counts alerts since start; AlertsActive the peers whose
	// heartbeat has expired and not come back.
	AlertsRaised uint64
	AlertsActive int
	RaftState    string
	Leader       bool
	// LeaderKnown is whether this peer knows a Raft leader.
	LeaderKnown bool
	// LastContact is the time since this peer last heard from the leader:
	// 0 on the leader, negative when it never has.
	LastContact  time.Duration
	Voter        bool
	Term         uint64
	CommitIndex  uint64
	AppliedIndex uint64
}
