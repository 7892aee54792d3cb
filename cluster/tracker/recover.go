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
// flight with no worker on it, or a pin recorded pinned here that the IPFS
// node no longer holds (removed behind Flotilla's back, ipfs-cluster's
// unexpectedly_unpinned), and reports whether there was one. Only the last
// asks the node, so that what it queues is what a garbage collection
// would otherwise take before the next reconcile.
func (t *Tracker) Recover(ctx context.Context, c cid.Cid) bool {
	queued, err := t.recoverCids([]cid.Cid{c})
	if err != nil {
		return false
	}
	return len(queued) > 0 || t.recoverUnheld(ctx, c)
}

// recoverUnheld queues c again if its record says pinned here and the IPFS
// node does not hold it as the pin wants. The queueing is the reconcile's,
// for a pinset and a listing of one: the worker that takes it up reads
// both afresh and asks the node again.
func (t *Tracker) recoverUnheld(ctx context.Context, c cid.Cid) bool {
	st, known, err := t.status.Get(c)
	if err != nil || !known || st.Status != storage.StatusPinned {
		return false
	}
	pin, err := t.state.Get(c)
	if err != nil || !t.holds(pin) {
		return false
	}
	askedAt := time.Now()
	if held, err := t.HeldOnIPFS(ctx, c, pin.Mode); err != nil || held {
		return false
	}
	n, err := t.reconcileBatch([]reconcileCandidate{{cid: c, allocated: true}}, askedAt)
	if err != nil {
		return false
	}
	if n > 0 {
		t.poke()
		t.bump()
	}
	// A worker still on c asks the node once more if it asked before
	// askedAt (recheck), and pins it again.
	return n > 0 || t.busy(c)
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
// one page at a time, however many failures there are. It also asks for a
// reconcile now, which queues again the pins the IPFS node no longer holds
// (as Recover does for one CID); fn is not told of those.
//
// The reconcile starts after the walk, which it would otherwise meet.
func (t *Tracker) RecoverAll(ctx context.Context, fn func([]cid.Cid) error) error {
	defer t.Resync()
	return t.eachStatusPage(ctx, recoverable, func(page []cid.Cid) error {
		queued, err := t.recoverCids(page)
		if err != nil || len(queued) == 0 {
			return err
		}
		return fn(queued)
	})
}

// HeldOnIPFS asks the IPFS node whether it holds c as a cluster pin of
// mode wants it held.
func (t *Tracker) HeldOnIPFS(ctx context.Context, c cid.Cid, mode storage.Mode) (bool, error) {
	typ, pinned, err := t.ipfs.IsPinned(ctx, c)
	return heldAs(typ, pinned, mode), err
}

// heldAs reports whether the IPFS node's pin of type typ serves a cluster
// pin of mode: a recursive pin serves both modes.
func heldAs(typ string, pinned bool, mode storage.Mode) bool {
	return pinned && (typ == "recursive" || mode == storage.Direct)
}
