package storage

import (
	"slices"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
)

// statusCounts mirrors the status_counts bucket in memory, so that the
// tracker may ask on every dispatch round how many records are queued
// without opening a transaction. Only the group commit's leader changes
// it, after its transaction is on disk: it never counts a write that did
// not land.
type statusCounts [len(trackerStatuses)]atomic.Int64

func statusSlot(status TrackerStatus) int {
	return slices.Index(trackerStatuses[:], status)
}

// load reads the counters as the file has them.
func (c *statusCounts) load(tx *bolt.Tx) {
	for i, status := range trackerStatuses {
		c[i].Store(int64(readU64(tx.Bucket(bucketStatusCounts).Get([]byte(status)))))
	}
}

// add applies the deltas of a committed transaction.
func (c *statusCounts) add(delta map[TrackerStatus]int64) {
	for status, d := range delta {
		if i := statusSlot(status); i >= 0 && d != 0 {
			c[i].Add(d)
		}
	}
}

// Count returns how many records have one of statuses, as of the last
// committed write. It reads memory only.
func (s *StatusStore) Count(statuses ...TrackerStatus) int {
	n := int64(0)
	for _, status := range statuses {
		if i := statusSlot(status); i >= 0 {
			n += s.counts[i].Load()
		}
	}
	return int(n)
}
