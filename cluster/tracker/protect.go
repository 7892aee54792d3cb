package tracker

import (
	"context"
	"errors"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// An upload that the proxy received sits on this peer's IPFS node while the
// cluster may allocate it elsewhere. Protect pins it here as Flotilla's own
// pin (Managed) with the Protected flag, before the cluster pin is
// committed; the tracker then keeps that pin, allocated here or not, until
// Release. The Node releases it once an allocated peer reports the pin
// held, once the pin leaves the pinset, or once a protection waited too
// long for its commit. A pin that the IPFS node already holds, the user's
// or the cluster's, is never taken over.

// ErrNotProtected is Protect's answer when c needs no protection, or
// cannot have it: the IPFS node or the tracker holds it already.
var ErrNotProtected = errors.New("tracker: not protected: already pinned or tracked here")

// Protect pins c recursively on the IPFS node as Flotilla's own, protected
// pin. Its blocks are local, so the pin makes no fetch; inactivity still
// bounds it.
func (t *Tracker) Protect(ctx context.Context, c cid.Cid) error {
	// What an earlier protection of c left known is no longer so: only
	// this one's pin, once the node took it, may count (markProtectHeld).
	t.forgetProtectHeld(c)
	if t.busy(c) {
		return ErrNotProtected
	}
	if _, known, err := t.status.Get(c); err != nil || known {
		return errors.Join(ErrNotProtected, err)
	}
	if _, pinned, err := t.ipfs.IsPinned(ctx, c); err != nil || pinned {
		// Not knowing what the node holds, a pin could take a user's over.
		return errors.Join(ErrNotProtected, err)
	}
	// Record the intent first: a crash mid-pin leaves a record that the
	// release unpins (a no-op if the pin never landed). Only where there is
	// still no record: the cluster may have pinned c meanwhile.
	created := false
	err := t.status.Edit([]cid.Cid{c}, func(_ int, st *storage.LocalStatus, known bool) storage.StatusAction {
		created = !known
		if known {
			return storage.KeepStatus
		}
		*st = storage.LocalStatus{Cid: c, Status: storage.StatusPinned, Managed: true, Protected: true, Timestamp: time.Now().UTC()}
		return storage.PutStatus
	})
	t.bump()
	if err != nil || !created {
		return errors.Join(ErrNotProtected, err)
	}
	if err := t.ipfs.Pin(ctx, c, true, "", t.cfg.PinTimeout, nil); err != nil {
		t.Release(c)
		return err
	}
	t.markProtectHeld(c)
	t.log.Debug().Str("cid", c.String()).Msg("upload protected on IPFS until an allocated peer holds it")
	return nil
}

// Release ends c's protection: the tracker then does with c what the
// cluster wants of this peer, which unpins it here unless it is allocated
// here. It reports whether c was protected.
func (t *Tracker) Release(c cid.Cid) bool {
	// Read before the edit: the pinset is never read inside a status
	// write (see Edit's callers in reconcile.go).
	allocated := false
	if pin, err := t.state.Get(c); err == nil && t.holds(pin) {
		allocated = true
	}
	t.forgetProtectHeld(c)
	released := false
	err := t.status.Edit([]cid.Cid{c}, func(_ int, st *storage.LocalStatus, known bool) storage.StatusAction {
		released = known && st.Protected
		if !released {
			return storage.KeepStatus
		}
		st.Protected, st.Error, st.AttemptCount = false, "", 0
		// process reads the pinset afresh: it pins when allocated here
		// (the pin is held, and Flotilla's), else unpins Flotilla's own pin.
		st.Status = storage.StatusUnpinQueued
		if allocated {
			st.Status = storage.StatusPinQueued
		}
		st.Timestamp = time.Now().UTC()
		return storage.PutStatus
	})
	if err != nil || !released {
		return false
	}
	t.bump()
	t.log.Debug().Str("cid", c.String()).Msg("upload protection released")
	t.poke()
	return true
}

// ForEachProtected pages through the protected statuses, in CID order,
// until fn returns false. fn may call Release.
func (t *Tracker) ForEachProtected(ctx context.Context, fn func(st storage.LocalStatus) bool) error {
	return scanPages(ctx, cid.Undef, func(after cid.Cid, each func(storage.LocalStatus) error) (cid.Cid, error) {
		return t.status.ForEachProtected(after, 256, each)
	}, func(last, after cid.Cid) bool {
		return last.Defined() && !last.Equals(after)
	}, fn)
}

// maxProtectHeld bounds protectHeld: past it, a commit takes the slower
// path of a pin that the tracker checks on the node itself.
const maxProtectHeld = 4096

// markProtectHeld records that the IPFS node took c's protected pin. When
// c's cluster pin then commits allocated here, that pin is the one wanted,
// and the upload's caller, who waits for it, need not wait for the
// tracker to ask the node what it was just told. Only this process's
// knowledge counts: a record left by a process killed mid-pin says
// pinned before the node held anything.
func (t *Tracker) markProtectHeld(c cid.Cid) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.protectHeld) < maxProtectHeld {
		t.protectHeld[c] = struct{}{}
	}
}

// takeProtectHeldLocked reports whether c's protected pin is known held,
// and forgets it: only the first change after the pin may rely on it.
// t.mu is held.
func (t *Tracker) takeProtectHeldLocked(c cid.Cid) bool {
	_, held := t.protectHeld[c]
	delete(t.protectHeld, c)
	return held
}

// forgetProtectHeld forgets whether c's protected pin is known held.
func (t *Tracker) forgetProtectHeld(c cid.Cid) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.takeProtectHeldLocked(c)
}

// heldAsWanted reports whether the status st of a protected upload,
// whose pin the node took, already is the cluster pin ch wants: a
// recursive pin, Flotilla's own, held.
func heldAsWanted(st *storage.LocalStatus, known bool, ch storage.Change) bool {
	return known && st.Protected && st.Managed && st.Status == storage.StatusPinned &&
		ch.Pin.Mode == storage.Recursive
}
