package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
	bolt "go.etcd.io/bbolt"
)

// The retry index keys every failed record (pin_error, unpin_error) by
// (RetryAt, cid), with RetryAt as big-endian Unix nanoseconds clamped as
// the expiry index's are. The tracker reads only its due prefix: a million
// failures that are not due yet cost it nothing.

// retrying reports whether records of status st belong in the retry index.
func retrying(st TrackerStatus) bool {
	return st == StatusPinError || st == StatusUnpinError
}

func retryKey(st *LocalStatus, cidKey []byte) []byte {
	return timeKey(st.RetryAt, cidKey)
}

// buildRetryIndex creates the retry index, and fills it from the failed
// records when the file comes from a build without one: their RetryAt is
// zero, so they are due at once. It runs in the transaction that opens the
// file; once the bucket exists, the writers keep it in step.
func buildRetryIndex(tx *bolt.Tx) error {
	if tx.Bucket(bucketStatusRetry) != nil {
		return nil
	}
	retry, err := tx.CreateBucket(bucketStatusRetry)
	if err != nil {
		return err
	}
	records := tx.Bucket(bucketStatus)
	m := newStatusMerge(tx.Bucket(bucketStatusIndex), []TrackerStatus{StatusPinError, StatusUnpinError}, cid.Undef)
	for key := m.next(); key != nil; key = m.next() {
		st, err := indexedRecord(records, key)
		if err != nil {
			return err
		}
		if err := retry.Put(retryKey(&st, key), nil); err != nil {
			return err
		}
	}
	return nil
}

// ForEachDue is the retry scan: it reads up to limit failed records
// (pin_error, unpin_error) whose RetryAt is at or before now, soonest
// first, starting after the position after (nil: from the first), then
// closes the transaction and calls fn on each, so fn may write to the
// store. It returns the position of the last record fn accepted, to pass
// back as after; nil means there was nothing left. Records not yet due are
// never read. limit must be positive.
func (s *StatusStore) ForEachDue(now time.Time, after []byte, limit int, fn func(LocalStatus) error) ([]byte, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("storage: ForEachDue limit %d must be positive", limit)
	}
	type entry struct {
		pos []byte
		st  LocalStatus
	}
	var page []entry
	end := expiryNanos(now)
	err := s.db.View(func(tx *bolt.Tx) error {
		records := tx.Bucket(bucketStatus)
		c := tx.Bucket(bucketStatusRetry).Cursor()
		k, _ := c.First()
		if after != nil {
			if k, _ = c.Seek(after); bytes.Equal(k, after) {
				k, _ = c.Next()
			}
		}
		for ; k != nil && len(page) < limit; k, _ = c.Next() {
			if len(k) < 8 || binary.BigEndian.Uint64(k[:8]) > end {
				break
			}
			st, err := indexedRecord(records, k[8:])
			if err != nil {
				return err
			}
			page = append(page, entry{bytes.Clone(k), st})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var last []byte
	for _, e := range page {
		if err := fn(e.st); err != nil {
			return last, err
		}
		last = e.pos
	}
	return last, nil
}
