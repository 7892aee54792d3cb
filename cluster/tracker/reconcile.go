package tracker

import (
	"context"
	"errors"
	"hash/maphash"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// upstreamSet is the upstream node's pinset during a reconcile, held as
// 64-bit hashes of the multihash: a million pins cost a few tens of MiB,
// not a million CID objects. A collision can only make one missing pin look
// present until the next reconcile.
type upstreamSet struct {
	seed maphash.Seed
	m    map[uint64]bool // true: recursive
}

func (u *upstreamSet) key(c cid.Cid) uint64 { return maphash.Bytes(u.seed, c.Hash()) }

// holds reports whether the upstream pin satisfies a cluster pin of mode.
func (u *upstreamSet) holds(c cid.Cid, mode storage.Mode) bool {
	rec, ok := u.m[u.key(c)]
	return ok && (rec || mode == storage.Direct)
}

func (t *Tracker) loadUpstream(ctx context.Context) (*upstreamSet, error) {
	u := &upstreamSet{seed: maphash.MakeSeed(), m: map[uint64]bool{}}
	for _, typ := range []string{"recursive", "direct"} {
		err := t.ipfs.PinLs(ctx, typ, func(c cid.Cid, _ string) error {
			k := u.key(c)
			u.m[k] = u.m[k] || typ == "recursive"
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return u, nil
}

// Reconcile compares the cluster's wishes for this peer with what the
// upstream node really holds, and queues the difference: pins removed behind
// Flotilla's back are pinned again, and Flotilla's own pins that are no
// longer allocated here are removed. Users' own pins are never touched.
// Run reconciles on start, on Resync and every ReconcileInterval; a call
// does it now and returns when the difference is queued.
func (t *Tracker) Reconcile(ctx context.Context) error {
	listedAt := time.Now()
	up, err := t.loadUpstream(ctx)
	if err != nil {
		return err
	}
	// The pinset is read a page at a time, each page's statuses edited
	// outside its transaction: a read transaction held across the whole
	// pinset would stall the FSM's commits whenever the file grows.
	queued := 0
	after := cid.Undef
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var batch []reconcileCandidate
		last, err := t.state.ForEachFrom(after, scanPage, func(p storage.Pin) error {
			batch = append(batch, reconcileCandidate{cid: p.Cid, allocated: t.holds(p), held: up.holds(p.Cid, p.Mode)})
			return nil
		})
		if err != nil {
			return err
		}
		n, err := t.reconcileBatch(batch, listedAt)
		if err != nil {
			t.log.Error().Err(err).Msg("record reconcile result")
		}
		if n > 0 {
			queued += n
			t.poke()
		}
		if !last.Defined() {
			break
		}
		after = last
	}
	if err := t.reconcileOrphans(ctx); err != nil {
		return err
	}
	if queued > 0 {
		t.log.Info().Int("changed", queued).Msg("reconciled local pins with the IPFS node")
	}
	t.bump()
	return nil
}

// reconcileCandidate is a pin of the pinset as a reconcile saw it: both the
// pinset and the IPFS node's listing may be older than the local status.
type reconcileCandidate struct {
	cid       cid.Cid
	allocated bool // to this peer
	held      bool // by the IPFS node, in a mode that serves the pin
}

// reconcileBatch queues the pins of batch whose local status disagrees
// with the IPFS node, and reports how many it queued. It decides from each
// status as it is when written, and only ever queues: the listing and the
// pinset it saw may be stale, so the worker that takes a queued CID up
// reads both afresh and asks the IPFS node. Above all it never decides
// from the listing that a pin is a user's: a listing taken before the
// cluster unpinned its own pin would make that pin look like the user's
// for ever after. CIDs in flight are left to their workers, which ask the
// node once more if they last asked before the listing (listedAt) began.
func (t *Tracker) reconcileBatch(batch []reconcileCandidate, listedAt time.Time) (int, error) {
	if len(batch) == 0 {
		return 0, nil
	}
	now := time.Now().UTC()
	cids := make([]cid.Cid, len(batch))
	for i := range batch {
		cids[i] = batch[i].cid
	}
	// Indexed by CID, as the editor may run twice for one.
	queued := make([]bool, len(batch))
	err := t.status.Edit(cids, func(i int, st *storage.LocalStatus, known bool) storage.StatusAction {
		p := batch[i]
		queued[i] = false
		var unheldSince time.Time
		if p.allocated && !p.held {
			unheldSince = listedAt
		}
		if t.recheck(p.cid, unheldSince) {
			return storage.KeepStatus
		}
		switch {
		case known && inFlightStatus(st.Status):
			// Left in flight by a process that stopped.
			st.Status = queueOf(st.Status)
		case p.allocated && !known:
			// Held or not, the worker asks the node whose pin it is.
			st.Status = storage.StatusPinQueued
		case p.allocated && !p.held && st.Status == storage.StatusPinned:
			st.Status, st.AttemptCount, st.Error = storage.StatusPinQueued, 0, ""
		case !p.allocated && known && unpinsOnIPFS(*st, p.held) && st.Status != storage.StatusUnpinQueued:
			st.Status, st.AttemptCount, st.Error = storage.StatusUnpinQueued, 0, ""
		default:
			return storage.KeepStatus
		}
		st.Timestamp = now
		queued[i] = true
		return storage.PutStatus
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, q := range queued {
		if q {
			n++
		}
	}
	return n, nil
}

// reconcileOrphans handles status entries whose pin left the pinset while
// this peer was not looking (for instance, during a snapshot install).
//
// The pinset is read before each page's edit, never inside it: a status
// write that waited on the pinset's file could wait on the FSM's commit,
// which may wait for a reader that waits on status writes. A pin added
// between the read and the edit is queued for an unpin at worst, which the
// worker, reading the pinset afresh, turns into a pin.
func (t *Tracker) reconcileOrphans(ctx context.Context) error {
	return t.eachStatusPage(ctx, allStatuses, func(page []cid.Cid) error {
		orphan := make([]bool, len(page))
		for i, c := range page {
			_, err := t.state.Get(c)
			orphan[i] = errors.Is(err, storage.ErrNotFound)
		}
		return t.status.Edit(page, func(i int, st *storage.LocalStatus, known bool) storage.StatusAction {
			if !orphan[i] || !known || t.busy(st.Cid) || st.Protected {
				// A protected upload's pin may not be committed yet: the
				// Node's release decides.
				return storage.KeepStatus
			}
			if !unpinsOnIPFS(*st, true) {
				return storage.DeleteStatus
			}
			// The listing is as old as the reconcile: a pin made since may
			// be missing from it. Flotilla's own pin is therefore always
			// unpinned (a no-op when the node does not hold it), never just
			// forgotten.
			if st.Status == storage.StatusUnpinQueued {
				return storage.KeepStatus
			}
			st.Status, st.AttemptCount = storage.StatusUnpinQueued, 0
			return storage.PutStatus
		})
	})
}

// unpinsOnIPFS reports whether the cluster's unpin of st has work to do on
// the IPFS node, which holds the pin (held) or not: removing Flotilla's own
// pin, or putting back the user's direct pin that it replaced. A protected
// upload waits for its release.
func unpinsOnIPFS(st storage.LocalStatus, held bool) bool {
	return st.Managed && !st.Preexisting && !st.Protected && (held || st.PreexistingDirect)
}

var allStatuses = []storage.TrackerStatus{
	storage.StatusPinQueued, storage.StatusPinning, storage.StatusPinned, storage.StatusPinError,
	storage.StatusUnpinQueued, storage.StatusUnpinning, storage.StatusUnpinned, storage.StatusUnpinError,
}
