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
// waiter (a CID of the latest committed changes), so that a new pin never
// waits behind the backlog in flight; and among equally urgent waiters to
// the first follow-up (a pin whose intent is on disk) before the first
// check (a CID asking what the node holds). A waiter's urgency may be
// raised while it waits.
//
// Follow-ups first, because in arrival order a backlog of a thousand CIDs
// asked the node about all thousand before pinning any: each pin then
// acted on an answer a thousand calls old (a user's pin made meanwhile
// would have been taken over), the first pin waited for every check, and
// a crash left the whole backlog "pinning". Now a pin follows its check
// after the few calls that run while its intent is written, and checks
// take the slots that no pin is ready for. On real Kubo the pins per
// second are the same either way (docs/performance.md).
type slots struct {
	mu      sync.Mutex
	free    int
	waiting []slotWaiter
}

// callKind is where a call stands in its CID's work, for its place in line.
type callKind int

const (
	// checkCall is a CID's first call: asking the node about it, or an unpin.
	checkCall callKind = iota
	// followUpCall acts on a check's answer, once what it means is on disk.
	followUpCall
)

type slotWaiter struct {
	ch     chan struct{}
	urgent *atomic.Bool
	kind   callKind
}

// rank orders waiters for a free slot: the highest goes first.
func (w slotWaiter) rank() int {
	r := int(w.kind)
	if w.urgent.Load() {
		r += 2
	}
	return r
}

const topRank = 3 // urgent, follow-up

func newSlots(n int) *slots { return &slots{free: n} }

// acquire takes a slot, waiting for one until ctx ends.
func (s *slots) acquire(ctx context.Context, urgent *atomic.Bool, kind callKind) error {
	s.mu.Lock()
	if s.free > 0 && len(s.waiting) == 0 {
		s.free--
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	s.waiting = append(s.waiting, slotWaiter{ch, urgent, kind})
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

// release hands the slot to the first waiter of the highest rank.
func (s *slots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.waiting) == 0 {
		s.free++
		return
	}
	i, best := 0, -1
	for j, w := range s.waiting {
		if r := w.rank(); r > best {
			i, best = j, r
			if r == topRank {
				break
			}
		}
	}
	close(s.waiting[i].ch)
	s.waiting = slices.Delete(s.waiting, i, i+1)
}

// queued reports whether calls wait for a slot: the IPFS node is the
// bottleneck.
func (s *slots) queued() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.waiting) > 0
}

// call runs fn, an IPFS call of kind, in a slot.
func (s *slots) call(ctx context.Context, urgent *atomic.Bool, kind callKind, fn func() error) error {
	if err := s.acquire(ctx, urgent, kind); err != nil {
		return err
	}
	defer s.release()
	return fn()
}
