package storage

import (
	"bytes"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	bolt "go.etcd.io/bbolt"
)

func openTestStatus(t testing.TB) *StatusStore {
	t.Helper()
	s, err := OpenStatusStore(filepath.Join(t.TempDir(), "status.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func status(i int, st TrackerStatus) LocalStatus {
	return LocalStatus{Cid: testCid(i), Status: st, Timestamp: time.Unix(1700000000, int64(i)).UTC()}
}

// checkIndex asserts that records, indexes and counters agree exactly: one
// index entry per record under its current status (none for pinned), one
// retry entry per failed record under its RetryAt, and counts that match.
func checkIndex(t *testing.T, s *StatusStore) {
	t.Helper()
	err := s.db.View(func(tx *bolt.Tx) error {
		want, wantRetry, wantProt := map[string]bool{}, map[string]bool{}, map[string]bool{}
		counts := map[TrackerStatus]int{}
		tx.Bucket(bucketStatus).ForEach(func(k, v []byte) error {
			st, err := decodeStatusValue(k, v)
			if err != nil {
				t.Errorf("record %x: %v", k, err)
				return nil
			}
			if !unindexed(st.Status) {
				want[string(statusIndexKey(st.Status, k))] = true
			}
			if retrying(st.Status) {
				wantRetry[string(retryKey(&st, k))] = true
			}
			if st.Protected {
				wantProt[string(k)] = true
			}
			counts[st.Status]++
			return nil
		})
		keys := func(bucket []byte) map[string]bool {
			got := map[string]bool{}
			tx.Bucket(bucket).ForEach(func(k, _ []byte) error {
				got[string(k)] = true
				return nil
			})
			return got
		}
		if got := keys(bucketStatusIndex); !reflect.DeepEqual(got, want) {
			t.Errorf("index has %d entries, records want %d: they disagree", len(got), len(want))
		}
		if got := keys(bucketStatusRetry); !reflect.DeepEqual(got, wantRetry) {
			t.Errorf("retry index has %d entries, records want %d: they disagree", len(got), len(wantRetry))
		}
		if got := keys(bucketStatusProt); !reflect.DeepEqual(got, wantProt) {
			t.Errorf("protected index has %d entries, records want %d: they disagree", len(got), len(wantProt))
		}
		stored, _ := s.CountByStatus()
		if !reflect.DeepEqual(stored, counts) {
			t.Errorf("counters %v, records %v", stored, counts)
		}
		for _, st := range trackerStatuses {
			if got := s.Count(st); got != counts[st] {
				t.Errorf("Count(%s) = %d, records %d", st, got, counts[st])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestStatusRoundTrip(t *testing.T) {
	s := openTestStatus(t)
	full := LocalStatus{
		Cid: testCidV0(1), Status: StatusPinError, Error: "context deadline exceeded", PreexistingDirect: true,
		Timestamp: time.Unix(1700000000, 123).UTC(), AttemptCount: 3, Managed: true, Preexisting: true,
		RetryAt: time.Unix(1700000060, 456).UTC(), Protected: true,
	}
	bare := LocalStatus{Cid: testCid(2), Status: StatusPinQueued}
	if err := s.PutMany([]LocalStatus{full, bare}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []LocalStatus{full, bare} {
		got, ok, err := s.Get(want.Cid)
		if err != nil || !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("get %+v, %v, %v; want %+v", got, ok, err, want)
		}
	}
	if _, ok, err := s.Get(testCid(3)); ok || err != nil {
		t.Errorf("absent: %v, %v", ok, err)
	}
}

func TestStatusIndexFollowsTransitions(t *testing.T) {
	s := openTestStatus(t)
	for i := range 20 {
		if err := s.Put(status(i, StatusPinQueued)); err != nil {
			t.Fatal(err)
		}
	}
	checkIndex(t, s)
	steps := []TrackerStatus{StatusPinning, StatusPinned, StatusUnpinQueued, StatusUnpinning, StatusUnpinError, StatusUnpinQueued}
	for _, st := range steps {
		var batch []LocalStatus
		for i := 0; i < 20; i += 2 {
			batch = append(batch, status(i, st))
		}
		if err := s.PutMany(batch); err != nil {
			t.Fatal(err)
		}
		checkIndex(t, s)
	}
	// The same CID twice in one batch: the last one wins, indexed once.
	if err := s.PutMany([]LocalStatus{status(1, StatusPinError), status(1, StatusPinned)}); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, s)
	for i := 0; i < 20; i += 4 {
		if err := s.Delete(testCid(i)); err != nil {
			t.Fatal(err)
		}
	}
	s.Delete(testCid(999)) // absent: no-op
	checkIndex(t, s)
	counts, _ := s.CountByStatus()
	want := map[TrackerStatus]int{StatusPinQueued: 9, StatusPinned: 1, StatusUnpinQueued: 5}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("counts %v, want %v", counts, want)
	}
}

func TestStatusPutManyIsAllOrNothing(t *testing.T) {
	s := openTestStatus(t)
	for _, bad := range []LocalStatus{{Cid: testCid(2), Status: "dancing"}, {Status: StatusPinned}} {
		err := s.PutMany([]LocalStatus{status(1, StatusPinned), bad})
		if !errors.Is(err, ErrInvalidStatus) {
			t.Errorf("%+v: got %v", bad, err)
		}
	}
	if _, ok, _ := s.Get(testCid(1)); ok {
		t.Error("valid record of a refused batch was stored")
	}
	checkIndex(t, s)
}

func TestForEachWithStatusFindsFewAmongMany(t *testing.T) {
	s := openTestStatus(t)
	var batch []LocalStatus
	for i := range 20_000 {
		batch = append(batch, status(i, StatusPinned))
	}
	wantQueued := []int{5, 17_000, 9_999}
	wantErr := []int{3, 12_345}
	for _, i := range wantQueued {
		batch[i] = status(i, StatusPinQueued)
	}
	for _, i := range wantErr {
		batch[i] = status(i, StatusPinError)
	}
	if err := s.PutMany(batch); err != nil {
		t.Fatal(err)
	}
	sorted := func(is []int) []cid.Cid {
		var cs []cid.Cid
		for _, i := range is {
			cs = append(cs, testCid(i))
		}
		slices.SortFunc(cs, func(a, b cid.Cid) int { return bytes.Compare(a.Bytes(), b.Bytes()) })
		return cs
	}
	collect := func(want []TrackerStatus, limit int) []cid.Cid {
		return collectPages(t, func(after cid.Cid, fn func(LocalStatus) error) (cid.Cid, error) {
			return s.ForEachWithStatus(want, after, limit, fn)
		}, func(st LocalStatus) {
			if len(want) > 0 && !slices.Contains(want, st.Status) {
				t.Errorf("%s has status %s", st.Cid, st.Status)
			}
		})
	}
	if got := collect([]TrackerStatus{StatusPinQueued}, 100); !reflect.DeepEqual(got, sorted(wantQueued)) {
		t.Errorf("queued: %v", got)
	}
	// Several statuses page together, in CID order, each record once.
	both := sorted(append(slices.Clone(wantQueued), wantErr...))
	for _, limit := range []int{1, 2, 100} {
		got := collect([]TrackerStatus{StatusPinError, StatusPinQueued, StatusPinError}, limit)
		if !reflect.DeepEqual(got, both) {
			t.Errorf("limit %d: %v, want %v", limit, got, both)
		}
	}
	// The CIDs alone, from the index alone, in the same order.
	for _, limit := range []int{1, 2, 100} {
		got := collectPages(t, func(after cid.Cid, fn func(LocalStatus) error) (cid.Cid, error) {
			return s.ForEachCidWithStatus([]TrackerStatus{StatusPinQueued, StatusPinError}, after, limit, func(c cid.Cid) error {
				return fn(LocalStatus{Cid: c})
			})
		}, func(LocalStatus) {})
		if !reflect.DeepEqual(got, both) {
			t.Errorf("CIDs only, limit %d: %v, want %v", limit, got, both)
		}
	}
	if _, err := s.ForEachCidWithStatus([]TrackerStatus{StatusPinned}, cid.Undef, 10, nil); !errors.Is(err, ErrInvalidStatus) {
		t.Errorf("CIDs of the unindexed pinned records: %v", err)
	}
	if got := collect([]TrackerStatus{StatusUnpinning}, 10); len(got) != 0 {
		t.Errorf("unpinning: %v", got)
	}
	if got := collect(nil, 3000); len(got) != 20_000 {
		t.Errorf("no filter: %d records", len(got))
	}
	// Pinned records have no index entries: wanting them reads the
	// records, still in CID order across the wanted statuses.
	if got := collect([]TrackerStatus{StatusPinned, StatusPinQueued}, 3000); len(got) != 20_000-len(wantErr) {
		t.Errorf("pinned and queued: %d records", len(got))
	}
	if _, err := s.ForEachWithStatus([]TrackerStatus{"nope"}, cid.Undef, 1, nil); !errors.Is(err, ErrInvalidStatus) {
		t.Errorf("unknown status: %v", err)
	}
	if _, err := s.ForEachWithStatus(nil, cid.Undef, 0, nil); err == nil {
		t.Error("limit 0 accepted")
	}
}

// TestForEachWithStatusAsWorkQueue: fn runs outside the transaction, so a
// worker can move each record on to its next status as it goes.
func TestForEachWithStatusAsWorkQueue(t *testing.T) {
	s := openTestStatus(t)
	for i := range 50 {
		s.Put(status(i, StatusPinQueued))
	}
	queued := []TrackerStatus{StatusPinQueued}
	for {
		last, err := s.ForEachWithStatus(queued, cid.Undef, 8, func(st LocalStatus) error {
			st.Status = StatusPinned
			st.Managed = true
			return s.Put(st)
		})
		if err != nil {
			t.Fatal(err)
		}
		if !last.Defined() {
			break
		}
	}
	counts, _ := s.CountByStatus()
	if !reflect.DeepEqual(counts, map[TrackerStatus]int{StatusPinned: 50}) {
		t.Errorf("counts %v", counts)
	}
	checkIndex(t, s)

	stop := errors.New("stop")
	n := 0
	err := s.ForEach(func(st LocalStatus) error {
		if !st.Managed {
			t.Errorf("%s not managed", st.Cid)
		}
		if n++; n == 10 {
			return stop
		}
		return nil
	})
	if err != stop || n != 10 {
		t.Errorf("ForEach: %v after %d", err, n)
	}
}

// TestStatusSurvivesStateRestore: the status file sits beside the state
// file, and replacing the state must not touch it.
func TestStatusSurvivesStateRestore(t *testing.T) {
	dir := t.TempDir()
	st, err := OpenState(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ss, err := OpenStatusStore(filepath.Join(dir, "status.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	mustApply(t, st, 1, pinCmd(smallPin(1)))
	ss.Put(LocalStatus{Cid: testCid(1), Status: StatusPinned, Managed: true})

	empty := openTestState(t)
	if err := st.Restore(bytes.NewReader(snapshotOf(t, empty))); err != nil {
		t.Fatal(err)
	}
	assertCount(t, st, 0)
	if got, ok, err := ss.Get(testCid(1)); !ok || err != nil || !got.Managed {
		t.Errorf("status after state restore: %+v %v %v", got, ok, err)
	}
}

func TestStatusCountIsTheFilesAfterAFailedWriteAndAReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "status.db")
	s, err := OpenStatusStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutMany([]LocalStatus{status(1, StatusPinQueued), status(2, StatusPinQueued), status(3, StatusPinned)}); err != nil {
		t.Fatal(err)
	}
	// A write that fails half-way counts nothing.
	err = s.Edit([]cid.Cid{testCid(1), testCid(2)}, func(i int, st *LocalStatus, _ bool) StatusAction {
		st.Status = StatusPinning
		if i == 1 {
			st.Status = "dancing"
		}
		return PutStatus
	})
	if !errors.Is(err, ErrInvalidStatus) {
		t.Fatalf("edit to a bad status: %v", err)
	}
	checkIndex(t, s)
	s.Close()
	s, err = OpenStatusStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if q, p := s.Count(StatusPinQueued, StatusUnpinQueued), s.Count(StatusPinned); q != 2 || p != 1 {
		t.Errorf("after reopening: %d queued, %d pinned; want 2 and 1", q, p)
	}
	checkIndex(t, s)
}

// A build that indexed pinned records left their entries in status_index:
// no scan reads them, and each goes when its record leaves pinned.
func TestPinnedIndexEntriesOfAnOlderBuildGoWithTheirRecords(t *testing.T) {
	s := openTestStatus(t)
	if err := s.PutMany([]LocalStatus{status(1, StatusPinned), status(2, StatusPinQueued)}); err != nil {
		t.Fatal(err)
	}
	key := []byte(testCid(1).KeyString())
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketStatusIndex).Put(statusIndexKey(StatusPinned, key), nil)
	}); err != nil {
		t.Fatal(err)
	}
	var queued []cid.Cid
	if _, err := s.ForEachWithStatus([]TrackerStatus{StatusPinQueued, StatusUnpinQueued}, cid.Undef, 10, func(st LocalStatus) error {
		queued = append(queued, st.Cid)
		return nil
	}); err != nil || !reflect.DeepEqual(queued, []cid.Cid{testCid(2)}) {
		t.Fatalf("queued: %v, %v", queued, err)
	}
	if err := s.Put(status(1, StatusUnpinQueued)); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, s)
}
