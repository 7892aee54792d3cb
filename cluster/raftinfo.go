package cluster

import (
	"strconv"

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
