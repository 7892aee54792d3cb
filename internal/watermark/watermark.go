// Package watermark is a number that only rises, and a way to wait until it
// has reached a given height. The cluster peer waits on its applied Raft
// index with it, which gives read-your-writes through any peer; the pin
// tracker bumps one on every status write, for whoever waits on a pin.
package watermark

import (
	"context"
	"sync"
)

// Watermark is safe for concurrent use. Make one with New.
type Watermark struct {
	mu    sync.Mutex
	index uint64
	ch    chan struct{} // closed and replaced whenever index rises
}

// New returns a watermark at zero.
func New() *Watermark { return &Watermark{ch: make(chan struct{})} }

// Set raises the mark to i and wakes the waiters. A lower or equal i
// changes nothing: the mark never goes down.
func (w *Watermark) Set(i uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if i <= w.index {
		return
	}
	w.index = i
	close(w.ch)
	w.ch = make(chan struct{})
}

// Get returns the mark.
func (w *Watermark) Get() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.index
}

// Wait returns once the mark is at least i, or with ctx's error when ctx
// ends first.
func (w *Watermark) Wait(ctx context.Context, i uint64) error {
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
