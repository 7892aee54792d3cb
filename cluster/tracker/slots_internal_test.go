package tracker

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

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

// A worker's status writes are patient while calls wait for IPFS slots,
// and only then: a lone pin's writes wait for nothing.
func TestStatusWritesArePatientOnlyWhileCallsWaitForIPFS(t *testing.T) {
	state, status := openStores(t)
	tr := New("12D3KooWSelf", state, status, nil, Config{ConcurrentPins: 1}, zerolog.Nop())
	if got := tr.writes(); got != status.Patient(0) {
		t.Fatalf("with no call waiting, the writes are %+v, want the store's own", got)
	}
	var calm atomic.Bool
	ctx := context.Background()
	if err := tr.slots.acquire(ctx, &calm, checkCall); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- tr.slots.acquire(ctx, &calm, checkCall) }()
	testkit.Eventually(t, "a call to wait for the slot", tr.slots.queued, testkit.Within(10*time.Second))
	if got := tr.writes(); got != status.Patient(statusPatience) {
		t.Fatalf("with a call waiting for IPFS, the writes are %+v, want patient", got)
	}
	tr.slots.release()
	if err := <-waited; err != nil {
		t.Fatal(err)
	}
	tr.slots.release()
	if got := tr.writes(); got != status.Patient(0) {
		t.Fatalf("once no call waits, the writes are %+v, want the store's own", got)
	}
}
