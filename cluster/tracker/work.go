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

// process brings one CID on the upstream node in line with the current
// state. It reads the state afresh, so a queued entry that is stale by the
// time a worker reaches it does the right thing.
func (t *Tracker) process(ctx context.Context, c cid.Cid, pc *progressCounter) {
	st, known, err := t.status.Get(c)
	if err != nil {
		t.log.Error().Err(err).Msg("read local pin status")
		return
	}
	st.Cid = c
	pin, err := t.state.Get(c)
	switch {
	case err == nil && pin.AllocatedTo(t.self):
		t.pin(ctx, pin, st, pc)
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		t.log.Error().Err(err).Msg("read pinset")
	case known && st.Managed && !st.Preexisting:
		t.unpin(ctx, st)
	case known:
		t.put(storage.LocalStatus{}, c, true)
	}
}

func (t *Tracker) put(st storage.LocalStatus, c cid.Cid, drop bool) {
	var err error
	if drop {
		err = t.status.Delete(c)
	} else {
		st.Timestamp = time.Now().UTC()
		err = t.status.Put(st)
	}
	if err != nil {
		t.log.Error().Err(err).Str("cid", c.String()).Msg("write local pin status")
	}
	t.bump()
}

func (t *Tracker) pin(ctx context.Context, pin storage.Pin, st storage.LocalStatus, pc *progressCounter) {
	log := t.log.With().Str("cid", pin.Cid.String()).Logger()
	typ, pinned, err := t.ipfs.IsPinned(ctx, pin.Cid)
	if err == nil && pinned && (typ == "recursive" || pin.Mode == storage.Direct) {
		// Already held upstream. If Flotilla did not pin it, a user did:
		// remember that, so that Flotilla never removes the user's pin.
		if !st.Managed {
			st.Preexisting = true
		}
		st.Status, st.Error = storage.StatusPinned, ""
		t.put(st, pin.Cid, false)
		return
	}
	// Record the intent before pinning, so that a crash mid-pin still leaves
	// the pin marked as Flotilla's own.
	st.Status, st.Managed, st.Error = storage.StatusPinning, true, ""
	t.put(st, pin.Cid, false)
	log.Debug().Str("mode", pin.Mode.String()).Msg("pinning on IPFS")
	start := time.Now()
	if !t.pinByUpdate(ctx, pin) {
		err = t.ipfs.Pin(ctx, pin.Cid, pin.Mode == storage.Recursive, t.cfg.PinTimeout, func(nodes, bytes uint64) {
			t.mu.Lock()
			pc.nodes, pc.bytes = nodes, bytes
			t.mu.Unlock()
			t.bump()
		})
	}
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
		st.Status, st.Error = storage.StatusPinError, err.Error()
		st.AttemptCount++
		log.Warn().Err(err).Int("attempt", st.AttemptCount).Msg("pin failed")
		t.put(st, pin.Cid, false)
		return
	}
	st.Status, st.AttemptCount = storage.StatusPinned, 0
	t.put(st, pin.Cid, false)
	log.Info().Msg("pinned")
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
	if err := t.ipfs.PinUpdate(ctx, pin.PinUpdate, pin.Cid); err != nil {
		t.log.Debug().Err(err).Str("cid", pin.Cid.String()).Msg("pin update failed; pinning afresh")
		return false
	}
	return true
}

func (t *Tracker) unpin(ctx context.Context, st storage.LocalStatus) {
	st.Status, st.Error = storage.StatusUnpinning, ""
	t.put(st, st.Cid, false)
	uctx, cancel := context.WithTimeout(ctx, t.cfg.UnpinTimeout)
	err := t.ipfs.Unpin(uctx, st.Cid)
	cancel()
	if ctx.Err() != nil {
		st.Status = storage.StatusUnpinQueued
		t.put(st, st.Cid, false)
		return
	}
	if err != nil {
		st.Status, st.Error = storage.StatusUnpinError, err.Error()
		st.AttemptCount++
		t.log.Warn().Err(err).Str("cid", st.Cid.String()).Msg("unpin failed")
		t.put(st, st.Cid, false)
		return
	}
	t.put(st, st.Cid, true)
	t.log.Info().Str("cid", st.Cid.String()).Msg("unpinned")
}

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
		case p.AllocatedTo(t.self) && !held && (!known || st.Status == storage.StatusPinned):
			st.Status, st.AttemptCount, st.Error = storage.StatusPinQueued, 0, ""
		case p.AllocatedTo(t.self) && held && !known:
			st.Status, st.Preexisting = storage.StatusPinned, true
		case !p.AllocatedTo(t.self) && known && st.Managed && !st.Preexisting && held && st.Status != storage.StatusUnpinning:
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
		if _, err := t.state.Get(st.Cid); !errors.Is(err, storage.ErrNotFound) {
			return true
		}
		if st.Managed && !st.Preexisting && up.holds(st.Cid, storage.Direct) {
			if st.Status != storage.StatusUnpinQueued && st.Status != storage.StatusUnpinning {
				st.Status, st.AttemptCount = storage.StatusUnpinQueued, 0
				t.put(st, st.Cid, false)
			}
		} else {
			t.put(st, st.Cid, true)
		}
		return true
	})
}

var allStatuses = []storage.TrackerStatus{
	storage.StatusPinQueued, storage.StatusPinning, storage.StatusPinned, storage.StatusPinError,
	storage.StatusUnpinQueued, storage.StatusUnpinning, storage.StatusUnpinned, storage.StatusUnpinError,
}
