package cluster

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
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
	pinThrough := func(p *testPeer) func() {
		return func() {
			next++
			if _, err := p.node.Pin(ctx(b), storage.Pin{Cid: testCid(900000 + next)}); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportP50s(b, 100, pinThrough(follower), pinThrough(leader), "follower", "leader")
}

// reportP50s times n calls of measured and n of baseline a round, the two
// taking turns going first, and reports their medians (ms-p50-<name>) and
// measured's over baseline's (<measuredName>/<baselineName>).
func reportP50s(b *testing.B, n int, measured, baseline func(), measuredName, baselineName string) {
	b.Helper()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var m, base time.Duration
		if i%2 == 0 {
			base, m = p50(n, baseline), p50(n, measured)
		} else {
			m, base = p50(n, measured), p50(n, baseline)
		}
		b.ReportMetric(float64(m.Microseconds())/1000, "ms-p50-"+measuredName)
		b.ReportMetric(float64(base.Microseconds())/1000, "ms-p50-"+baselineName)
		b.ReportMetric(float64(m)/float64(base), measuredName+"/"+baselineName)
	}
}

// p50 is the median time of n calls of op.
func p50(n int, op func()) time.Duration {
	lat := make([]time.Duration, n)
	for i := range lat {
		start := time.Now()
		op()
		lat[i] = time.Since(start)
	}
	slices.Sort(lat)
	return lat[n/2]
}

// BenchmarkConcurrentPinsThroughAFollower measures pins committed per
// second by 16 and 64 concurrent clients through a follower of a
// three-peer cluster (replication 2, the trackers pinning on in-memory
// IPFS nodes meanwhile), against the same through the leader in the same
// run: each forwarded write costs an RPC, and the follower's own apply.
func BenchmarkConcurrentPinsThroughAFollower(b *testing.B) {
	peers := newTestCluster(b, 3)
	leader := leaderOf(b, peers)
	follower := peers[slices.IndexFunc(peers, func(p *testPeer) bool { return p != leader })]
	var next atomic.Int64
	rate := func(p *testPeer, clients, n int) float64 {
		start := time.Now()
		var wg sync.WaitGroup
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range n / clients {
					pin := storage.Pin{Cid: testCid(2_000_000 + int(next.Add(1))), ReplicationFactorMin: 2, ReplicationFactorMax: 2}
					if _, err := p.node.Pin(ctx(b), pin); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		return float64(n/clients*clients) / time.Since(start).Seconds()
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, clients := range []int{16, 64} {
			const n = 1024
			var viaLeader, viaFollower float64
			if i%2 == 0 {
				viaLeader, viaFollower = rate(leader, clients, n), rate(follower, clients, n)
			} else {
				viaFollower, viaLeader = rate(follower, clients, n), rate(leader, clients, n)
			}
			b.ReportMetric(viaFollower, fmt.Sprintf("pins/s-follower-c%d", clients))
			b.ReportMetric(viaLeader, fmt.Sprintf("pins/s-leader-c%d", clients))
			b.ReportMetric(viaFollower/viaLeader, fmt.Sprintf("follower/leader-c%d", clients))
		}
	}
}
