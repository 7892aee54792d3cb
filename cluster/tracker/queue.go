package tracker

import (
	"context"
	"errors"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// dispatch starts work for the recent changes, then for queued entries,
// then for failed ones whose retry is due, while there is room in flight.
// Failures that are not due yet are not read at all: the retry index is
// ordered by due time. The queued backlog is read on from where the last
// round stopped, wrapping around, so that the CIDs in flight are not read
// again on every round; and not at all when every queued CID is in flight.
func (t *Tracker) dispatch(ctx context.Context) {
	if t.room() <= 0 || !t.dispatchRecent(ctx) {
		return
	}
	full := false
	var err error
	if t.room() >= minBacklogRoom && t.backlogWaits() {
		full, err = t.dispatchBacklog(ctx)
	}
	if err == nil && !full {
		err = t.eachDue(ctx, time.Now(), func(st storage.LocalStatus) bool {
			full = !t.start(ctx, st.Cid, false, false)
			return !full
		})
	}
	if err != nil && ctx.Err() == nil {
		// A scan cut short by the tracker's stop is no failure.
		t.log.Error().Err(err).Msg("scan pin queue")
	}
}

// minBacklogRoom is the room in flight that a read of the backlog waits
// for: a read per finished CID started one CID per transaction, which cost
// the tracker 9% of its CPU. maxInflight is far larger, so that the IPFS
// slots never wait for it.
const minBacklogRoom = 16

// dispatchBacklog starts the queued CIDs from where the last round
// stopped, wrapping around, and reports whether it stopped for want of
// room in flight. It reads the queue's index only: the workers read the
// records.
func (t *Tracker) dispatchBacklog(ctx context.Context) (full bool, err error) {
	// Pages as large as the room left: past the cursor, no CID is in
	// flight but the recent ones.
	page := min(max(t.room(), minBacklogRoom), scanPage)
	startOne := func(c cid.Cid) bool {
		if full = !t.start(ctx, c, false, true); !full {
			t.backlogAfter = c
		}
		return !full
	}
	from := t.backlogAfter
	err = t.eachQueuedFrom(ctx, from, page, startOne)
	if err == nil && !full {
		// The end of the queue: on from its start next time.
		t.backlogAfter = cid.Undef
		if from.Defined() {
			err = t.eachQueuedFrom(ctx, cid.Undef, page, startOne)
		}
	}
	return full, err
}

// backlogWaits reports whether a queued CID may be waiting with no worker
// on it: more are queued on disk than are known queued and in flight.
// The status store counts the queued records in memory, so that a round
// in which every queued CID is in flight reads none of them.
func (t *Tracker) backlogWaits() bool {
	onDisk := t.status.Count(queued...)
	t.mu.Lock()
	defer t.mu.Unlock()
	return onDisk > t.queuedInflight
}

// errStopScan ends a scan early.
var errStopScan = errors.New("stop scan")

// scanPages runs scan from the start, then on from where each page ended,
// until a page brings nothing new (more says whether it did), fn returns
// false, or ctx ends. scan calls its callback outside any transaction, so
// fn may write statuses.
func scanPages[P, T any](ctx context.Context, after P, scan func(after P, each func(T) error) (P, error), more func(last, after P) bool, fn func(T) bool) error {
	for ctx.Err() == nil {
		last, err := scan(after, func(item T) error {
			if !fn(item) {
				return errStopScan
			}
			return nil
		})
		if errors.Is(err, errStopScan) {
			return nil
		}
		if err != nil || !more(last, after) {
			return err
		}
		after = last
	}
	return ctx.Err()
}

// scanPage is how many statuses a scan reads in one transaction.
const scanPage = 512

// eachQueuedFrom pages through the queued CIDs after from, in CID order,
// page a transaction, until fn returns false.
func (t *Tracker) eachQueuedFrom(ctx context.Context, from cid.Cid, page int, fn func(cid.Cid) bool) error {
	return scanPages(ctx, from, func(after cid.Cid, each func(cid.Cid) error) (cid.Cid, error) {
		return t.status.ForEachCidWithStatus(queued, after, page, each)
	}, func(last, after cid.Cid) bool {
		return last.Defined() && !last.Equals(after)
	}, fn)
}

// eachDue pages through the failed statuses due for a retry at now,
// soonest first, until fn returns false.
func (t *Tracker) eachDue(ctx context.Context, now time.Time, fn func(storage.LocalStatus) bool) error {
	return scanPages(ctx, nil, func(after []byte, each func(storage.LocalStatus) error) ([]byte, error) {
		return t.status.ForEachDue(now, after, scanPage, each)
	}, func(last, _ []byte) bool {
		return last != nil
	}, fn)
}

var queued = []storage.TrackerStatus{storage.StatusPinQueued, storage.StatusUnpinQueued}

func queuedStatus(status storage.TrackerStatus) bool {
	return status == storage.StatusPinQueued || status == storage.StatusUnpinQueued
}

// maxRetryDelay caps the wait before the retry of a failed pin or unpin.
const maxRetryDelay = time.Hour

// retryDelay is how long a pin or unpin waits after its attempts-th
// failure: RetryBackoff doubled once per failure, MaxRetries times at
// most, and never more than maxRetryDelay.
func (t *Tracker) retryDelay(attempts int) time.Duration {
	d := t.cfg.RetryBackoff
	for i := 0; i < min(attempts, t.cfg.MaxRetries) && d < maxRetryDelay; i++ {
		d *= 2
	}
	return min(d, maxRetryDelay)
}

// start runs one unit of work unless the CID is already in flight. It
// reports false when maxInflight CIDs are in flight, which ends this
// dispatch round. urgent work goes first for the IPFS node's slots.
// queued says that the caller read c's status as queued: it is counted in
// queuedInflight until it is known to be queued no more.
func (t *Tracker) start(ctx context.Context, c cid.Cid, urgent, queued bool) bool {
	t.mu.Lock()
	if pc, busy := t.inflight[c]; busy {
		if urgent {
			pc.urgent.Store(true)
		}
		t.mu.Unlock()
		return true
	}
	if len(t.inflight) >= t.maxInflight {
		t.mu.Unlock()
		return false
	}
	pc := &progressCounter{queued: queued}
	pc.urgent.Store(urgent)
	t.inflight[c] = pc
	if queued {
		t.queuedInflight++
	}
	t.mu.Unlock()
	t.workers.Add(1)
	go func() {
		defer func() {
			t.workers.Done()
			t.poke()
		}()
		for {
			t.process(ctx, c, pc)
			t.mu.Lock()
			if !(pc.stale || pc.held && pc.unheldAfter) || ctx.Err() != nil {
				t.uncountLocked(pc)
				delete(t.inflight, c)
				t.mu.Unlock()
				return
			}
			pc.stale, pc.askedAt, pc.held, pc.unheldAfter = false, time.Time{}, false, false
			t.mu.Unlock()
		}
	}()
	return true
}

// uncountLocked takes pc out of queuedInflight, once: its CID's status is
// no longer known to be queued. t.mu is held. It reports whether pc was
// counted.
func (t *Tracker) uncountLocked(pc *progressCounter) bool {
	if !pc.queued {
		return false
	}
	pc.queued = false
	t.queuedInflight--
	return true
}

// uncount is uncountLocked for a worker that reads a status not queued.
func (t *Tracker) uncount(pc *progressCounter) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.uncountLocked(pc)
}

// room is how many more CIDs may go in flight.
func (t *Tracker) room() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.maxInflight - len(t.inflight)
}

// requeueInterrupted queues again, as they were, the pins and unpins left
// in flight (pinning, unpinning) by a process that was killed mid-call.
// Run calls it before its first worker starts: none can be on them.
func (t *Tracker) requeueInterrupted(ctx context.Context) {
	err := t.eachStatusPage(ctx, inFlight, func(page []cid.Cid) error {
		return t.status.Edit(page, func(_ int, st *storage.LocalStatus, known bool) storage.StatusAction {
			if !known || !inFlightStatus(st.Status) {
				return storage.KeepStatus
			}
			st.Status = queueOf(st.Status)
			return storage.PutStatus
		})
	})
	t.bump()
	if err != nil && ctx.Err() == nil {
		t.log.Error().Err(err).Msg("queue the pins left in flight again")
	}
}

// eachStatusPage hands fn the CIDs whose status is in want, a page at a
// time in CID order, outside any transaction: fn edits them, deciding from
// each record as it is by then.
func (t *Tracker) eachStatusPage(ctx context.Context, want []storage.TrackerStatus, fn func(page []cid.Cid) error) error {
	after := cid.Undef
	for ctx.Err() == nil {
		var page []cid.Cid
		last, err := t.status.ForEachWithStatus(want, after, scanPage, func(st storage.LocalStatus) error {
			page = append(page, st.Cid)
			return nil
		})
		if err != nil || len(page) == 0 {
			return err
		}
		if err := fn(page); err != nil {
			return err
		}
		if !last.Defined() || last.Equals(after) {
			return nil
		}
		after = last
	}
	return ctx.Err()
}

var inFlight = []storage.TrackerStatus{storage.StatusPinning, storage.StatusUnpinning}

// queueOf is the queue a pin or an unpin of status goes back to:
// pin_queued or unpin_queued, or "" for a status that is neither.
func queueOf(status storage.TrackerStatus) storage.TrackerStatus {
	switch status {
	case storage.StatusPinQueued, storage.StatusPinning, storage.StatusPinError:
		return storage.StatusPinQueued
	case storage.StatusUnpinQueued, storage.StatusUnpinning, storage.StatusUnpinError:
		return storage.StatusUnpinQueued
	}
	return ""
}

func inFlightStatus(status storage.TrackerStatus) bool {
	return status == storage.StatusPinning || status == storage.StatusUnpinning
}

// busy reports whether a worker is on c.
func (t *Tracker) busy(c cid.Cid) bool { return t.recheck(c, time.Time{}) }

// recheck reports whether a worker is on c. A worker that asked the node
// about c before unheldSince, when a listing that misses c began, asks
// once more when done if it found c held: its answer is the older.
func (t *Tracker) recheck(c cid.Cid, unheldSince time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	pc, busy := t.inflight[c]
	if busy && !pc.askedAt.IsZero() && pc.askedAt.Before(unheldSince) {
		pc.unheldAfter = true
	}
	return busy
}

// asking records that pc's worker asks the node about its CID now.
func (t *Tracker) asking(pc *progressCounter) {
	t.mu.Lock()
	pc.askedAt, pc.held = time.Now(), false
	t.mu.Unlock()
}

// sawHeld records that pc's worker found the node holding its CID.
func (t *Tracker) sawHeld(pc *progressCounter) {
	t.mu.Lock()
	pc.held = true
	t.mu.Unlock()
}

// stuck reports whether st is left in flight with no worker on it.
func (t *Tracker) stuck(st storage.LocalStatus) bool {
	return inFlightStatus(st.Status) && !t.busy(st.Cid)
}
