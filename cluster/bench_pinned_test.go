package cluster

import (
	"slices"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// BenchmarkPinnedThroughAPeerNotAllocated measures one client's pin and
// wait for "pinned" (proxy.pin_wait=pinned) through a peer the pin is not
// allocated to, which must learn from the allocated peer when it holds the
// pin, against the same through the allocated peer itself, in one run.
func BenchmarkPinnedThroughAPeerNotAllocated(b *testing.B) {
	peers := newTestCluster(b, 3)
	via, holder := peers[0], peers[1]
	next := 0
	p50 := func(allocatedTo *testPeer, n int) time.Duration {
		lat := make([]time.Duration, n)
		for i := range lat {
			next++
			c := testCid(950000 + next)
			pin := storage.Pin{Cid: c, ReplicationFactorMin: 1, ReplicationFactorMax: 1, UserAllocations: []string{allocatedTo.id}}
			start := time.Now()
			if _, err := via.node.Pin(ctx(b), pin); err != nil {
				b.Fatal(err)
			}
			if err := via.node.WaitPinned(ctx(b), c, nil); err != nil {
				b.Fatal(err)
			}
			lat[i] = time.Since(start)
		}
		slices.Sort(lat)
		return lat[n/2]
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		const n = 50
		var here, elsewhere time.Duration
		if i%2 == 0 {
			here, elsewhere = p50(via, n), p50(holder, n)
		} else {
			elsewhere, here = p50(holder, n), p50(via, n)
		}
		b.ReportMetric(float64(elsewhere.Microseconds())/1000, "ms-p50-elsewhere")
		b.ReportMetric(float64(here.Microseconds())/1000, "ms-p50-here")
		b.ReportMetric(float64(elsewhere)/float64(here), "elsewhere/here")
	}
}
