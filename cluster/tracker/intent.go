package tracker

import (
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// recordPinIntent writes what the IPFS node's answer (pinned, and held as
// the pin wants it) means for c's record, deciding from the record as it
// is inside the write, which the worker therefore never reads before: held
// already, it is pinned; else the intent, pinning as Flotilla's own, which
// is on disk before the node is asked to pin, so that a crash mid-pin
// still leaves the pin marked as Flotilla's own. It returns the record as
// written, the worker's copy from then on.
func (t *Tracker) recordPinIntent(c cid.Cid, pinned, held bool, pc *progressCounter) (storage.LocalStatus, error) {
	counted := t.uncount(pc)
	now := time.Now().UTC()
	var st storage.LocalStatus
	wasQueued := false
	err := t.writes().Edit([]cid.Cid{c}, func(_ int, cur *storage.LocalStatus, known bool) storage.StatusAction {
		wasQueued = known && queuedStatus(cur.Status)
		// Allocated here, a protected upload's pin is simply the cluster's.
		cur.Protected = false
		cur.Error = ""
		if cur.AttemptCount == 0 {
			cur.Timestamp = now // a retry is pinning since its failures began
		}
		switch {
		case held:
			// If Flotilla did not pin it, a user did: remember that, so
			// that Flotilla never removes the user's pin.
			if !cur.Managed {
				cur.Preexisting = true
			}
			cur.Status, cur.AttemptCount, cur.Timestamp = storage.StatusPinned, 0, now
			st = *cur
			return storage.PutStatus
		case !pinned:
			// Whatever the user held is gone: the pin made now is the
			// cluster's own, which its unpin removes. (A direct pin of the
			// user's that the cluster replaced stays owed to the user.)
			cur.Preexisting = false
		case !cur.Managed:
			// The user pins it directly and the cluster wants it
			// recursive. IPFS holds one pin per CID, so the recursive pin
			// replaces the user's: remember it, so that the cluster's
			// unpin puts it back.
			cur.Preexisting, cur.PreexistingDirect = false, true
		}
		cur.Status, cur.Managed = storage.StatusPinning, true
		st = *cur
		return storage.PutStatus
	})
	t.bump()
	if err != nil {
		t.log.Error().Err(err).Str("cid", c.String()).Msg("write local pin status")
		return st, err
	}
	if counted && !wasQueued {
		// Started from a read of the queue older than its last write: see
		// uncountUnlessQueued.
		t.poke()
	}
	return st, nil
}

// pinFailedBeforeIntent records a pin whose IsPinned failed, before any
// write of its worker: its record is read now, for its count of attempts.
func (t *Tracker) pinFailedBeforeIntent(c cid.Cid, err error) {
	st, _, gerr := t.status.Get(c)
	if gerr != nil {
		t.log.Error().Err(gerr).Msg("read local pin status")
		return
	}
	st.Cid, st.Protected = c, false
	t.failed(st, storage.StatusPinError, err)
}
