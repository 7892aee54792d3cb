package tracker

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// process brings one CID on the upstream node in line with the current
// state. It reads the state afresh, so a queued entry that is stale by the
// time a worker reaches it does the right thing.
func (t *Tracker) process(ctx context.Context, c cid.Cid, pc *progressCounter) {
	pin, err := t.state.Get(c)
	if err == nil && t.holds(pin) {
		// A pin decides from its status inside its first write.
		t.pin(ctx, pin, pc)
		return
	}
	st, known, serr := t.status.Get(c)
	if serr != nil {
		t.log.Error().Err(serr).Msg("read local pin status")
		return
	}
	st.Cid = c
	t.uncountUnlessQueued(pc, known && queuedStatus(st.Status))
	switch {
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		t.log.Error().Err(err).Msg("read pinset")
	case known && st.Protected:
		// An upload kept here until an allocated peer holds it: the
		// Node's release decides.
	case known && st.Managed && !st.Preexisting:
		t.unpin(ctx, st, &pc.urgent)
	case known:
		t.put(storage.LocalStatus{}, c, true)
	}
}

// uncountUnlessQueued takes a worker's CID out of queuedInflight when it
// finds the CID's status not queued: started from a read of the queue
// older than its last write, it may have made dispatch skip the queue on a
// count one too high, so dispatch runs again.
func (t *Tracker) uncountUnlessQueued(pc *progressCounter, queued bool) {
	if !queued && t.uncount(pc) {
		t.poke()
	}
}

// put writes st for c, or drops c's record, from c's worker. c leaves
// queuedInflight before the write, never after it lands: the count is not
// one too high while dispatch may read it.
func (t *Tracker) put(st storage.LocalStatus, c cid.Cid, drop bool) {
	t.mu.Lock()
	if pc := t.inflight[c]; pc != nil {
		t.uncountLocked(pc)
	}
	t.mu.Unlock()
	var err error
	if drop {
		err = t.writes().Delete(c)
	} else {
		// A record in a run of failed attempts keeps the time the run
		// began (failed): its retries do not move it.
		if st.AttemptCount == 0 {
			st.Timestamp = time.Now().UTC()
		}
		err = t.writes().Put(st)
	}
	if err != nil {
		t.log.Error().Err(err).Str("cid", c.String()).Msg("write local pin status")
	}
	t.bump()
}

// statusPatience is how long a worker's status write may wait for the
// company of others while CIDs queue for IPFS slots: commits then come at
// most every statusPatience, many writes each, where they came every 2 ms
// with fewer than two, each commit two fsyncs that Kubo's own (four a
// pin/add) waited behind on the same disk. 25 ms rather than 8 halved the
// status file's flushes per cluster pin in `make bench`'s comparison and
// cut them by 60% on a backlog (docs/performance.md). A worker's next step
// waits for a slot anyway; a lone pin, with no call waiting, waits for
// nothing; and a write that may not wait, the FSM's among them, ends the
// wait at once.
const statusPatience = 25 * time.Millisecond

// writes are the status writes of a worker: patient while the IPFS node
// is the bottleneck.
func (t *Tracker) writes() storage.PatientWrites {
	if t.slots.queued() {
		return t.status.Patient(statusPatience)
	}
	return t.status.Patient(0)
}

// failed records a failed attempt (status is pin_error or unpin_error) and
// when it is due to be tried again. The record's Timestamp is when the run
// of failures began, which the retries in between (pinning, failing again)
// do not move: the operator must tell a pin failing for days from one that
// failed a minute ago, and the record's format has no other field for it.
func (t *Tracker) failed(st storage.LocalStatus, status storage.TrackerStatus, err error) {
	st.Status, st.Error = status, err.Error()
	if st.AttemptCount == 0 {
		st.Timestamp = time.Now().UTC()
	}
	st.AttemptCount++
	wait := t.retryDelay(st.AttemptCount)
	st.RetryAt = time.Now().Add(wait).UTC()
	ev := t.log.Debug()
	if st.AttemptCount == t.cfg.MaxRetries {
		ev = t.log.Warn() // once per failing CID: its backoff stops growing here
	}
	ev.Err(err).Str("cid", st.Cid.String()).Str("status", string(status)).
		Int("attempt", st.AttemptCount).Str("retry_in", wait.String()).Msg("IPFS operation failed; will retry")
	t.noteFailure(st.Cid.String(), err)
	t.put(st, st.Cid, false)
}

func (t *Tracker) pin(ctx context.Context, pin storage.Pin, pc *progressCounter) {
	var typ, name string
	var pinned bool
	err := t.slots.call(ctx, &pc.urgent, checkCall, func() (err error) {
		t.asking(pc)
		typ, pinned, err = t.ipfs.IsPinned(ctx, pin.Cid)
		if err == nil && typ == "direct" && pin.Mode == storage.Recursive {
			// The recursive pin replaces the direct one, which may be a
			// user's: it keeps the user's name, which its unpin restores.
			name, err = t.ipfs.PinName(ctx, pin.Cid, "direct")
		}
		return err
	})
	if err != nil {
		// Not knowing what the user holds, a pin could take the user's
		// own over: this attempt fails, and a retry asks again.
		if ctx.Err() == nil {
			t.pinFailedBeforeIntent(pin.Cid, err)
		}
		return
	}
	held := heldAs(typ, pinned, pin.Mode)
	if held {
		t.sawHeld(pc)
	}
	st, err := t.recordPinIntent(pin.Cid, pinned, held, pc)
	if err != nil || held {
		return
	}
	// Stringer: the CID is formatted only when debug lines are on (a
	// logger With the CID cost every pin two allocations and a base32).
	t.log.Debug().Stringer("cid", pin.Cid).Str("mode", pin.Mode.String()).Msg("pinning on IPFS")
	var start time.Time
	err = t.slots.call(ctx, &pc.urgent, followUpCall, func() error {
		start = time.Now()
		t.asking(pc)
		if t.pinByUpdate(ctx, pin) {
			return nil
		}
		return t.ipfs.Pin(ctx, pin.Cid, pin.Mode == storage.Recursive, name, t.cfg.PinTimeout, func(nodes, bytes uint64) {
			t.mu.Lock()
			pc.nodes, pc.bytes = nodes, bytes
			t.mu.Unlock()
			t.bump()
		})
	})
	if t.cfg.ObservePin != nil && ctx.Err() == nil {
		t.cfg.ObservePin(time.Since(start), err == nil)
	}
	if ctx.Err() != nil {
		// Shutting down: leave it queued for the next start.
		st.Status = storage.StatusPinQueued
		t.put(st, pin.Cid, false)
		return
	}
	if err != nil {
		t.failed(st, storage.StatusPinError, err)
		return
	}
	t.sawHeld(pc)
	st.Status, st.AttemptCount = storage.StatusPinned, 0
	t.put(st, pin.Cid, false)
	t.log.Debug().Stringer("cid", pin.Cid).Msg("pinned")
	t.done.Add(1)
}

// pinByUpdate pins a new version of a DAG from the old version's pin when
// this node holds it, as ipfs-cluster does: only the changed blocks are
// fetched. It reports whether it did.
func (t *Tracker) pinByUpdate(ctx context.Context, pin storage.Pin) bool {
	if !pin.PinUpdate.Defined() || pin.Mode != storage.Recursive {
		return false
	}
	if typ, pinned, err := t.ipfs.IsPinned(ctx, pin.PinUpdate); err != nil || !pinned || typ != "recursive" {
		return false
	}
	// Bounded by the pin timeout, so that a stuck update cannot hold a
	// worker: the pin afresh that follows has progress to go by.
	if err := t.ipfs.PinUpdate(ctx, pin.PinUpdate, pin.Cid, t.cfg.PinTimeout); err != nil {
		t.log.Debug().Err(err).Str("cid", pin.Cid.String()).Msg("pin update failed; pinning afresh")
		return false
	}
	return true
}

func (t *Tracker) unpin(ctx context.Context, st storage.LocalStatus, urgent *atomic.Bool) {
	st.Status, st.Error = storage.StatusUnpinning, ""
	t.put(st, st.Cid, false)
	err := t.slots.call(ctx, urgent, checkCall, func() error {
		uctx, cancel := context.WithTimeout(ctx, t.cfg.UnpinTimeout)
		defer cancel()
		var name string
		if st.PreexistingDirect {
			// The recursive pin kept the user's name (pin), or the one the
			// user gave it since.
			var err error
			if name, err = t.ipfs.PinName(uctx, st.Cid, "recursive"); err != nil {
				return err
			}
		}
		err := t.ipfs.Unpin(uctx, st.Cid)
		if err == nil && st.PreexistingDirect {
			// Give the user back the direct pin that the cluster's
			// recursive pin replaced. Should it fail, the retry unpins (a
			// no-op by then) and pins it again.
			err = t.ipfs.Pin(ctx, st.Cid, false, name, t.cfg.PinTimeout, nil)
		}
		return err
	})
	if ctx.Err() != nil {
		st.Status = storage.StatusUnpinQueued
		t.put(st, st.Cid, false)
		return
	}
	if err != nil {
		t.failed(st, storage.StatusUnpinError, err)
		return
	}
	t.put(st, st.Cid, true)
	t.log.Debug().Stringer("cid", st.Cid).Msg("unpinned")
	t.done.Add(1)
}
