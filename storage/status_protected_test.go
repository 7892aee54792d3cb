package storage

import (
	"testing"

	"github.com/ipfs/go-cid"
)

// collectPages pages through a CID-ordered scan of limit records a page,
// checking each record, until the scan has nothing left.
func collectPages(t *testing.T, scan func(after cid.Cid, fn func(LocalStatus) error) (cid.Cid, error), check func(LocalStatus)) []cid.Cid {
	t.Helper()
	var got []cid.Cid
	after := cid.Undef
	for {
		last, err := scan(after, func(st LocalStatus) error {
			check(st)
			got = append(got, st.Cid)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !last.Defined() {
			return got
		}
		after = last
	}
}

func protectedCids(t *testing.T, s *StatusStore, limit int) []cid.Cid {
	t.Helper()
	return collectPages(t, func(after cid.Cid, fn func(LocalStatus) error) (cid.Cid, error) {
		return s.ForEachProtected(after, limit, fn)
	}, func(st LocalStatus) {
		if !st.Protected {
			t.Errorf("%s read as protected: %+v", st.Cid, st)
		}
	})
}

// The protected index follows the flag through every write: set, kept
// across a status change, cleared, and dropped with the record.
func TestProtectedIndexFollowsTheFlag(t *testing.T) {
	s := openTestStatus(t)
	var batch []LocalStatus
	for i := range 1000 {
		st := status(i, StatusPinned)
		st.Managed, st.Protected = true, i%100 == 7
		batch = append(batch, st)
	}
	if err := s.PutMany(batch); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, s)
	if got := protectedCids(t, s, 3); len(got) != 10 {
		t.Fatalf("%d protected records read, want 10: %v", len(got), got)
	}
	st := batch[7]
	st.Status = StatusPinQueued
	if err := s.Put(st); err != nil {
		t.Fatal(err)
	}
	st = batch[107]
	st.Protected, st.Status = false, StatusUnpinQueued
	if err := s.Put(st); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(batch[207].Cid); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, s)
	got := protectedCids(t, s, 512)
	want := map[cid.Cid]bool{}
	for i := 7; i < 1000; i += 100 {
		want[batch[i].Cid] = i != 107 && i != 207
	}
	if len(got) != 8 {
		t.Fatalf("%d protected after changes, want 8: %v", len(got), got)
	}
	for _, c := range got {
		if !want[c] {
			t.Errorf("%s read as protected", c)
		}
	}
}
