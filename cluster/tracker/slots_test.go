package tracker_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/cluster/tracker"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// countingIPFS is a memIPFS that records the most calls it had running at
// once, each taking a while.
type countingIPFS struct {
	memIPFS
	running, most atomic.Int64
}

func (c *countingIPFS) enter() func() {
	n := c.running.Add(1)
	for m := c.most.Load(); n > m && !c.most.CompareAndSwap(m, n); m = c.most.Load() {
	}
	time.Sleep(2 * time.Millisecond)
	return func() { c.running.Add(-1) }
}

func (c *countingIPFS) Pin(ctx context.Context, ci cid.Cid, rec bool, name string, d time.Duration, p func(nodes, bytes uint64)) error {
	defer c.enter()()
	return c.memIPFS.Pin(ctx, ci, rec, name, d, p)
}

func (c *countingIPFS) IsPinned(ctx context.Context, ci cid.Cid) (string, bool, error) {
	defer c.enter()()
	return c.memIPFS.IsPinned(ctx, ci)
}

// pinAllAtOnce commits n pins in one entry to a tracker in front of up,
// and waits until it pinned them all.
func pinAllAtOnce(t *testing.T, up tracker.IPFS, cfg tracker.Config, n int) {
	t.Helper()
	state, status, tr := runMemTracker(t, up, cfg)
	ops := make([]storage.Op, n)
	for i := range ops {
		ops[i] = storage.Op{Kind: storage.OpPin, Pin: here(testCid(i))}
	}
	changes, err := state.Apply(0, storage.Command{Type: storage.CmdPinBatch, Ops: ops})
	if err != nil {
		t.Fatal(err)
	}
	tr.Changed(changes)
	eventually(t, "every pin pinned", func() bool {
		c, err := status.CountByStatus()
		return err == nil && c[storage.StatusPinned] == n
	})
}

// Many more CIDs are in flight than ConcurrentPins, so that their status
// writes share transactions; the IPFS node still never has more than
// ConcurrentPins calls from the tracker at once.
func TestConcurrentPinsBoundTheIPFSCalls(t *testing.T) {
	cfg := testConfig()
	cfg.ConcurrentPins = 2
	up := &countingIPFS{memIPFS: memIPFS{pins: map[cid.Cid]string{}}}
	pinAllAtOnce(t, up, cfg, 60)
	if most := up.most.Load(); most > 2 {
		t.Fatalf("%d IPFS calls at once, with ConcurrentPins 2", most)
	}
}

// orderIPFS is a memIPFS that records its calls in order, its checks
// taking a while, as Kubo's pin/ls calls do behind its pin/adds.
type orderIPFS struct {
	memIPFS
	mu    sync.Mutex
	calls []ipfsCall
}

type ipfsCall struct {
	pin bool // else a check (IsPinned)
	cid cid.Cid
}

func (o *orderIPFS) record(pin bool, c cid.Cid) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, ipfsCall{pin, c})
}

func (o *orderIPFS) Pin(ctx context.Context, c cid.Cid, rec bool, name string, d time.Duration, p func(nodes, bytes uint64)) error {
	o.record(true, c)
	return o.memIPFS.Pin(ctx, c, rec, name, d, p)
}

func (o *orderIPFS) IsPinned(ctx context.Context, c cid.Cid) (string, bool, error) {
	time.Sleep(10 * time.Millisecond)
	o.record(false, c)
	return o.memIPFS.IsPinned(ctx, c)
}

// Behind a backlog, a pin acts on a fresh answer: a CID is pinned soon
// after the node was asked whether the user pins it, not after the node
// was asked about the whole backlog, during which the user may have pinned
// it. (The checks of the backlog used to go first, all of them.)
func TestAPinFollowsItsCheckBehindABacklog(t *testing.T) {
	cfg := testConfig()
	cfg.ConcurrentPins = 1
	up := &orderIPFS{memIPFS: memIPFS{pins: map[cid.Cid]string{}}}
	const n = 40
	pinAllAtOnce(t, up, cfg, n)
	up.mu.Lock()
	defer up.mu.Unlock()
	checked := map[cid.Cid]int{}
	most := 0
	for i, call := range up.calls {
		if !call.pin {
			checked[call.cid] = i
			continue
		}
		if at, ok := checked[call.cid]; ok {
			most = max(most, i-at-1)
		}
	}
	// In a few calls, as many as ran while its intent was written; with
	// the checks first, n-1.
	if most >= n/2 {
		t.Fatalf("a pin came %d calls after its check, behind a backlog of %d", most, n)
	}
}
