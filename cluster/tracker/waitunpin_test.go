package tracker_test

import (
	"strings"
	"testing"
	"time"
)

// WaitUnpinned returns only once the fake Kubo no longer holds the pin;
// with nothing left to wait for, at once.
func TestWaitUnpinnedReturnsOnceKuboDroppedThePin(t *testing.T) {
	f, c := pinnedOne(t, testConfig())
	f.kubo.SetDelay("pin/rm", 300*time.Millisecond)
	f.unpin(c)
	start := time.Now()
	if err := f.waitUnpinned(c); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if f.kubo.IsPinned(c) {
		t.Fatalf("WaitUnpinned returned after %v while Kubo still holds the pin", took)
	}
	if took < 250*time.Millisecond {
		t.Errorf("returned after %v, before the slow pin/rm could finish", took)
	}
	if err := f.waitUnpinned(c); err != nil {
		t.Fatal(err)
	}
}

// A failed unpin is reported, as WaitPinned reports a failed pin.
func TestWaitUnpinnedReportsUnpinError(t *testing.T) {
	cfg := testConfig()
	cfg.RetryBackoff = time.Minute
	f, c := pinnedOne(t, cfg)
	f.kubo.FailNext("pin/rm", 1, "pin: the node is busy")
	f.unpin(c)
	if err := f.waitUnpinned(c); err == nil || !strings.Contains(err.Error(), "the node is busy") {
		t.Fatalf("err %v, want the unpin's error", err)
	}
}

// A pin allocated here (pinned anew since an unpin) is not waited for,
// even with the tracker stopped.
func TestWaitUnpinnedStopsAtARepin(t *testing.T) {
	f, c := pinnedOne(t, testConfig())
	f.stopTracker()
	if err := f.waitUnpinned(c); err != nil {
		t.Fatal(err)
	}
}
