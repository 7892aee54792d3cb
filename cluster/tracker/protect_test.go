package tracker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/cluster/tracker"
	"github.com/flotilla-ipfs/flotilla/internal/fakekubo"
	"github.com/flotilla-ipfs/flotilla/storage"
)

func (f *fixture) protect(c cid.Cid) error {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return f.tr.Protect(ctx, c)
}

// protectedUpload is a fixture whose tracker protected an upload, c, that
// its IPFS node stored unpinned.
func protectedUpload(t *testing.T) (*fixture, cid.Cid) {
	t.Helper()
	f := newFixture(t, testConfig())
	c := testCid(1)
	f.kubo.AddBlock(c)
	if err := f.protect(c); err != nil {
		t.Fatal(err)
	}
	return f, c
}

// An upload received here but allocated to another peer stays pinned here,
// through the commit, a reconcile and a GC, until it is released; then the
// tracker unpins its own pin as usual.
func TestProtectedUploadStaysPinnedUntilReleased(t *testing.T) {
	f, c := protectedUpload(t)
	wantProtected := func(when string) {
		t.Helper()
		st, ok := f.localStatus(c)
		if !ok || !st.Protected || !st.Managed || st.Preexisting || st.Status != storage.StatusPinned {
			t.Fatalf("%s: status %+v (known %v), want pinned, managed and protected", when, st, ok)
		}
		if mode := f.kubo.Pins()[c.String()]; mode != fakekubo.Recursive {
			t.Fatalf("%s: IPFS holds the upload as %q, want recursive", when, mode)
		}
	}
	wantProtected("after Protect")

	f.pin(elsewhere(c))
	wantProtected("after the commit allocated elsewhere")
	f.reconcile()
	wantProtected("after a reconcile")
	f.kubo.GC()
	if !f.kubo.HasBlock(c) {
		t.Fatal("a GC collected the protected upload")
	}
	// The pin moves, still elsewhere: still protected.
	p := elsewhere(c)
	p.Allocations = []string{"12D3KooWThirdPeer"}
	f.pin(p)
	wantProtected("after a re-allocation elsewhere")

	if !f.tr.Release(c) {
		t.Fatal("Release found no protection")
	}
	eventually(t, "the released upload unpinned here and its status dropped", func() bool {
		_, known := f.localStatus(c)
		return !known && !f.kubo.IsPinned(c)
	})
	if f.tr.Release(c) {
		t.Fatal("a second Release found a protection")
	}
}

// Allocated here, a protected upload's pin simply becomes the cluster's:
// Flotilla's own, no longer protected.
func TestProtectedUploadAllocatedHereBecomesTheClustersPin(t *testing.T) {
	f, c := protectedUpload(t)
	f.mustPin(here(c))
	st, _ := f.localStatus(c)
	if st.Protected || !st.Managed || st.Preexisting {
		t.Fatalf("status %+v: want managed, not protected, not preexisting", st)
	}
	f.unpin(c)
	eventually(t, "the cluster's unpin to unpin it here", func() bool { return !f.kubo.IsPinned(c) })
}

// The upload's caller waits for its pin: allocated here, the protected pin
// the node just took is that pin, so the commit makes it the cluster's
// without the tracker asking the node again or pinning anew.
func TestAProtectedUploadAllocatedHereIsPinnedWithoutAnotherCall(t *testing.T) {
	f, c := protectedUpload(t)
	checks, pins := f.kubo.Calls("pin/ls"), f.kubo.Calls("pin/add")
	f.mustPin(here(c))
	f.wantCalls("pin/ls", checks, "the tracker asked the node about the pin Protect had just made")
	f.wantCalls("pin/add", pins, "the tracker pinned again what Protect had just pinned")
	st, _ := f.localStatus(c)
	if st.Status != storage.StatusPinned || st.Protected || !st.Managed || st.Preexisting {
		t.Fatalf("status %+v: want pinned, managed, not protected, not preexisting", st)
	}
}

// A process killed after Protect wrote its record and before the node took
// the pin leaves a record that says pinned: the next process must not take
// it for the node's word, and pins what the cluster allocates here.
func TestAProtectionRecordLeftByAKilledProcessIsNotTakenForAPin(t *testing.T) {
	f := newFixture(t, testConfig())
	c := testCid(1)
	f.kubo.AddBlock(c)
	err := f.status.Edit([]cid.Cid{c}, func(_ int, st *storage.LocalStatus, _ bool) storage.StatusAction {
		*st = storage.LocalStatus{Cid: c, Status: storage.StatusPinned, Managed: true, Protected: true, Timestamp: time.Now().UTC()}
		return storage.PutStatus
	})
	if err != nil {
		t.Fatal(err)
	}
	f.mustPin(here(c))
	if mode := f.kubo.Pins()[c.String()]; mode != fakekubo.Recursive {
		t.Fatalf("the node holds the pin as %q, want recursive: the record was taken for the node's word", mode)
	}
}

// A pin that leaves the pinset takes its protection with it.
func TestUnpinnedUploadLosesItsProtection(t *testing.T) {
	f, c := protectedUpload(t)
	f.pin(elsewhere(c))
	f.unpin(c)
	eventually(t, "the unpinned upload unpinned here", func() bool {
		_, known := f.localStatus(c)
		return !known && !f.kubo.IsPinned(c)
	})
}

// A user's own pin is never protected, so never Flotilla's to remove; nor
// is a CID whose pin state IPFS could not tell.
func TestProtectNeverTakesAUsersPinOver(t *testing.T) {
	f := newFixture(t, testConfig())
	rec, dir, unknown := testCid(1), testCid(2), testCid(3)
	for _, c := range []cid.Cid{rec, dir, unknown} {
		f.kubo.AddBlock(c)
	}
	f.kubo.PinDirect(rec, fakekubo.Recursive)
	f.kubo.PinDirect(dir, fakekubo.Direct)
	for _, c := range []cid.Cid{rec, dir} {
		if err := f.protect(c); !errors.Is(err, tracker.ErrNotProtected) {
			t.Fatalf("Protect of the user's pin %s: %v, want ErrNotProtected", c, err)
		}
	}
	// Every pin/ls fails while Protect runs: a single failure could go to
	// the tracker's own reconcile instead.
	f.kubo.FailAll("pin/ls", "connection refused")
	err := f.protect(unknown)
	f.kubo.ClearFail("pin/ls")
	if !errors.Is(err, tracker.ErrNotProtected) {
		t.Fatalf("Protect with a failed pin check: %v, want ErrNotProtected", err)
	}
	if f.kubo.IsPinned(unknown) {
		t.Fatal("pinned without knowing what IPFS held")
	}
	for _, c := range []cid.Cid{rec, dir, unknown} {
		if st, known := f.localStatus(c); known {
			t.Fatalf("%s has a status %+v: the tracker took it for its own", c, st)
		}
	}
	f.pin(elsewhere(rec))
	f.pin(elsewhere(dir))
	f.unpin(rec)
	f.unpin(dir)
	f.reconcile()
	pins := f.kubo.Pins()
	if pins[rec.String()] != fakekubo.Recursive || pins[dir.String()] != fakekubo.Direct {
		t.Fatalf("the user's pins are now %v", pins)
	}
}
