package tracker_test

import (
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/internal/fakekubo"
	"github.com/flotilla-ipfs/flotilla/storage"
)

func TestUnpinRemovesOnlyWhatTheTrackerPinned(t *testing.T) {
	f := newFixture(t, testConfig())
	mine, users, moved := testCid(1), testCid(2), testCid(3)
	f.kubo.AddBlock(mine)
	f.kubo.AddBlock(moved)
	f.kubo.PinDirect(users, fakekubo.Recursive) // a user pinned it on IPFS itself
	for _, c := range []cid.Cid{mine, users, moved} {
		f.mustPin(here(c))
	}
	if st, _ := f.localStatus(users); !st.Preexisting || st.Managed {
		t.Fatalf("the user's pin is recorded as %+v, want preexisting and not managed", st)
	}

	f.unpin(mine)
	f.unpin(users)
	f.pin(elsewhere(moved)) // re-allocated away from this peer
	eventually(t, "the tracker's own pins removed from IPFS", func() bool {
		return !f.kubo.IsPinned(mine) && !f.kubo.IsPinned(moved)
	})
	eventually(t, "no local status left", func() bool {
		_, a := f.localStatus(mine)
		_, b := f.localStatus(users)
		_, c := f.localStatus(moved)
		return !a && !b && !c
	})
	f.reconcile()
	if !f.kubo.IsPinned(users) {
		t.Fatal("a pin the user made directly on IPFS was removed")
	}
	f.wantCalls("pin/rm", 2, "only the tracker's own pins are removed")
}

// A user's pin that the tracker first sees in a reconcile, not in a pin of
// its own, is the user's too.
func TestUsersPinFoundByReconcileIsNeverUnpinned(t *testing.T) {
	f := newFixture(t, testConfig())
	c := testCid(1)
	f.stopTracker()
	f.commitQuietly(storage.Op{Kind: storage.OpPin, Pin: here(c)})
	f.kubo.PinDirect(c, fakekubo.Recursive)
	f.startTracker() // reconciles on start
	eventually(t, "the reconcile on start to record the pin", func() bool {
		st, ok := f.localStatus(c)
		return ok && st.Status == storage.StatusPinned && st.Preexisting
	})

	f.pin(elsewhere(c))
	f.unpin(c)
	if st, ok := f.localStatus(c); ok {
		t.Fatalf("local status %+v left after the unpin", st)
	}
	f.reconcile()
	if !f.kubo.IsPinned(c) {
		t.Fatal("a pin the user made directly on IPFS was removed")
	}
	f.wantCalls("pin/rm", 0, "the user's pin must stay")
}

func TestFailedUnpinIsRetried(t *testing.T) {
	cfg := testConfig()
	cfg.RetryBackoff = 300 * time.Millisecond // long enough to see the failure
	f, c := pinnedOne(t, cfg)
	f.kubo.FailNext("pin/rm", 1, "pin: the node is busy")
	f.unpin(c)
	eventually(t, "the failed unpin recorded", func() bool {
		st, _ := f.localStatus(c)
		return st.Status == storage.StatusUnpinError && st.AttemptCount == 1 && st.Error == "pin: the node is busy"
	})
	eventually(t, "the retry to unpin it and drop its status", func() bool {
		_, known := f.localStatus(c)
		return !known && !f.kubo.IsPinned(c)
	})
	f.wantCalls("pin/rm", 2, "one failure, one retry")
}

func TestShutdownMidUnpinLeavesItQueued(t *testing.T) {
	f, c := pinnedOne(t, testConfig())
	f.kubo.SetDelay("pin/rm", time.Hour) // answers when the request ends
	f.unpin(c)
	eventually(t, "the unpin in flight", func() bool { return f.kubo.Calls("pin/rm") == 1 })
	f.stopTracker()
	if st, _ := f.localStatus(c); st.Status != storage.StatusUnpinQueued || !st.Managed {
		t.Fatalf("an unpin cut short by shutdown is left as %+v, want queued and managed", st)
	}
	if !f.kubo.IsPinned(c) {
		t.Fatal("the pin went though its unpin was cut short")
	}

	f.kubo.SetDelay("pin/rm", 0)
	f.startTracker()
	eventually(t, "the queued unpin taken up after a restart", func() bool {
		_, known := f.localStatus(c)
		return !known && !f.kubo.IsPinned(c)
	})
}
