package tracker_test

import (
	"context"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/internal/fakekubo"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// After the cluster pins and unpins a CID, IPFS holds what the user held
// before, in the same mode. IPFS holds one pin per CID, so a recursive
// cluster pin replaces a user's direct pin, and the unpin must put it back.
func TestUsersDirectPinIsPutBackWhenTheClusterUnpins(t *testing.T) {
	f := newFixture(t, testConfig())
	recursive, deepened := testCid(1), testCid(2)
	for _, c := range []cid.Cid{recursive, deepened} {
		f.kubo.PinDirect(c, fakekubo.Direct) // a user pinned it on IPFS itself
	}
	f.mustPin(here(recursive))
	if mode := f.kubo.Pins()[recursive.String()]; mode != fakekubo.Recursive {
		t.Fatalf("IPFS holds the cluster's recursive pin as %q", mode)
	}
	// A direct cluster pin over the user's is the user's pin; made
	// recursive later, the cluster's pin replaces it.
	p := here(deepened)
	p.Mode = storage.Direct
	f.mustPin(p)
	p.Mode = storage.Recursive
	f.mustPin(p)
	if mode := f.kubo.Pins()[deepened.String()]; mode != fakekubo.Recursive {
		t.Fatalf("IPFS holds the pin made recursive as %q", mode)
	}

	f.unpin(recursive)
	f.unpin(deepened)
	eventually(t, "both statuses dropped", func() bool {
		_, a := f.localStatus(recursive)
		_, b := f.localStatus(deepened)
		return !a && !b
	})
	f.reconcile()
	for _, c := range []cid.Cid{recursive, deepened} {
		if mode, ok := f.kubo.Pins()[c.String()]; mode != fakekubo.Direct {
			t.Fatalf("after the cluster's unpin IPFS holds the user's direct pin as %q (pinned %v), want direct", mode, ok)
		}
	}
}

// A failed check of what IPFS holds (Kubo restarting, say) must not make
// the tracker think a pin is its own: the user's recursive pin it then
// pinned "again" would go with the cluster's unpin.
func TestFailedPinCheckNeverTakesAUsersPinOver(t *testing.T) {
	f := newFixture(t, testConfig())
	c := testCid(1)
	f.kubo.PinDirect(c, fakekubo.Recursive)
	eventually(t, "the reconcile on start to list the pins", func() bool { return f.kubo.Calls("pin/ls") >= 2 })
	f.kubo.FailNext("pin/ls", 1, "context deadline exceeded")
	f.pin(here(c))
	eventually(t, "the pin recorded as the user's once the check works", func() bool {
		st, _ := f.localStatus(c)
		return st.Status == storage.StatusPinned && st.Preexisting && !st.Managed
	})
	f.unpin(c)
	eventually(t, "the status dropped", func() bool { _, ok := f.localStatus(c); return !ok })
	f.reconcile()
	if mode := f.kubo.Pins()[c.String()]; mode != fakekubo.Recursive {
		t.Fatalf("the user's recursive pin is now %q", mode)
	}
	f.wantCalls("pin/rm", 0, "the user's pin must stay")
}

// A pin committed while Kubo is down is made once Kubo is back, however
// long it was down: its retries never stop.
func TestPinCommittedWhileKuboIsDownIsMadeWhenItIsBack(t *testing.T) {
	cfg := testConfig()
	cfg.MaxRetries, cfg.RetryBackoff = 2, 50*time.Millisecond
	f := newFixture(t, cfg)
	c := testCid(1)
	f.kubo.AddBlock(c)
	eventually(t, "the reconcile on start to list the pins", func() bool { return f.kubo.Calls("pin/ls") >= 2 })
	f.kubo.SetDown(true)
	f.pin(here(c))
	eventually(t, "the pin to fail past MaxRetries while Kubo is down", func() bool {
		st, _ := f.localStatus(c)
		return st.Status == storage.StatusPinError && st.AttemptCount > cfg.MaxRetries+1
	})
	if st, _ := f.localStatus(c); st.Managed {
		t.Fatalf("a pin never tried on IPFS is recorded as the tracker's: %+v", st)
	}
	f.kubo.SetDown(false)
	eventually(t, "the pin made once Kubo is back", func() bool {
		st, _ := f.localStatus(c)
		return st.Status == storage.StatusPinned && st.Managed && !st.Preexisting && f.kubo.IsPinned(c)
	})
}

// An unpin that removed the cluster's recursive pin but has not yet put
// the user's direct pin back (it failed, or the peer was killed) still
// has work to do, though IPFS holds nothing: a reconcile must not drop it.
func TestReconcileKeepsTheUnpinThatPutsAUsersDirectPinBack(t *testing.T) {
	f := newFixture(t, testConfig())
	c := testCid(1)
	f.kubo.AddBlock(c)
	st := storage.LocalStatus{
		Cid: c, Status: storage.StatusUnpinError, Error: "pin: context deadline exceeded", AttemptCount: 1,
		Managed: true, PreexistingDirect: true, Timestamp: time.Now().UTC(), RetryAt: time.Now().Add(time.Hour).UTC(),
	}
	if err := f.status.Put(st); err != nil {
		t.Fatal(err)
	}
	f.reconcile()
	eventually(t, "the user's direct pin put back and the status dropped", func() bool {
		_, ok := f.localStatus(c)
		return !ok && f.kubo.Pins()[c.String()] == fakekubo.Direct
	})
}

// The user's direct pin keeps its name through the cluster's recursive pin,
// which replaced it, and its return after the cluster's unpin.
func TestUsersDirectPinKeepsItsName(t *testing.T) {
	f := newFixture(t, testConfig())
	c := testCid(1)
	f.kubo.AddBlock(c)
	if err := f.ipfs.Pin(context.Background(), c, false, "my-direct-pin", time.Minute, nil); err != nil {
		t.Fatal(err) // the user's own, on IPFS itself
	}
	f.mustPin(here(c))
	if name, _ := f.kubo.PinName(c); name != "my-direct-pin" || f.kubo.Pins()[c.String()] != fakekubo.Recursive {
		t.Fatalf("the cluster's recursive pin is named %q, want the user's name", name)
	}
	f.unpin(c)
	eventually(t, "the user's direct pin back", func() bool {
		_, known := f.localStatus(c)
		return !known && f.kubo.Pins()[c.String()] == fakekubo.Direct
	})
	if name, _ := f.kubo.PinName(c); name != "my-direct-pin" {
		t.Fatalf("the user's direct pin came back named %q", name)
	}
}
