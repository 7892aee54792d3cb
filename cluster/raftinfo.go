package cluster

import (
	"strconv"
	"time"

	"github.com/hashicorp/raft"

	"github.com/flotilla-ipfs/flotilla/types"
)

// RaftInfo is the Raft node's view, for the admin API.
func (n *Node) RaftInfo() types.RaftInfo {
	r := n.rp.raft
	_, leader := r.LeaderWithID()
	info := types.RaftInfo{
		State:        stateName(r.State()),
		Leader:       string(leader),
		Term:         parseUint(r.Stats()["term"]),
		CommitIndex:  parseUint(r.Stats()["commit_index"]),
		AppliedIndex: r.AppliedIndex(),
	}
	if s, ok, _ := n.raftServer(n.cfg.ID); ok {
		info.Voter = s.Suffrage == raft.Voter
	}
	return info
}

// lastContact is the time since this peer last heard from the Raft leader,
// as Raft's "last_contact" stat: 0 on the leader, negative when never.
func (n *Node) lastContact() time.Duration {
	r := n.rp.raft
	if r.State() == raft.Leader {
		return 0
	}
	last := r.LastContact()
	if last.IsZero() {
		return -1
	}
	return time.Since(last)
}

func stateName(s raft.RaftState) string {
	switch s {
	case raft.Leader:
		return "leader"
	case raft.Candidate:
		return "candidate"
	case raft.Follower:
		return "follower"
	}
	return "shutdown"
}

// parseUint reads one of Raft's stats, which it reports as strings.
func parseUint(s string) uint64 {
	v, _ := strconv.ParseUint(s, 10, 64)
	return v
}
