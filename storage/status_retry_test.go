package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	bolt "go.etcd.io/bbolt"
)

func failed(i int, st TrackerStatus, retryAt time.Time) LocalStatus {
	f := status(i, st)
	f.Error, f.AttemptCount, f.RetryAt = "boom", 2, retryAt
	return f
}

// dueCids pages through the due failures with the given page size.
func dueCids(t *testing.T, s *StatusStore, now time.Time, limit int) []cid.Cid {
	t.Helper()
	var got []cid.Cid
	var after []byte
	for {
		last, err := s.ForEachDue(now, after, limit, func(st LocalStatus) error {
			if !retrying(st.Status) || st.RetryAt.After(now) {
				t.Errorf("%s read as due: %+v", st.Cid, st)
			}
			got = append(got, st.Cid)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if last == nil {
			return got
		}
		after = last
	}
}

// A failure waits in the retry index, keyed by when it is due: the scan
// reads the due ones, soonest first, and never the ones that wait.
func TestForEachDueReadsOnlyDueFailures(t *testing.T) {
	s := openTestStatus(t)
	now := time.Unix(1800000000, 0).UTC()
	var batch []LocalStatus
	for i := range 5000 {
		batch = append(batch, failed(i, StatusPinError, now.Add(time.Duration(i+1)*time.Second)))
	}
	batch[10] = failed(10, StatusUnpinError, now.Add(-time.Minute))
	batch[20] = failed(20, StatusPinError, time.Time{}) // due at once
	batch[30] = failed(30, StatusPinError, now)
	batch[40] = failed(40, StatusPinError, now.Add(-time.Second))
	batch[50] = status(50, StatusPinQueued)
	batch[60] = failed(60, StatusPinError, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)) // after 2262: last
	if err := s.PutMany(batch); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, s)
	want := []cid.Cid{testCid(20), testCid(10), testCid(40), testCid(30)}
	for _, limit := range []int{1, 3, 100} {
		if got := dueCids(t, s, now, limit); !reflect.DeepEqual(got, want) {
			t.Errorf("limit %d: due %v, want %v", limit, got, want)
		}
	}

	// The index follows every change of status, RetryAt and presence.
	moved := failed(4000, StatusPinError, now.Add(-2*time.Minute))
	if err := s.PutMany([]LocalStatus{moved, status(10, StatusUnpinQueued), failed(30, StatusPinError, now.Add(time.Hour))}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(testCid(40)); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, s)
	if got, want := dueCids(t, s, now, 2), []cid.Cid{testCid(20), testCid(4000)}; !reflect.DeepEqual(got, want) {
		t.Errorf("after the changes: due %v, want %v", got, want)
	}

	// fn runs outside the transaction: the tracker moves each one on.
	_, err := s.ForEachDue(now, nil, 10, func(st LocalStatus) error {
		st.Status = StatusPinning
		return s.Put(st)
	})
	if err != nil {
		t.Fatal(err)
	}
	checkIndex(t, s)
	if got := dueCids(t, s, now, 10); len(got) != 0 {
		t.Errorf("due after all were taken: %v", got)
	}
	if got := dueCids(t, s, time.Date(3001, 1, 1, 0, 0, 0, 0, time.UTC), 1000); len(got) != 4995 {
		t.Errorf("%d due in the year 3001, want every failure left (4995: 5000, less a queued, a deleted, a recovered and two taken)", len(got))
	}
	if _, err := s.ForEachDue(now, nil, 0, nil); err == nil {
		t.Error("limit 0 accepted")
	}
}

// A status file from a build without the retry index gets one when it is
// opened: its failures (which have no RetryAt) are due at once.
func TestRetryIndexIsBuiltForAnOlderFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "status.db")
	s, err := OpenStatusStore(path)
	if err != nil {
		t.Fatal(err)
	}
	old := []LocalStatus{
		failed(1, StatusPinError, time.Time{}), failed(2, StatusUnpinError, time.Time{}),
		status(3, StatusPinned), status(4, StatusPinQueued),
	}
	if err := s.PutMany(old); err != nil {
		t.Fatal(err)
	}
	err = s.db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketStatusRetry) })
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = OpenStatusStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkIndex(t, s)
	if got := dueCids(t, s, time.Unix(0, 0), 10); len(got) != 2 {
		t.Fatalf("due after the upgrade: %v, want both failures", got)
	}
	for _, want := range old {
		if got, _, err := s.Get(want.Cid); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("after the upgrade %+v, %v; want %+v", got, err, want)
		}
	}
}

// BenchmarkRetryScanWithManyWaiting finds the few due failures among many
// that wait: its cost must not depend on how many wait.
func BenchmarkRetryScanWithManyWaiting(b *testing.B) {
	now := time.Unix(1800000000, 0).UTC()
	for _, waiting := range []int{1_000, 50_000} {
		b.Run(fmt.Sprint("waiting", waiting), func(b *testing.B) {
			s := openTestStatus(b)
			for i := 0; i < waiting; i += 1000 {
				var batch []LocalStatus
				for j := i; j < i+1000; j++ {
					batch = append(batch, failed(j, StatusPinError, now.Add(time.Hour)))
				}
				if err := s.PutMany(batch); err != nil {
					b.Fatal(err)
				}
			}
			for j := range 3 {
				s.Put(failed(waiting+j, StatusPinError, now.Add(-time.Second)))
			}
			for b.Loop() {
				n := 0
				s.ForEachDue(now, nil, 100, func(LocalStatus) error { n++; return nil })
				if n != 3 {
					b.Fatal(n)
				}
			}
		})
	}
}

// A record written before RetryAt, PreexistingDirect and Protected existed
// decodes with them unset; a flag from a newer build is refused.
func TestStatusValueOfAnOlderBuildDecodes(t *testing.T) {
	ts := time.Unix(1700000000, 5).UTC()
	v := []byte{valueVersion, statusManaged | statusHasTimestamp}
	v = appendString(v, string(StatusPinError))
	v = appendString(v, "boom")
	v = binary.AppendVarint(v, 3)
	v = appendTime(v, ts)
	key := []byte(testCid(1).KeyString())
	got, err := decodeStatusValue(key, v)
	want := LocalStatus{Cid: testCid(1), Status: StatusPinError, Error: "boom", AttemptCount: 3, Managed: true, Timestamp: ts}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded %+v, %v; want %+v", got, err, want)
	}
	v[1] |= 1 << 6
	if _, err := decodeStatusValue(key, v); !errors.Is(err, ErrCorruptState) {
		t.Fatalf("an unknown flag decoded: %v", err)
	}
}
