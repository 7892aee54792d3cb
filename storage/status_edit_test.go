package storage

import (
	"sync"
	"testing"

	"github.com/ipfs/go-cid"
	bolt "go.etcd.io/bbolt"
)

// An edit decides from the record as it is when written: edits racing on
// one record never lose each other's changes, as a read, then a write of
// the copy, would.
func TestEditsNeverLoseAConcurrentChange(t *testing.T) {
	s := openTestStatus(t)
	c := status(1, StatusPinQueued).Cid
	const writers, each = 8, 50
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				err := s.Edit([]cid.Cid{c}, func(_ int, st *LocalStatus, known bool) StatusAction {
					if !known {
						st.Status = StatusPinQueued
					}
					st.AttemptCount++
					return PutStatus
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	st, _, err := s.Get(c)
	if err != nil || st.AttemptCount != writers*each {
		t.Fatalf("after %d edits the record counts %d (err %v)", writers*each, st.AttemptCount, err)
	}
	checkIndex(t, s)
}

// The records of one edit are decided in order, each seeing those before
// it: an edit that names a CID twice sees its own first decision.
func TestEditSeesItsOwnEarlierDecisions(t *testing.T) {
	s := openTestStatus(t)
	a, b := status(1, StatusPinned), status(2, StatusPinned)
	if err := s.Put(a); err != nil {
		t.Fatal(err)
	}
	var seen []bool
	err := s.Edit([]cid.Cid{a.Cid, a.Cid, b.Cid}, func(i int, st *LocalStatus, known bool) StatusAction {
		seen = append(seen, known)
		switch i {
		case 0:
			return DeleteStatus
		case 1:
			return KeepStatus
		}
		st.Status = StatusPinQueued
		return PutStatus
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 3 || !seen[0] || seen[1] || seen[2] {
		t.Fatalf("known as seen by the edit: %v, want [true false false]", seen)
	}
	if _, known, _ := s.Get(a.Cid); known {
		t.Fatal("the deleted record is still there")
	}
	if st, known, _ := s.Get(b.Cid); !known || st.Status != StatusPinQueued {
		t.Fatalf("the new record: %+v known=%v", st, known)
	}
	if err := s.Edit([]cid.Cid{b.Cid}, func(_ int, st *LocalStatus, _ bool) StatusAction {
		st.Status = "bogus"
		return PutStatus
	}); err == nil {
		t.Fatal("an edit to an invalid status was stored")
	}
	checkIndex(t, s)
}

// An edit that keeps every record as it is commits nothing: no transaction,
// no fsync, as for the FSM's queue write of pins allocated elsewhere.
func TestAnEditThatChangesNothingCommitsNothing(t *testing.T) {
	s := openTestStatus(t)
	if err := s.Put(LocalStatus{Cid: testCid(1), Status: StatusPinned}); err != nil {
		t.Fatal(err)
	}
	txid := func() int {
		var id int
		if err := s.db.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil }); err != nil {
			t.Fatal(err)
		}
		return id
	}
	before := txid()
	keep := func(int, *LocalStatus, bool) StatusAction { return KeepStatus }
	if err := s.Edit([]cid.Cid{testCid(1), testCid(2)}, keep); err != nil {
		t.Fatal(err)
	}
	if after := txid(); after != before {
		t.Fatalf("an edit that kept every record committed a transaction (txid %d -> %d)", before, after)
	}
	put := func(_ int, st *LocalStatus, _ bool) StatusAction { st.Status = StatusPinQueued; return PutStatus }
	if err := s.Edit([]cid.Cid{testCid(2)}, put); err != nil {
		t.Fatal(err)
	}
	if after := txid(); after != before+1 {
		t.Fatalf("an edit that wrote a record: txid %d -> %d, want one commit", before, after)
	}
	if n := s.Count(StatusPinQueued); n != 1 {
		t.Fatalf("count of queued %d, want 1", n)
	}
}
