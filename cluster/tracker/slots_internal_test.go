package tracker

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/internal/testkit"
)

// A free slot goes to an urgent waiter before any other, and among equally
// urgent ones to a follow-up (a pin whose intent is on disk) before a
// check, whatever the order they queued in.
func TestAFreeSlotGoesToUrgentWorkThenToFollowUps(t *testing.T) {
	s := newSlots(1)
	ctx := context.Background()
	var calm, hurried atomic.Bool
	hurried.Store(true)
	if err := s.acquire(ctx, &calm, checkCall); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 4)
	for i, w := range []struct {
		name   string
		urgent *atomic.Bool
		kind   callKind
	}{
		{"check", &calm, checkCall},
		{"follow-up", &calm, followUpCall},
		{"urgent check", &hurried, checkCall},
		{"urgent follow-up", &hurried, followUpCall},
	} {
		go func() {
			if err := s.acquire(ctx, w.urgent, w.kind); err == nil {
				got <- w.name
			}
		}()
		// Each queues after the one before it.
		testkit.Eventually(t, w.name+" to wait", func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			return len(s.waiting) == i+1
		}, testkit.Within(10*time.Second))
	}
	for _, want := range []string{"urgent follow-up", "urgent check", "follow-up", "check"} {
		s.release()
		select {
		case name := <-got:
			if name != want {
				t.Fatalf("the slot went to the %s, want the %s", name, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no waiter got the slot, want the %s", want)
		}
	}
}
