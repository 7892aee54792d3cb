package cluster

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// BenchmarkPinCommit measures pins committed per second through one peer,
// one at a time and with 64 concurrent clients, in the same process, and
// reports the ratio: what group commit buys over one Raft entry per pin.
func BenchmarkPinCommit(b *testing.B) {
	p := newTestPeer(b)
	const sequential, concurrent, clients = 200, 4000, 64
	var next atomic.Int64
	pin := func() {
		if _, err := p.node.Pin(ctx(b), storage.Pin{Cid: testCid(int(next.Add(1)))}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		for j := 0; j < sequential; j++ {
			pin()
		}
		seqRate := sequential / time.Since(start).Seconds()

		start = time.Now()
		var wg sync.WaitGroup
		per := concurrent / clients
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; j < per; j++ {
					pin()
				}
			}()
		}
		wg.Wait()
		conRate := float64(per*clients) / time.Since(start).Seconds()
		b.ReportMetric(seqRate, "pins/s-sequential")
		b.ReportMetric(conRate, "pins/s-64-clients")
		b.ReportMetric(conRate/seqRate, "group-commit-ratio")
	}
}

// BenchmarkTrackerThroughput commits 2000 pins in four entries, then times
// how long the tracker takes to pin them all on an in-memory IPFS, and
// reports both rates and their ratio: how far tracking lags committing.
func BenchmarkTrackerThroughput(b *testing.B) {
	for i := 0; i < b.N; i++ {
		// A peer's start and stop are not what this measures.
		b.StopTimer()
		p := newTestPeer(b)
		b.StartTimer()
		const n = 2000
		ops := make([]storage.Op, n)
		for j := range ops {
			ops[j] = storage.Op{Kind: storage.OpPin, Pin: storage.Pin{
				Cid: testCid(100000 + j), ReplicationFactorMin: -1, ReplicationFactorMax: -1, Timestamp: time.Now(),
			}}
		}
		start := time.Now()
		for j := 0; j < n; j += 500 {
			if _, err := p.node.submit(ctx(b), ops[j:j+500]); err != nil {
				b.Fatal(err)
			}
		}
		committed := time.Since(start)
		eventually(b, "every pin tracked", func() bool {
			c, _ := p.node.status.CountByStatus()
			return c[storage.StatusPinned] == n
		})
		tracked := time.Since(start)
		b.ReportMetric(n/committed.Seconds(), "pins/s-committed")
		b.ReportMetric(n/tracked.Seconds(), "pins/s-tracked")
		b.ReportMetric(tracked.Seconds()/committed.Seconds(), "tracking/commit-time-ratio")
		b.StopTimer()
		p.stop()
		b.StartTimer()
	}
}
