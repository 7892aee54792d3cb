package cluster

import (
	"context"
	"strconv"
	"sync"
)

// indexWaiter lets a request wait until this peer has applied a given Raft
// index: that is what gives read-your-writes through any peer.
type indexWaiter struct {
	mu    sync.Mutex
	index uint64
	ch    chan struct{}
}

func newIndexWaiter() *indexWaiter { return &indexWaiter{ch: make(chan struct{})} }

func (w *indexWaiter) set(i uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if i <= w.index {
		return
	}
	w.index = i
	close(w.ch)
	w.ch = make(chan struct{})
}

func (w *indexWaiter) get() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.index
}

func (w *indexWaiter) wait(ctx context.Context, i uint64) error {
	for {
		w.mu.Lock()
		if w.index >= i {
			w.mu.Unlock()
			return nil
		}
		ch := w.ch
		w.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func parseUint(s string) uint64 {
	v, _ := strconv.ParseUint(s, 10, 64)
	return v
}
