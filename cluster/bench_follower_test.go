package cluster

import (
	"slices"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// BenchmarkPinThroughAFollower measures one client's pin latency through a
// follower of a three-peer cluster, against the same through the leader in
// the same run: the follower's extra cost is the forward and learning of
// the commit, which it must apply before it answers (read-your-writes).
func BenchmarkPinThroughAFollower(b *testing.B) {
	peers := newTestCluster(b, 3)
	leader := leaderOf(b, peers)
	follower := peers[slices.IndexFunc(peers, func(p *testPeer) bool { return p != leader })]
	next := 0
	p50 := func(p *testPeer, n int) time.Duration {
		lat := make([]time.Duration, n)
		for i := range lat {
			next++
			start := time.Now()
			if _, err := p.node.Pin(ctx(b), storage.Pin{Cid: testCid(900000 + next)}); err != nil {
				b.Fatal(err)
			}
			lat[i] = time.Since(start)
		}
		slices.Sort(lat)
		return lat[n/2]
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		const n = 100
		var viaLeader, viaFollower time.Duration
		if i%2 == 0 {
			viaLeader, viaFollower = p50(leader, n), p50(follower, n)
		} else {
			viaFollower, viaLeader = p50(follower, n), p50(leader, n)
		}
		b.ReportMetric(float64(viaFollower.Microseconds())/1000, "ms-p50-follower")
		b.ReportMetric(float64(viaLeader.Microseconds())/1000, "ms-p50-leader")
		b.ReportMetric(float64(viaFollower)/float64(viaLeader), "follower/leader")
	}
}
