package tracker

import (
	"context"
	"slices"
	"sync"
)

// slots bounds the calls that the tracker has running on the IPFS node at
// once (ConcurrentPins). A CID in flight holds a slot only while it calls
// the node, never while its status is written to disk: the node's slots
// never sit idle waiting for an fsync, and the status writes of many CIDs
// in flight share one transaction. Slots go to urgent waiters (the latest
// committed changes) before the backlog's, each class first come, first
// served, so that a new pin never waits behind the backlog in flight.
type slots struct {
	mu      sync.Mutex
	free    int
	waiting [2][]chan struct{} // urgent, then backlog
}

func newSlots(n int) *slots { return &slots{free: n} }

func class(urgent bool) int {
	if urgent {
		return 0
	}
	return 1
}

// acquire takes a slot, waiting for one until ctx ends.
func (s *slots) acquire(ctx context.Context, urgent bool) error {
	k := class(urgent)
	s.mu.Lock()
	if s.free > 0 && len(s.waiting[0]) == 0 && (urgent || len(s.waiting[1]) == 0) {
		s.free--
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	s.waiting[k] = append(s.waiting[k], ch)
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		i := slices.Index(s.waiting[k], ch)
		if i >= 0 {
			s.waiting[k] = slices.Delete(s.waiting[k], i, i+1)
		}
		s.mu.Unlock()
		if i < 0 {
			// Handed a slot as ctx ended: pass it on.
			s.release()
		}
		return ctx.Err()
	}
}

// release hands the slot to the first waiter, urgent ones first.
func (s *slots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.waiting {
		if len(s.waiting[k]) > 0 {
			ch := s.waiting[k][0]
			s.waiting[k] = s.waiting[k][1:]
			close(ch)
			return
		}
	}
	s.free++
}

// call runs fn, an IPFS call, in a slot.
func (s *slots) call(ctx context.Context, urgent bool, fn func() error) error {
	if err := s.acquire(ctx, urgent); err != nil {
		return err
	}
	defer s.release()
	return fn()
}
