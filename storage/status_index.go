package storage

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/ipfs/go-cid"
	bolt "go.etcd.io/bbolt"
)

// unindexed reports whether the records of status go without status_index
// entries. Pinned ones do: they are most of the records, no scan
// asks for them alone, and the entry of each new pin would cost one more
// random page in its write, for nothing. A scan that wants pinned records
// reads the records themselves.
func unindexed(status TrackerStatus) bool { return status == StatusPinned }

func statusIndexKey(status TrackerStatus, cidKey []byte) []byte {
	k := make([]byte, 0, len(status)+1+len(cidKey))
	k = append(k, status...)
	k = append(k, 0)
	return append(k, cidKey...)
}

// statusWriter keeps records, index, retry and protected indexes and
// counters in step inside one write transaction. Counters are summed in
// memory and written once by flush.
type statusWriter struct {
	records, index, counts, retry, prot *bolt.Bucket
	delta                               map[TrackerStatus]int64
	// wrote says that a record changed: a transaction in which none did
	// is rolled back, not committed (two fsyncs for nothing).
	wrote bool
}

func newStatusWriter(tx *bolt.Tx) *statusWriter {
	return &statusWriter{
		records: tx.Bucket(bucketStatus),
		index:   tx.Bucket(bucketStatusIndex),
		counts:  tx.Bucket(bucketStatusCounts),
		retry:   tx.Bucket(bucketStatusRetry),
		prot:    tx.Bucket(bucketStatusProt),
		delta:   make(map[TrackerStatus]int64),
	}
}

func (w *statusWriter) put(st *LocalStatus) error {
	key := []byte(st.Cid.KeyString())
	old, err := w.current(key)
	if err != nil {
		return err
	}
	return w.replace(key, st, old)
}

// current is the record at key as it stands in this transaction, nil when
// there is none.
func (w *statusWriter) current(key []byte) (*LocalStatus, error) {
	v := w.records.Get(key)
	if v == nil {
		return nil, nil
	}
	old, err := decodeStatusValue(key, v)
	if err != nil {
		return nil, err
	}
	return &old, nil
}

// replace stores st at key over old, the record there now (nil: none), for
// a caller that has decoded it already.
func (w *statusWriter) replace(key []byte, st, old *LocalStatus) error {
	if err := w.unindex(key, old); err != nil {
		return err
	}
	if err := w.records.Put(key, encodeStatusValue(st)); err != nil {
		return err
	}
	w.wrote = true
	w.delta[st.Status]++
	if st.Protected {
		if err := w.prot.Put(key, nil); err != nil {
			return err
		}
	}
	if retrying(st.Status) {
		if err := w.retry.Put(retryKey(st, key), nil); err != nil {
			return err
		}
	}
	if unindexed(st.Status) {
		return nil
	}
	return w.index.Put(statusIndexKey(st.Status, key), nil)
}

func (w *statusWriter) delete(key []byte) error {
	old, err := w.current(key)
	if err != nil {
		return err
	}
	return w.remove(key, old)
}

// remove deletes old, the record at key (nil: none).
func (w *statusWriter) remove(key []byte, old *LocalStatus) error {
	if old == nil {
		return nil
	}
	if err := w.unindex(key, old); err != nil {
		return err
	}
	w.wrote = true
	return w.records.Delete(key)
}

// unindex removes the index entries and the count of old, the record at
// key, if there is one.
func (w *statusWriter) unindex(key []byte, old *LocalStatus) error {
	if old == nil {
		return nil
	}
	w.delta[old.Status]--
	if old.Protected {
		if err := w.prot.Delete(key); err != nil {
			return err
		}
	}
	if retrying(old.Status) {
		if err := w.retry.Delete(retryKey(old, key)); err != nil {
			return err
		}
	}
	// Also for a pinned record: a build that indexed them left entries,
	// which go as their records leave pinned.
	return w.index.Delete(statusIndexKey(old.Status, key))
}

func (w *statusWriter) flush() error {
	for status, d := range w.delta {
		if d == 0 {
			continue
		}
		k := []byte(status)
		n := int64(readU64(w.counts.Get(k))) + d
		if n < 0 {
			return fmt.Errorf("%w: count of %s would drop to %d", ErrCorruptState, status, n)
		}
		if err := w.counts.Put(k, u64(uint64(n))); err != nil {
			return err
		}
	}
	return nil
}

// ForEachWithStatus is the work-queue scan: it reads up to limit records
// whose status is one of want (any status when want is empty) and whose CID
// follows after, in CID order across all wanted statuses, then closes the
// transaction and calls fn on each, so fn may write to the store. It returns
// the CID of the last record fn accepted, the next call's after; cid.Undef
// means there was nothing left. Only the index entries of the wanted
// statuses are read: a million pinned records cost nothing when looking for
// the queued ones. Wanting pinned, which is not indexed, reads the records.
// limit must be positive.
func (s *StatusStore) ForEachWithStatus(want []TrackerStatus, after cid.Cid, limit int, fn func(LocalStatus) error) (cid.Cid, error) {
	if err := checkScan("ForEachWithStatus", want, limit); err != nil {
		return cid.Undef, err
	}
	page := statusPages.get(limit)
	defer func() { statusPages.put(page) }()
	err := s.db.View(func(tx *bolt.Tx) error {
		records := tx.Bucket(bucketStatus)
		if len(want) == 0 || slices.ContainsFunc(want, unindexed) {
			// Not indexed: read the records, keeping those wanted.
			c := records.Cursor()
			for k, v := seekAfter(c, after); k != nil && len(page) < limit; k, v = c.Next() {
				st, err := decodeStatusValue(k, v)
				if err != nil {
					return err
				}
				if len(want) == 0 || slices.Contains(want, st.Status) {
					page = append(page, st)
				}
			}
			return nil
		}
		m := newStatusMerge(tx.Bucket(bucketStatusIndex), want, after)
		for key := m.next(); key != nil && len(page) < limit; key = m.next() {
			st, err := indexedRecord(records, key)
			if err != nil {
				return err
			}
			page = append(page, st)
		}
		return nil
	})
	if err != nil {
		return cid.Undef, err
	}
	return deliver(page, statusCid, fn)
}

// ForEachCidWithStatus is ForEachWithStatus for a caller that needs the
// CIDs only, as the tracker's dispatch, whose workers read each record
// afresh: it reads the index alone, never the records. want must name
// indexed statuses only (not pinned).
func (s *StatusStore) ForEachCidWithStatus(want []TrackerStatus, after cid.Cid, limit int, fn func(cid.Cid) error) (cid.Cid, error) {
	if err := checkScan("ForEachCidWithStatus", want, limit); err != nil {
		return cid.Undef, err
	}
	if len(want) == 0 || slices.ContainsFunc(want, unindexed) {
		return cid.Undef, fmt.Errorf("%w: ForEachCidWithStatus of %v: indexed statuses only", ErrInvalidStatus, want)
	}
	page := make([]cid.Cid, 0, min(limit, 1024))
	err := s.db.View(func(tx *bolt.Tx) error {
		m := newStatusMerge(tx.Bucket(bucketStatusIndex), want, after)
		for key := m.next(); key != nil && len(page) < limit; key = m.next() {
			c, err := cid.Cast(key)
			if err != nil {
				return fmt.Errorf("%w: status index key %x: %v", ErrCorruptState, key, err)
			}
			page = append(page, c)
		}
		return nil
	})
	if err != nil {
		return cid.Undef, err
	}
	return deliver(page, func(c *cid.Cid) cid.Cid { return *c }, fn)
}

// checkScan refuses a scan's bad arguments.
func checkScan(name string, want []TrackerStatus, limit int) error {
	if limit <= 0 {
		return fmt.Errorf("storage: %s limit %d must be positive", name, limit)
	}
	for _, st := range want {
		if !st.Valid() {
			return fmt.Errorf("%w: status %q", ErrInvalidStatus, st)
		}
	}
	return nil
}

// deliver calls fn on each item of a page read in CID order, and returns
// the CID of the last one fn accepted: where the next page starts.
func deliver[T any](page []T, key func(*T) cid.Cid, fn func(T) error) (cid.Cid, error) {
	last := cid.Undef
	for i := range page {
		if err := fn(page[i]); err != nil {
			return last, err
		}
		last = key(&page[i])
	}
	return last, nil
}

func statusCid(st *LocalStatus) cid.Cid { return st.Cid }

// indexedRecord is the record an index entry names by its CID key: a
// missing one means the index and the records disagree.
func indexedRecord(records *bolt.Bucket, key []byte) (LocalStatus, error) {
	v := records.Get(key)
	if v == nil {
		return LocalStatus{}, fmt.Errorf("%w: index entry for missing record %x", ErrCorruptState, key)
	}
	return decodeStatusValue(key, v)
}

// statusMerge walks the index ranges of several statuses at once and yields
// CID keys in ascending order, so that one after-CID can page through them
// all.
type statusMerge struct {
	cursors []*bolt.Cursor
	prefix  [][]byte
	cur     [][]byte // each cursor's current CID key; nil when exhausted
}

func newStatusMerge(index *bolt.Bucket, want []TrackerStatus, after cid.Cid) *statusMerge {
	m := &statusMerge{}
	seen := make(map[TrackerStatus]bool, len(want))
	for _, st := range want {
		if seen[st] {
			continue
		}
		seen[st] = true
		prefix := statusIndexKey(st, nil)
		c := index.Cursor()
		start := statusIndexKey(st, []byte(after.KeyString()))
		k, _ := c.Seek(start)
		if after.Defined() && bytes.Equal(k, start) {
			k, _ = c.Next()
		}
		m.cursors = append(m.cursors, c)
		m.prefix = append(m.prefix, prefix)
		m.cur = append(m.cur, m.trim(len(m.prefix)-1, k))
	}
	return m
}

func (m *statusMerge) trim(i int, k []byte) []byte {
	if k == nil || !bytes.HasPrefix(k, m.prefix[i]) {
		return nil
	}
	return k[len(m.prefix[i]):]
}

// next returns the smallest current key and advances its cursor. A CID has
// one record and so one status: the ranges never yield the same key twice.
func (m *statusMerge) next() []byte {
	best := -1
	for i, k := range m.cur {
		if k != nil && (best < 0 || bytes.Compare(k, m.cur[best]) < 0) {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	key := m.cur[best]
	k, _ := m.cursors[best].Next()
	m.cur[best] = m.trim(best, k)
	return key
}
