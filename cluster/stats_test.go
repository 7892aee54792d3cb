package cluster

import (
	"testing"
	"time"
)

// What /metrics reports of the cluster: full members and read-only
// followers apart, whether each peer knows the leader, and how long since
// it heard from it.
func TestStatsCountFollowersApartAndReportContactWithTheLeader(t *testing.T) {
	peers := newTestCluster(t, 2)
	f := startFollowerPeer(t, peers[1].addr)
	leader := leaderOf(t, peers)
	eventually(t, "the leader to count two members and one follower", func() bool {
		s := leader.node.Stats()
		return s.Peers == 2 && s.Followers == 1
	})
	if s := leader.node.Stats(); !s.LeaderKnown || s.LastContact != 0 {
		t.Fatalf("the leader: leader known %v, last contact %v; want true, 0", s.LeaderKnown, s.LastContact)
	}
	eventually(t, "the follower to know the leader and have heard from it lately", func() bool {
		s := f.node.Stats()
		return s.LeaderKnown && s.LastContact >= 0 && s.LastContact < 5*time.Second
	})
}
