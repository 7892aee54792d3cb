package tracker

import (
	"context"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// RecoverBatch is how many CIDs RecoverAll queues again in one write and
// hands on at a time.
const RecoverBatch = scanPage

// recoverable are the statuses Recover may queue again: failures, and
// operations left in flight with no worker on them.
var recoverable = []storage.TrackerStatus{
	storage.StatusPinError, storage.StatusUnpinError, storage.StatusPinning, storage.StatusUnpinning,
}

// Recover queues a failed pin or unpin of c again, now, or one left in
// flight with no worker on it, and reports whether there was one.
func (t *Tracker) Recover(c cid.Cid) bool {
	queued, err := t.recoverCids([]cid.Cid{c})
	return err == nil && len(queued) > 0
}

// recoverCids queues again those of cids that Recover would, deciding from
// each status as it is when written, and returns them.
func (t *Tracker) recoverCids(cids []cid.Cid) ([]cid.Cid, error) {
	now := time.Now().UTC()
	// Indexed by CID, as the editor may run twice for one.
	picked := make([]bool, len(cids))
	err := t.status.Edit(cids, func(i int, st *storage.LocalStatus, known bool) storage.StatusAction {
		failed := st.Status == storage.StatusPinError || st.Status == storage.StatusUnpinError
		picked[i] = known && (failed || t.stuck(*st))
		if !picked[i] {
			return storage.KeepStatus
		}
		st.Status, st.AttemptCount, st.Error, st.Timestamp = queueOf(st.Status), 0, "", now
		return storage.PutStatus
	})
	if err != nil {
		return nil, err
	}
	var queued []cid.Cid
	for i, ok := range picked {
		if ok {
			queued = append(queued, cids[i])
		}
	}
	if len(queued) > 0 {
		t.bump()
		t.poke()
	}
	return queued, nil
}

// RecoverAll queues again every failed operation, and every one left in
// flight with no worker on it, a page of at most RecoverBatch at a time in
// CID order, each page in one write. fn is told of each page's CIDs once
// they are queued; an error from fn, or the end of ctx, stops it. It holds
// one page at a time, however many failures there are.
func (t *Tracker) RecoverAll(ctx context.Context, fn func([]cid.Cid) error) error {
	return t.eachStatusPage(ctx, recoverable, func(page []cid.Cid) error {
		queued, err := t.recoverCids(page)
		if err != nil || len(queued) == 0 {
			return err
		}
		return fn(queued)
	})
}
