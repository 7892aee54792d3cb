package tracker_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

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

func (c *countingIPFS) Pin(ctx context.Context, ci cid.Cid, rec bool, d time.Duration, p func(nodes, bytes uint64)) error {
	defer c.enter()()
	return c.memIPFS.Pin(ctx, ci, rec, d, p)
}

func (c *countingIPFS) IsPinned(ctx context.Context, ci cid.Cid) (string, bool, error) {
	defer c.enter()()
	return c.memIPFS.IsPinned(ctx, ci)
}

// Many more CIDs are in flight than ConcurrentPins, so that their status
// writes share transactions; the IPFS node still never has more than
// ConcurrentPins calls from the tracker at once.
func TestConcurrentPinsBoundTheIPFSCalls(t *testing.T) {
	cfg := testConfig()
	cfg.ConcurrentPins = 2
	up := &countingIPFS{memIPFS: memIPFS{pins: map[cid.Cid]string{}}}
	state, status, tr := runMemTracker(t, up, cfg)
	const n = 60
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
	if most := up.most.Load(); most > 2 {
		t.Fatalf("%d IPFS calls at once, with ConcurrentPins 2", most)
	}
}
