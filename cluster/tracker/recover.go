package tracker

import (
	"context"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// RecoverBatch is how many CIDs RecoverAll queues again in one write and
// hands on at a time.
const RecoverBatch = 512

// recoverable are the statuses Recover may queue again: failures, and
// operations left in flight with no worker on them.
var recoverable = []storage.TrackerStatus{
	storage.StatusPinError, storage.StatusUnpinError, storage.StatusPinning, storage.StatusUnpinning,
}

// Recover queues a failed pin or unpin of c again, now, or one left in
// flight with no worker on it, and reports whether there was one.
func (t *Tracker) Recover(c cid.Cid) bool {
	st, ok, err := t.status.Get(c)
	if err != nil || !ok {
		return false
	}
	st, ok = t.recovered(st, time.Now().UTC())
	if !ok {
		return false
	}
	t.put(st, c, false)
	t.poke()
	return true
}

// recovered is st queued again, and whether Recover queues it: a failure,
// or an operation left in flight with no worker on it.
func (t *Tracker) recovered(st storage.LocalStatus, now time.Time) (storage.LocalStatus, bool) {
	failed := st.Status == storage.StatusPinError || st.Status == storage.StatusUnpinError
	if !failed && !t.stuck(st) {
		return st, false
	}
	st.Status, st.AttemptCount, st.Error, st.Timestamp = queueOf(st.Status), 0, "", now
	return st, true
}

// RecoverAll queues again every failed operation, and every one left in
// flight with no worker on it, a page of at most RecoverBatch at a time in
// CID order, each page in one write. fn is told of each page's CIDs once
// they are queued; an error from fn, or the end of ctx, stops it. It holds
// one page at a time, however many failures there are.
func (t *Tracker) RecoverAll(ctx context.Context, fn func([]cid.Cid) error) error {
	after := cid.Undef
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var puts []storage.LocalStatus
		now := time.Now().UTC()
		last, err := t.status.ForEachWithStatus(recoverable, after, RecoverBatch, func(st storage.LocalStatus) error {
			if st, ok := t.recovered(st, now); ok {
				puts = append(puts, st)
			}
			return nil
		})
		if err != nil || !last.Defined() {
			return err
		}
		after = last
		if len(puts) == 0 {
			continue
		}
		if err := t.status.PutMany(puts); err != nil {
			return err
		}
		t.bump()
		t.poke()
		cids := make([]cid.Cid, len(puts))
		for i := range puts {
			cids[i] = puts[i].Cid
		}
		if err := fn(cids); err != nil {
			return err
		}
	}
}
