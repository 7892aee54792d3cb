package tracker_test

import (
	"testing"
	"time"

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
