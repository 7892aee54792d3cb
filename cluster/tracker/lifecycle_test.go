package tracker_test

import (
	"context"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// An unpin committed while the pin is still fetching must win: the pin's
// last status write would otherwise bury the unpin, and the tracker would
// leave on IPFS a pin the cluster no longer has.
func TestUnpinDuringThePinIsProcessedAgain(t *testing.T) {
	f := newFixture(t, testConfig())
	c := testCid(1) // not on the network: the pin waits for it
	f.pin(here(c))
	eventually(t, "the pin in flight", func() bool { return f.kubo.Fetching(c) > 0 })
	f.unpin(c)
	f.kubo.AddBlock(c) // the pin in flight now completes
	eventually(t, "the pin removed from IPFS again, and its status dropped", func() bool {
		_, known := f.localStatus(c)
		return !known && !f.kubo.IsPinned(c)
	})
}

// A pin added back while its unpin is still running on IPFS must end
// pinned: the unpin's last status write must not bury the new pin.
func TestRepinDuringUnpinEndsPinned(t *testing.T) {
	f := newFixture(t, testConfig())
	c := testCid(1)
	f.kubo.AddBlock(c)
	f.mustPin(here(c))
	f.kubo.SetDelay("pin/rm", time.Second)
	f.unpin(c)
	eventually(t, "the unpin in flight", func() bool { return f.kubo.Calls("pin/rm") == 1 })
	f.kubo.SetDelay("pin/rm", 0) // the one in flight keeps its delay
	f.pin(here(c))
	if err := f.waitPinned(c, nil); err != nil {
		t.Fatalf("a pin added back during its unpin never finished: %v", err)
	}
	eventually(t, "IPFS to hold the pin", func() bool { return f.kubo.IsPinned(c) })
}

func TestShutdownMidPinLeavesItQueued(t *testing.T) {
	f := newFixture(t, testConfig())
	c := testCid(1)
	f.pin(here(c))
	eventually(t, "the pin in flight", func() bool { return f.kubo.Fetching(c) > 0 })
	f.stopTracker()
	st, _ := f.localStatus(c)
	if st.Status != storage.StatusPinQueued || !st.Managed {
		t.Fatalf("a pin cut short by shutdown is left as %+v, want queued and managed", st)
	}
	if f.kubo.IsPinned(c) {
		t.Fatal("IPFS holds a pin whose fetch was cut short")
	}

	f.startTracker()
	f.kubo.AddBlock(c)
	if err := f.waitPinned(c, nil); err != nil {
		t.Fatalf("the queued pin was not taken up after a restart: %v", err)
	}
	if !f.kubo.IsPinned(c) {
		t.Fatal("WaitPinned returned but IPFS does not hold the pin")
	}
}

// stuckAt records c as a kill -9 mid-call leaves it: in flight, with no
// process working on it.
func (f *fixture) stuckAt(c cid.Cid, status storage.TrackerStatus) {
	f.t.Helper()
	st := storage.LocalStatus{Cid: c, Status: status, Managed: true, Timestamp: time.Now().UTC()}
	if err := f.status.Put(st); err != nil {
		f.t.Fatal(err)
	}
}

// A peer killed mid-pin or mid-unpin leaves the status pinning or
// unpinning. The next start takes both up again.
func TestPinAndUnpinLeftInFlightByAKillAreResumedOnStart(t *testing.T) {
	f := newFixture(t, testConfig())
	pinning, unpinning := testCid(1), testCid(2)
	f.kubo.AddBlock(pinning)
	f.kubo.AddBlock(unpinning)
	f.mustPin(here(unpinning))
	f.stopTracker()
	f.commitQuietly(storage.Op{Kind: storage.OpPin, Pin: here(pinning)}, storage.Op{Kind: storage.OpUnpin, Pin: storage.Pin{Cid: unpinning}})
	f.stuckAt(pinning, storage.StatusPinning)
	f.stuckAt(unpinning, storage.StatusUnpinning)

	f.startTracker()
	if err := f.waitPinned(pinning, nil); err != nil {
		t.Fatalf("the pin left in flight was not made: %v", err)
	}
	eventually(t, "the unpin left in flight done and its status dropped", func() bool {
		_, ok := f.localStatus(unpinning)
		return !ok && !f.kubo.IsPinned(unpinning)
	})
	if !f.kubo.IsPinned(pinning) {
		t.Fatal("WaitPinned returned but IPFS does not hold the pin")
	}
}

// Recover and reconcile take up a pin or unpin left in flight with no
// worker on it, and leave alone one that a worker is on.
func TestRecoverAndReconcileResumeWhatIsLeftInFlight(t *testing.T) {
	f := newFixture(t, testConfig())
	busy, byRecover, byReconcile, unpinByReconcile := testCid(1), testCid(2), testCid(3), testCid(4)
	for _, c := range []cid.Cid{byRecover, byReconcile, unpinByReconcile} {
		f.kubo.AddBlock(c)
	}
	f.mustPin(here(unpinByReconcile)) // also: the start is over
	f.pin(here(busy))                 // not on the network: its worker waits
	eventually(t, "the pin in flight", func() bool { return f.kubo.Fetching(busy) > 0 })
	f.commitQuietly(storage.Op{Kind: storage.OpPin, Pin: here(byRecover)}, storage.Op{Kind: storage.OpPin, Pin: here(byReconcile)},
		storage.Op{Kind: storage.OpUnpin, Pin: storage.Pin{Cid: unpinByReconcile}})
	f.stuckAt(byRecover, storage.StatusPinning)
	f.stuckAt(byReconcile, storage.StatusPinning)
	f.stuckAt(unpinByReconcile, storage.StatusUnpinning)

	if f.tr.Recover(context.Background(), busy) {
		t.Fatal("Recover queued again a pin that a worker is on")
	}
	if !f.tr.Recover(context.Background(), byRecover) {
		t.Fatal("Recover did not take up a pin left in flight")
	}
	if err := f.waitPinned(byRecover, nil); err != nil {
		t.Fatal(err)
	}
	f.reconcile()
	if err := f.waitPinned(byReconcile, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the unpin left in flight done by the reconcile", func() bool {
		_, ok := f.localStatus(unpinByReconcile)
		return !ok && !f.kubo.IsPinned(unpinByReconcile)
	})
	if !f.statusIs(busy, storage.StatusPinning) || f.kubo.Fetching(busy) != 1 {
		t.Fatal("the pin a worker is on was taken up a second time")
	}
}

// One batch of committed changes may change a CID twice (the leader's
// group commit puts two clients' requests in one entry, the FSM applies
// several entries at once): the last change must win, as if each had
// been told alone.
func TestTheLastChangeOfABatchWins(t *testing.T) {
	f := newFixture(t, testConfig())
	kept, dropped := testCid(1), testCid(2)
	f.kubo.AddBlock(kept)
	f.kubo.AddBlock(dropped)
	f.mustPin(here(kept))
	f.stopTracker() // nothing acts between the commit and the checks
	f.commit(
		storage.Op{Kind: storage.OpUnpin, Pin: storage.Pin{Cid: kept}},
		storage.Op{Kind: storage.OpPin, Pin: here(kept)},
		storage.Op{Kind: storage.OpPin, Pin: here(dropped)},
		storage.Op{Kind: storage.OpUnpin, Pin: storage.Pin{Cid: dropped}},
	)
	if st, known := f.localStatus(dropped); known {
		t.Errorf("a CID pinned and unpinned in one batch has the status %s", st.Status)
	}
	f.startTracker()
	if err := f.waitPinned(kept, nil); err != nil {
		t.Fatal(err)
	}
	if !f.kubo.IsPinned(kept) || f.kubo.IsPinned(dropped) {
		t.Errorf("IPFS holds the CID unpinned then pinned again: %v, the one pinned then unpinned: %v; want true, false",
			f.kubo.IsPinned(kept), f.kubo.IsPinned(dropped))
	}
	f.wantCalls("pin/rm", 0, "the pin unpinned and pinned again in one batch was taken off IPFS")
}
