package tracker_test

import (
	"context"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/cluster/tracker"
	"github.com/flotilla-ipfs/flotilla/internal/fakekubo"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// removedBehindItsBack is a tracker with a pin it made, which the IPFS
// node's user then removed.
func removedBehindItsBack(t *testing.T) (*fixture, cid.Cid) {
	f := newFixture(t, testConfig())
	c := testCid(1)
	f.kubo.AddBlock(c)
	f.mustPin(here(c))
	f.kubo.Unpin(c)
	return f, c
}

func TestReconcileRepinsAPinRemovedBehindItsBack(t *testing.T) {
	f, c := removedBehindItsBack(t)
	f.reconcile()
	eventually(t, "the pin back on IPFS", func() bool {
		return f.kubo.IsPinned(c) && f.statusIs(c, storage.StatusPinned)
	})
	f.wantCalls("pin/add", 2, "the reconcile pins it once more")
}

// After a snapshot install the pinset changes with no change reported:
// Resync compares everything again. What left the pinset is unpinned where
// the tracker pinned it, and only forgotten where a user did.
func TestResyncUnpinsWhatLeftThePinsetUnseen(t *testing.T) {
	f := newFixture(t, testConfig())
	mine, users, failed := testCid(1), testCid(2), testCid(3)
	f.kubo.AddBlock(mine)
	f.kubo.PinDirect(users, fakekubo.Recursive)
	f.mustPin(here(mine))
	f.mustPin(here(users))
	// A pin that failed and waits for its retry, gone from the pinset too.
	err := f.status.Put(storage.LocalStatus{
		Cid: failed, Status: storage.StatusPinError, Error: "boom", AttemptCount: 1, Managed: true,
		Timestamp: time.Now().UTC(), RetryAt: time.Now().Add(time.Hour).UTC(),
	})
	if err != nil {
		t.Fatal(err)
	}
	f.commitQuietly(storage.Op{Kind: storage.OpUnpin, Pin: storage.Pin{Cid: mine}}, storage.Op{Kind: storage.OpUnpin, Pin: storage.Pin{Cid: users}})
	f.tr.Resync()
	eventually(t, "the tracker's pin removed and every status dropped", func() bool {
		_, a := f.localStatus(mine)
		_, b := f.localStatus(users)
		_, c := f.localStatus(failed)
		return !a && !b && !c && !f.kubo.IsPinned(mine)
	})
	if !f.kubo.IsPinned(users) {
		t.Fatal("a pin the user made directly on IPFS was removed")
	}
	// The tracker's own pin, and the failed one, which may have landed on
	// IPFS whatever the error said (a no-op here); never the user's.
	f.wantCalls("pin/rm", 2, "the tracker's own pins are removed")
}

// heldListing holds every full listing of the node's pins (what a
// reconcile starts with) until released, as a node with ten million pins
// takes a while to list them.
type heldListing struct {
	tracker.IPFS
	listing chan struct{}
	release chan struct{}
}

func (h *heldListing) PinLs(ctx context.Context, typ string, fn func(cid.Cid, string) error) error {
	select {
	case h.listing <- struct{}{}:
	default:
	}
	select {
	case <-h.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return h.IPFS.PinLs(ctx, typ, fn)
}

// A reconcile walks the whole pinset, which takes minutes at ten million
// pins: a new pin is pinned meanwhile, not after it.
func TestANewPinIsPinnedWhileAReconcileRuns(t *testing.T) {
	f := newFixture(t, testConfig())
	f.stopTracker()
	held := &heldListing{IPFS: f.ipfs, listing: make(chan struct{}, 1), release: make(chan struct{})}
	defer close(held.release)
	f.startTrackerOn(held)
	select {
	case <-held.listing:
	case <-time.After(20 * time.Second):
		t.Fatal("the start's reconcile never listed the node's pins")
	}
	c := testCid(1)
	f.kubo.AddBlock(c)
	f.pin(here(c))
	eventually(t, "the new pin pinned while the reconcile waits for its listing", func() bool {
		return f.statusIs(c, storage.StatusPinned)
	})
}

// heldAnswer answers IsPinned for one CID from the node at once, then holds
// the answer until released: the worker acts on what the node said before.
type heldAnswer struct {
	tracker.IPFS
	c       cid.Cid
	asked   chan struct{}
	release chan struct{}
}

func (h *heldAnswer) IsPinned(ctx context.Context, c cid.Cid) (string, bool, error) {
	typ, pinned, err := h.IPFS.IsPinned(ctx, c)
	if c.Equals(h.c) {
		select {
		case h.asked <- struct{}{}:
			<-h.release
		default:
		}
	}
	return typ, pinned, err
}

// A reconcile that finds a worker on a CID leaves it to the worker, which
// may have asked the node before the reconcile listed it: a pin removed
// behind the cluster's back in between is pinned again all the same.
func TestAReconcileRechecksACidWhoseWorkerAskedBeforeIt(t *testing.T) {
	f := newFixture(t, testConfig())
	c := testCid(1)
	f.kubo.AddBlock(c)
	f.mustPin(here(c))
	f.stopTracker()
	held := &heldAnswer{IPFS: f.ipfs, c: c, asked: make(chan struct{}), release: make(chan struct{})}
	f.startTrackerOn(held)
	f.waitStartReconciled()
	// Queued to be checked again, as a restart or a reconcile leaves it.
	st, _ := f.localStatus(c)
	st.Status = storage.StatusPinQueued
	if err := f.status.Put(st); err != nil {
		t.Fatal(err)
	}
	select {
	case <-held.asked:
	case <-time.After(20 * time.Second):
		t.Fatal("no worker asked the node about the queued pin")
	}
	f.kubo.Unpin(c)
	f.reconcile()
	close(held.release)
	eventually(t, "the pin back on IPFS", func() bool {
		return f.kubo.IsPinned(c) && f.statusIs(c, storage.StatusPinned)
	})
}

// A pin removed from the IPFS node behind Flotilla's back still reads
// pinned until a reconcile sees it; an operator's recover of it must not
// wait for that (a garbage collection meanwhile takes the content).
func TestRecoverRepinsAPinRemovedBehindItsBack(t *testing.T) {
	f, c := removedBehindItsBack(t)
	if !f.tr.Recover(context.Background(), c) {
		t.Fatal("Recover did not queue a pin the IPFS node no longer holds")
	}
	eventually(t, "the pin back on IPFS", func() bool {
		return f.kubo.IsPinned(c) && f.statusIs(c, storage.StatusPinned)
	})
	if f.tr.Recover(context.Background(), c) {
		t.Fatal("Recover queued again a pin the IPFS node holds")
	}
	f.wantCalls("pin/add", 2, "recover pins it once more")
}

// Recover of every failure also finds the pins the IPFS node lost.
func TestRecoverAllRepinsPinsRemovedBehindItsBack(t *testing.T) {
	f, c := removedBehindItsBack(t)
	rounds := f.tr.ReconcileRounds()
	f.recoverAll()
	eventually(t, "the pin back on IPFS", func() bool {
		return f.tr.ReconcileRounds() > rounds && f.kubo.IsPinned(c) && f.statusIs(c, storage.StatusPinned)
	})
}
