package tracker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/internal/testkit"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// Dispatch reads the on-disk queue only when a queued CID may be waiting
// with no worker on it. A CID queued behind the tracker's back (no change
// tells it, as after a restart or a reconcile) is still started, while the
// others are in flight and after they are done.
func TestDispatchReadsTheQueueOnlyWhenACIDWaits(t *testing.T) {
	ipfs := &gatedIPFS{open: make(chan struct{})}
	state, status := openStores(t)
	tr := New("12D3KooWSelf", state, status, ipfs, Config{ConcurrentPins: 2, PinTimeout: time.Minute}, zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		tr.Close()
	})
	cids := make([]cid.Cid, 5)
	ops := make([]storage.Op, len(cids))
	for i := range cids {
		mh, _ := multihash.Sum([]byte(fmt.Sprintf("queued behind the tracker's back %d", i)), multihash.SHA2_256, -1)
		cids[i] = cid.NewCidV1(cid.Raw, mh)
		ops[i] = storage.Op{Kind: storage.OpPin, Pin: storage.Pin{Cid: cids[i], ReplicationFactorMin: -1, ReplicationFactorMax: -1}}
	}
	if _, err := state.Apply(1, storage.Command{Type: storage.CmdPinBatch, Ops: ops}); err != nil {
		t.Fatal(err)
	}
	queue := func(cs ...cid.Cid) {
		t.Helper()
		for _, c := range cs {
			if err := status.Put(storage.LocalStatus{Cid: c, Status: storage.StatusPinQueued, Timestamp: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	statusIs := func(c cid.Cid, want storage.TrackerStatus) bool {
		st, ok, err := status.Get(c)
		return err == nil && ok && st.Status == want
	}

	// Three queued, in flight, and held before their first status write.
	queue(cids[:3]...)
	tr.dispatch(ctx)
	for _, c := range cids[:3] {
		if !tr.busy(c) {
			t.Fatalf("dispatch did not start %s", c)
		}
	}
	if tr.backlogWaits() {
		t.Error("every queued CID is in flight, and dispatch would read the queue")
	}
	queue(cids[3])
	if !tr.backlogWaits() {
		t.Fatal("a CID queued with no worker on it, and dispatch would not read the queue")
	}
	tr.dispatch(ctx)
	if !tr.busy(cids[3]) {
		t.Fatal("dispatch did not start the CID queued with no worker on it")
	}

	close(ipfs.open)
	testkit.Eventually(t, "every pin done", func() bool {
		for _, c := range cids[:4] {
			if !statusIs(c, storage.StatusPinned) || tr.busy(c) {
				return false
			}
		}
		return true
	}, testkit.Within(20*time.Second))
	queue(cids[4])
	tr.dispatch(ctx)
	testkit.Eventually(t, "the pin queued after the others pinned", func() bool {
		return statusIs(cids[4], storage.StatusPinned)
	}, testkit.Within(20*time.Second))
}

// gatedIPFS pins at once, but holds every IsPinned until open is closed.
type gatedIPFS struct {
	open chan struct{}
	mu   sync.Mutex
	pins map[cid.Cid]bool
}

var _ IPFS = (*gatedIPFS)(nil)

func (g *gatedIPFS) Pin(_ context.Context, c cid.Cid, _ bool, _ string, _ time.Duration, _ func(nodes, bytes uint64)) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.pins == nil {
		g.pins = map[cid.Cid]bool{}
	}
	g.pins[c] = true
	return nil
}

func (g *gatedIPFS) IsPinned(ctx context.Context, c cid.Cid) (string, bool, error) {
	select {
	case <-g.open:
	case <-ctx.Done():
		return "", false, ctx.Err()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.pins[c] {
		return "recursive", true, nil
	}
	return "", false, nil
}

func (g *gatedIPFS) Unpin(context.Context, cid.Cid) error { return nil }

func (g *gatedIPFS) PinLs(context.Context, string, func(cid.Cid, string) error) error { return nil }

func (g *gatedIPFS) PinUpdate(context.Context, cid.Cid, cid.Cid, time.Duration) error {
	return errors.New("no pin update here")
}

// PinName: names are not kept.
func (g *gatedIPFS) PinName(context.Context, cid.Cid, string) (string, error) { return "", nil }
