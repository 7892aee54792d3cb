package storage

import (
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
)

// StatusAction is what an edit does with the record it was shown.
type StatusAction int

const (
	// KeepStatus leaves the record as it is (or absent).
	KeepStatus StatusAction = iota
	// PutStatus stores the edited record.
	PutStatus
	// DeleteStatus removes the record.
	DeleteStatus
)

// StatusEditor decides what becomes of the record of the i-th CID: st is
// the record as it is now (with known false and only its Cid set when there
// is none), to be edited in place.
type StatusEditor func(i int, st *LocalStatus, known bool) StatusAction

// Edit reads, decides on and writes the records of cids in one write
// transaction, in order, so that no other write lands between a record's
// read and its rewrite. A decision made on a copy read earlier may rest on
// what a concurrent writer has since changed, and writing that copy back
// would undo the change: whoever decides from a record's present value
// edits it here. fn may run more than once for a CID (a failed group commit
// retries each write alone), so it must only decide, never act.
func (s *StatusStore) Edit(cids []cid.Cid, fn StatusEditor) error { return s.edit(cids, fn, 0) }

func (s *StatusStore) edit(cids []cid.Cid, fn StatusEditor, patience time.Duration) error {
	for _, c := range cids {
		if !c.Defined() {
			return fmt.Errorf("%w: no cid", ErrInvalidStatus)
		}
	}
	return s.write(&statusWrite{edit: &statusEdit{cids: cids, fn: fn}, patience: patience})
}

// PatientWrites are the status store's writes that may wait for company
// (status_write.go): each returns once on disk, as the store's own do, but
// a stream of them shares fsyncs. For writers whose next step waits on
// something slower anyway, such as a tracker with CIDs queued for IPFS.
type PatientWrites struct {
	s        *StatusStore
	patience time.Duration
}

// Patient returns the store's writes that may wait up to patience after
// the last commit began; zero makes them the store's own.
func (s *StatusStore) Patient(patience time.Duration) PatientWrites {
	return PatientWrites{s, patience}
}

// Put is StatusStore.Put.
func (p PatientWrites) Put(st LocalStatus) error {
	return p.s.putMany([]LocalStatus{st}, p.patience)
}

// Delete is StatusStore.Delete.
func (p PatientWrites) Delete(c cid.Cid) error { return p.s.delete(c, p.patience) }

// Edit is StatusStore.Edit.
func (p PatientWrites) Edit(cids []cid.Cid, fn StatusEditor) error {
	return p.s.edit(cids, fn, p.patience)
}

type statusEdit struct {
	cids []cid.Cid
	fn   StatusEditor
}

func (e *statusEdit) apply(sw *statusWriter) error {
	for i, c := range e.cids {
		key := []byte(c.KeyString())
		old, err := sw.current(key)
		if err != nil {
			return err
		}
		st := LocalStatus{Cid: c}
		if old != nil {
			st = *old
		}
		switch e.fn(i, &st, old != nil) {
		case PutStatus:
			st.Cid = c
			if !st.Status.Valid() {
				return fmt.Errorf("%w: %s has status %q", ErrInvalidStatus, c, st.Status)
			}
			if err := sw.replace(key, &st, old); err != nil {
				return err
			}
		case DeleteStatus:
			if err := sw.remove(key, old); err != nil {
				return err
			}
		}
	}
	return nil
}
