package cluster

import (
	"slices"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/health"
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

// A silent peer that is removed will not come back: its alert clears on
// every peer, not on the leader alone, and no peer counts it active.
func TestARemovedPeersAlertClearsOnEveryPeer(t *testing.T) {
	peers := newTestCluster(t, 3)
	victim, rest := peers[2], peers[:2]
	victim.stop()
	victimAlert := func(p *testPeer) (health.Alert, bool) {
		alerts := p.node.Alerts()
		i := slices.IndexFunc(alerts, func(a health.Alert) bool { return a.Peer == victim.id })
		if i < 0 {
			return health.Alert{}, false
		}
		return alerts[i], true
	}
	for _, p := range rest {
		eventually(t, "an active alert for the stopped peer on "+p.id, func() bool {
			a, ok := victimAlert(p)
			return ok && a.Active && p.node.Stats().AlertsActive == 1
		})
	}
	if err := rest[0].node.RemovePeer(ctx(t), victim.id); err != nil {
		t.Fatal(err)
	}
	for _, p := range rest {
		eventually(t, "the removed peer's alert cleared on "+p.id, func() bool {
			a, ok := victimAlert(p)
			s := p.node.Stats()
			return ok && !a.Active && a.ClearedAt != nil && s.AlertsActive == 0 && s.AlertsRaised == 1
		})
	}
}
