package tracker

import (
	"context"
	"errors"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
)

func (t *Tracker) progressOf(c cid.Cid) (uint64, uint64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	pc, ok := t.inflight[c]
	if !ok {
		return 0, 0, false
	}
	return pc.nodes, pc.bytes, true
}

// WaitPinned blocks until the local status of c is pinned, and reports a
// failed pin's error. progress, when set, is told how far the fetch of c
// has come while it runs.
func (t *Tracker) WaitPinned(ctx context.Context, c cid.Cid, progress func(nodes, bytes uint64)) error {
	for {
		seen := t.notify.Get()
		st, ok, err := t.status.Get(c)
		if err != nil {
			return err
		}
		if ok && st.Status == storage.StatusPinned {
			return nil
		}
		if ok && st.Status == storage.StatusPinError {
			return errors.New(st.Error)
		}
		if progress != nil {
			if nodes, bytes, ok := t.progressOf(c); ok {
				progress(nodes, bytes)
			}
		}
		wctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		_ = t.notify.Wait(wctx, seen+1)
		cancel()
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// WaitUnpinned blocks until this peer's IPFS node no longer holds the
// cluster's pin of c: its local status is gone (or unpinned), or c is
// allocated here again (a pin made since wins). It reports a failed
// unpin's error; the tracker retries it meanwhile. An upload that the
// Node protects is its to release, so it does not wait for that either.
func (t *Tracker) WaitUnpinned(ctx context.Context, c cid.Cid) error {
	for {
		seen := t.notify.Get()
		st, ok, err := t.status.Get(c)
		if err != nil {
			return err
		}
		if !ok || st.Status == storage.StatusUnpinned || st.Protected {
			return nil
		}
		if st.Status == storage.StatusUnpinError {
			return errors.New(st.Error)
		}
		if p, err := t.state.Get(c); err == nil && t.holds(p) {
			return nil
		}
		wctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		_ = t.notify.Wait(wctx, seen+1)
		cancel()
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}
