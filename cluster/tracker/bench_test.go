package tracker_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/cluster/tracker"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// memIPFS is an IPFS node that pins in memory at once: a benchmark against
// it measures the tracker's own cost, with no HTTP and no Kubo.
type memIPFS struct {
	mu   sync.Mutex
	pins map[cid.Cid]string
}

var _ tracker.IPFS = (*memIPFS)(nil)

func (m *memIPFS) Pin(_ context.Context, c cid.Cid, recursive bool, _ string, _ time.Duration, _ func(nodes, bytes uint64)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if recursive || m.pins[c] == "recursive" {
		m.pins[c] = "recursive"
	} else {
		m.pins[c] = "direct"
	}
	return nil
}

func (m *memIPFS) Unpin(_ context.Context, c cid.Cid) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.pins, c)
	return nil
}

func (m *memIPFS) PinLs(_ context.Context, typ string, fn func(cid.Cid, string) error) error {
	m.mu.Lock()
	var out []cid.Cid
	for c, t := range m.pins {
		if typ == "all" || t == typ {
			out = append(out, c)
		}
	}
	m.mu.Unlock()
	for _, c := range out {
		if err := fn(c, typ); err != nil {
			return err
		}
	}
	return nil
}

func (m *memIPFS) IsPinned(_ context.Context, c cid.Cid) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.pins[c]
	return t, ok, nil
}

func (m *memIPFS) PinUpdate(ctx context.Context, _, to cid.Cid, d time.Duration) error {
	return m.Pin(ctx, to, true, "", d, nil)
}

// BenchmarkTrackerOwnCost commits 10,000 pins in entries of 500 to the real
// pinset and status files, as the Node's FSM does, and times how long the
// tracker takes to pin them all on an in-memory IPFS: pins/s is the
// tracker's own cost, the ceiling it puts on any Kubo behind it.
func BenchmarkTrackerOwnCost(b *testing.B) {
	for _, workers := range []int{4, 10} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			benchTracker(b, workers)
		})
	}
}

// runMemTracker runs a tracker of ipfs on new state and status files
// until the test ends.
func runMemTracker(tb testing.TB, ipfs tracker.IPFS, cfg tracker.Config) (*storage.State, *storage.StatusStore, *tracker.Tracker) {
	tb.Helper()
	dir := tb.TempDir()
	state, err := storage.OpenState(filepath.Join(dir, "state.db"))
	if err != nil {
		tb.Fatal(err)
	}
	status, err := storage.OpenStatusStore(filepath.Join(dir, "status.db"))
	if err != nil {
		state.Close()
		tb.Fatal(err)
	}
	tr := tracker.New(self, state, status, ipfs, cfg, zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tr.Run(ctx)
	}()
	tb.Cleanup(func() {
		cancel()
		<-done
		status.Close()
		state.Close()
	})
	return state, status, tr
}

func benchTracker(b *testing.B, workers int) {
	cfg := testConfig()
	cfg.ConcurrentPins = workers
	state, status, tr := runMemTracker(b, &memIPFS{pins: map[cid.Cid]string{}}, cfg)

	const n, entry = 10000, 500
	var tracked, committed time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ops := make([]storage.Op, n)
		for j := range ops {
			ops[j] = storage.Op{Kind: storage.OpPin, Pin: here(testCid(1_000_000 + i*n + j))}
		}
		before, err := status.CountByStatus()
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for j := 0; j < n; j += entry {
			changes, err := state.Apply(0, storage.Command{Type: storage.CmdPinBatch, Ops: ops[j : j+entry]})
			if err != nil {
				b.Fatal(err)
			}
			tr.Changed(changes)
		}
		committed += time.Since(start)
		for {
			c, err := status.CountByStatus()
			if err != nil {
				b.Fatal(err)
			}
			if c[storage.StatusPinned]-before[storage.StatusPinned] == n {
				break
			}
			time.Sleep(time.Millisecond)
		}
		tracked += time.Since(start)
	}
	b.ReportMetric(float64(n*b.N)/tracked.Seconds(), "pins/s-tracked")
	b.ReportMetric(float64(n*b.N)/committed.Seconds(), "pins/s-committed")
}

// PinName: names are not kept.
func (m *memIPFS) PinName(context.Context, cid.Cid, string) (string, error) { return "", nil }
