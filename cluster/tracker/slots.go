package tracker

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
)

// slots bounds the calls that the tracker has running on the IPFS node at
// once (ConcurrentPins). A CID in flight holds a slot only while it calls
// the node, never while its status is written to disk: the node's slots
// never sit idle waiting for an fsync, and the status writes of many CIDs
// in flight share one transaction. A free slot goes to the first urgent
// waiter (a CID of the latest committed changes), else to the first one,
// so that a new pin never waits behind the backlog in flight. A waiter's
// urgency may be raised while it waits.
type slots struct {
	mu      sync.Mutex
	free    int
	waiting []slotWaiter
}

type slotWaiter struct {
	ch     chan struct{}
	urgent *atomic.Bool
}

func newSlots(n int) *slots { return &slots{free: n} }

// acquire takes a slot, waiting for one until ctx ends.
func (s *slots) acquire(ctx context.Context, urgent *atomic.Bool) error {
	s.mu.Lock()
	if s.free > 0 && len(s.waiting) == 0 {
		s.free--
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	s.waiting = append(s.waiting, slotWaiter{ch, urgent})
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		i := slices.IndexFunc(s.waiting, func(w slotWaiter) bool { return w.ch == ch })
		if i >= 0 {
			s.waiting = slices.Delete(s.waiting, i, i+1)
		}
		s.mu.Unlock()
		if i < 0 {
			// Handed a slot as ctx ended: pass it on.
			s.release()
		}
		return ctx.Err()
	}
}

// release hands the slot to the first urgent waiter, else to the first.
func (s *slots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.waiting) == 0 {
		s.free++
		return
	}
	i := max(slices.IndexFunc(s.waiting, func(w slotWaiter) bool { return w.urgent.Load() }), 0)
	close(s.waiting[i].ch)
	s.waiting = slices.Delete(s.waiting, i, i+1)
}

// call runs fn, an IPFS call, in a slot.
func (s *slots) call(ctx context.Context, urgent *atomic.Bool, fn func() error) error {
	if err := s.acquire(ctx, urgent); err != nil {
		return err
	}
	defer s.release()
	return fn()
}
