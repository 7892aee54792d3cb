package tracker_test

import (
	"testing"

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
	if _, err := f.state.Apply(0, storage.Command{Type: storage.CmdPinBatch, Ops: []storage.Op{{Kind: storage.OpPin, Pin: here(c)}}}); err != nil {
		t.Fatal(err)
	}
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
