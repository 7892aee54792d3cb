package tracker_test

import (
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/internal/fakekubo"
	"github.com/flotilla-ipfs/flotilla/storage"
)

func TestReconcileRepinsAPinRemovedBehindItsBack(t *testing.T) {
	f := newFixture(t, testConfig())
	c := testCid(1)
	f.kubo.AddBlock(c)
	f.mustPin(here(c))
	f.kubo.Unpin(c)
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
