package tracker_test

import (
	"context"
	"strings"
	"testing"
	"time"
)

// WaitUnpinned returns only once the fake Kubo no longer holds the pin.
func TestWaitUnpinnedReturnsOnceKuboDroppedThePin(t *testing.T) {
	f := newFixture(t, testConfig())
	c := testCid(1)
	f.kubo.AddBlock(c)
	f.mustPin(here(c))
	f.kubo.SetDelay("pin/rm", 300*time.Millisecond)
	f.unpin(c)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	if err := f.tr.WaitUnpinned(ctx, c); err != nil {
		t.Fatal(err)
	}
	if f.kubo.IsPinned(c) {
		t.Fatalf("WaitUnpinned returned after %v while Kubo still holds the pin", time.Since(start))
	}
	if time.Since(start) < 250*time.Millisecond {
		t.Errorf("returned after %v, before the slow pin/rm could finish", time.Since(start))
	}
	// Nothing left to wait for: at once.
	if err := f.tr.WaitUnpinned(ctx, c); err != nil {
		t.Fatal(err)
	}
}

// A failed unpin is reported, as WaitPinned reports a failed pin.
func TestWaitUnpinnedReportsUnpinError(t *testing.T) {
	cfg := testConfig()
	cfg.RetryBackoff = time.Minute
	f := newFixture(t, cfg)
	c := testCid(1)
	f.kubo.AddBlock(c)
	f.mustPin(here(c))
	f.kubo.FailNext("pin/rm", 1, "pin: the node is busy")
	f.unpin(c)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := f.tr.WaitUnpinned(ctx, c)
	if err == nil || !strings.Contains(err.Error(), "the node is busy") {
		t.Fatalf("err %v, want the unpin's error", err)
	}
}

// A pin allocated here again (pinned anew since the unpin) is not waited
// for, even with the tracker stopped.
func TestWaitUnpinnedStopsAtARepin(t *testing.T) {
	f := newFixture(t, testConfig())
	c := testCid(1)
	f.kubo.AddBlock(c)
	f.mustPin(here(c))
	f.stopTracker()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.tr.WaitUnpinned(ctx, c); err != nil {
		t.Fatal(err)
	}
}
