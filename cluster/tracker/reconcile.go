package tracker

import (
	"context"
	"errors"
	"hash/maphash"
	"sync/atomic"
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
	up, err := t.loadUpstream(ctx)
	if err != nil {
		return err
	}
	var queued atomic.Int64
	now := time.Now().UTC()
	var puts []storage.LocalStatus
	flush := func() {
		if len(puts) > 0 {
			if err := t.status.PutMany(puts); err != nil {
				t.log.Error().Err(err).Msg("record reconcile result")
			}
			queued.Add(int64(len(puts)))
			puts = puts[:0]
			t.poke()
		}
	}
	err = t.state.ForEach(func(p storage.Pin) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		st, known, err := t.status.Get(p.Cid)
		if err != nil {
			return err
		}
		st.Cid, st.Timestamp = p.Cid, now
		held := up.holds(p.Cid, p.Mode)
		switch {
		case known && t.stuck(st):
			// Left in flight by a process that stopped: the worker that
			// takes it up again reads the pinset afresh.
			st.Status = queueOf(st.Status)
		case t.holds(p) && !held && (!known || st.Status == storage.StatusPinned):
			st.Status, st.AttemptCount, st.Error = storage.StatusPinQueued, 0, ""
		case t.holds(p) && held && !known:
			st.Status, st.Preexisting = storage.StatusPinned, true
		case !t.holds(p) && known && unpinsOnIPFS(st, held) && st.Status != storage.StatusUnpinning:
			st.Status, st.AttemptCount, st.Error = storage.StatusUnpinQueued, 0, ""
		default:
			return nil
		}
		puts = append(puts, st)
		if len(puts) >= 512 {
			flush()
		}
		return nil
	})
	flush()
	if err != nil {
		return err
	}
	if err := t.reconcileOrphans(ctx, up); err != nil {
		return err
	}
	if n := queued.Load(); n > 0 {
		t.log.Info().Int64("changed", n).Msg("reconciled local pins with the IPFS node")
	}
	t.bump()
	return nil
}

// reconcileOrphans handles status entries whose pin left the pinset while
// this peer was not looking (for instance, during a snapshot install).
func (t *Tracker) reconcileOrphans(ctx context.Context, up *upstreamSet) error {
	return t.eachStatus(ctx, allStatuses, func(st storage.LocalStatus) bool {
		if _, err := t.state.Get(st.Cid); !errors.Is(err, storage.ErrNotFound) || st.Protected {
			// A protected upload's pin may not be committed yet: the
			// Node's release decides.
			return true
		}
		// The listing is as old as the reconcile: a pin made since may be
		// missing from it. Flotilla's own pin is therefore always unpinned
		// (a no-op when the node does not hold it), never just forgotten.
		if unpinsOnIPFS(st, true) {
			if st.Status != storage.StatusUnpinQueued && (st.Status != storage.StatusUnpinning || t.stuck(st)) {
				st.Status, st.AttemptCount = storage.StatusUnpinQueued, 0
				t.put(st, st.Cid, false)
			}
		} else {
			t.put(st, st.Cid, true)
		}
		return true
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
