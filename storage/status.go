package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
	bolt "go.etcd.io/bbolt"
)

// TrackerStatus is where a CID stands on this peer's upstream IPFS node.
type TrackerStatus string

const (
	StatusPinQueued   TrackerStatus = "pin_queued"
	StatusPinning     TrackerStatus = "pinning"
	StatusPinned      TrackerStatus = "pinned"
	StatusPinError    TrackerStatus = "pin_error"
	StatusUnpinQueued TrackerStatus = "unpin_queued"
	StatusUnpinning   TrackerStatus = "unpinning"
	StatusUnpinned    TrackerStatus = "unpinned"
	StatusUnpinError  TrackerStatus = "unpin_error"
)

// Valid reports whether t is one of the statuses above.
func (t TrackerStatus) Valid() bool {
	switch t {
	case StatusPinQueued, StatusPinning, StatusPinned, StatusPinError,
		StatusUnpinQueued, StatusUnpinning, StatusUnpinned, StatusUnpinError:
		return true
	}
	return false
}

// LocalStatus is this peer's own record of one CID. It is not replicated.
type LocalStatus struct {
	Cid          cid.Cid
	Status       TrackerStatus
	Error        string
	Timestamp    time.Time
	AttemptCount int
	// Managed is true once Flotilla itself pinned the CID on the upstream IPFS node;
	// only managed pins may ever be unpinned by Flotilla.
	Managed bool
	// Preexisting is true when the upstream already had the pin before Flotilla
	// pinned it (a user's own pin): Flotilla must then never unpin it.
	Preexisting bool
}

// ErrInvalidStatus is a LocalStatus that Put refuses to store.
var ErrInvalidStatus = errors.New("storage: invalid local status")

// The status file holds the records, an index keyed by status+0x00+cid
// (status names never contain 0x00, so one status's keys never run into
// another's), and a counter per status. All three change in the same
// transaction, so they cannot disagree.
var (
	bucketStatus       = []byte("status")
	bucketStatusIndex  = []byte("status_index")
	bucketStatusCounts = []byte("status_counts")
)

// StatusStore is the local pin-status store. It lives in its own file so
// that restoring the replicated state leaves it alone.
type StatusStore struct {
	db *bolt.DB
}

// OpenStatusStore opens or creates the status file at path.
func OpenStatusStore(path string) (*StatusStore, error) {
	db, err := bolt.Open(path, 0o600, boltOptions(false))
	if err != nil {
		return nil, fmt.Errorf("open status store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketStatus, bucketStatusIndex, bucketStatusCounts} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open status store %s: %w", path, err)
	}
	return &StatusStore{db: db}, nil
}

// Close closes the file.
func (s *StatusStore) Close() error {
	return s.db.Close()
}

// Get returns the record for c, and whether there is one.
func (s *StatusStore) Get(c cid.Cid) (LocalStatus, bool, error) {
	var st LocalStatus
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		key := []byte(c.KeyString())
		v := tx.Bucket(bucketStatus).Get(key)
		if v == nil {
			return nil
		}
		var err error
		st, err = decodeStatusValue(key, v)
		ok = err == nil
		return err
	})
	return st, ok, err
}

// Put inserts or replaces the record for st.Cid.
func (s *StatusStore) Put(st LocalStatus) error {
	return s.PutMany([]LocalStatus{st})
}

// PutMany stores every record in one transaction: all or none.
func (s *StatusStore) PutMany(sts []LocalStatus) error {
	for i := range sts {
		if !sts[i].Cid.Defined() {
			return fmt.Errorf("%w: no cid", ErrInvalidStatus)
		}
		if !sts[i].Status.Valid() {
			return fmt.Errorf("%w: %s has status %q", ErrInvalidStatus, sts[i].Cid, sts[i].Status)
		}
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		w := newStatusWriter(tx)
		for i := range sts {
			if err := w.put(&sts[i]); err != nil {
				return err
			}
		}
		return w.flush()
	})
}

// Delete removes the record for c, if any.
func (s *StatusStore) Delete(c cid.Cid) error {
	if !c.Defined() {
		return nil
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		w := newStatusWriter(tx)
		if err := w.delete([]byte(c.KeyString())); err != nil {
			return err
		}
		return w.flush()
	})
}

// ForEach streams every record in CID order from one read transaction. fn
// must not write to the store: collect, then write.
func (s *StatusStore) ForEach(fn func(LocalStatus) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketStatus).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			st, err := decodeStatusValue(k, v)
			if err != nil {
				return err
			}
			if err := fn(st); err != nil {
				return err
			}
		}
		return nil
	})
}

// CountByStatus returns how many records have each status; statuses with
// none are absent. It reads the counters, not the records.
func (s *StatusStore) CountByStatus() (map[TrackerStatus]int, error) {
	counts := make(map[TrackerStatus]int)
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketStatusCounts).ForEach(func(k, v []byte) error {
			if n := readU64(v); n > 0 {
				counts[TrackerStatus(k)] = int(n)
			}
			return nil
		})
	})
	return counts, err
}

func statusIndexKey(status TrackerStatus, cidKey []byte) []byte {
	k := make([]byte, 0, len(status)+1+len(cidKey))
	k = append(k, status...)
	k = append(k, 0)
	return append(k, cidKey...)
}

// statusWriter keeps records, index and counters in step inside one write
// transaction. Counters are summed in memory and written once by flush.
type statusWriter struct {
	records, index, counts *bolt.Bucket
	delta                  map[TrackerStatus]int64
}

func newStatusWriter(tx *bolt.Tx) *statusWriter {
	return &statusWriter{
		records: tx.Bucket(bucketStatus),
		index:   tx.Bucket(bucketStatusIndex),
		counts:  tx.Bucket(bucketStatusCounts),
		delta:   make(map[TrackerStatus]int64),
	}
}

func (w *statusWriter) put(st *LocalStatus) error {
	key := []byte(st.Cid.KeyString())
	if err := w.unindex(key); err != nil {
		return err
	}
	if err := w.records.Put(key, encodeStatusValue(st)); err != nil {
		return err
	}
	w.delta[st.Status]++
	return w.index.Put(statusIndexKey(st.Status, key), nil)
}

func (w *statusWriter) delete(key []byte) error {
	if err := w.unindex(key); err != nil {
		return err
	}
	return w.records.Delete(key)
}

// unindex removes the index entry and the count of the record at key, if
// there is one.
func (w *statusWriter) unindex(key []byte) error {
	v := w.records.Get(key)
	if v == nil {
		return nil
	}
	old, err := decodeStatusValue(key, v)
	if err != nil {
		return err
	}
	w.delta[old.Status]--
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
// the queued ones. limit must be positive.
func (s *StatusStore) ForEachWithStatus(want []TrackerStatus, after cid.Cid, limit int, fn func(LocalStatus) error) (cid.Cid, error) {
	if limit <= 0 {
		return cid.Undef, fmt.Errorf("storage: ForEachWithStatus limit %d must be positive", limit)
	}
	for _, st := range want {
		if !st.Valid() {
			return cid.Undef, fmt.Errorf("%w: status %q", ErrInvalidStatus, st)
		}
	}
	var page []LocalStatus
	err := s.db.View(func(tx *bolt.Tx) error {
		records := tx.Bucket(bucketStatus)
		if len(want) == 0 {
			c := records.Cursor()
			for k, v := seekAfter(c, after); k != nil && len(page) < limit; k, v = c.Next() {
				st, err := decodeStatusValue(k, v)
				if err != nil {
					return err
				}
				page = append(page, st)
			}
			return nil
		}
		m := newStatusMerge(tx.Bucket(bucketStatusIndex), want, after)
		for key := m.next(); key != nil && len(page) < limit; key = m.next() {
			v := records.Get(key)
			if v == nil {
				return fmt.Errorf("%w: index entry for missing record %x", ErrCorruptState, key)
			}
			st, err := decodeStatusValue(key, v)
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
	last := cid.Undef
	for _, st := range page {
		if err := fn(st); err != nil {
			return last, err
		}
		last = st.Cid
	}
	return last, nil
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

const (
	statusManaged = 1 << iota
	statusPreexisting
	statusHasTimestamp

	statusKnownFlags = 1<<iota - 1
)

func encodeStatusValue(st *LocalStatus) []byte {
	var flags byte
	if st.Managed {
		flags |= statusManaged
	}
	if st.Preexisting {
		flags |= statusPreexisting
	}
	if !st.Timestamp.IsZero() {
		flags |= statusHasTimestamp
	}
	b := make([]byte, 0, 32+len(st.Status)+len(st.Error))
	b = append(b, valueVersion, flags)
	b = appendString(b, string(st.Status))
	b = appendString(b, st.Error)
	b = binary.AppendVarint(b, int64(st.AttemptCount))
	if !st.Timestamp.IsZero() {
		b = appendTime(b, st.Timestamp)
	}
	return b
}

func decodeStatusValue(key, v []byte) (LocalStatus, error) {
	c, err := cid.Cast(key)
	if err != nil {
		return LocalStatus{}, fmt.Errorf("%w: status key: %v", ErrCorruptState, err)
	}
	d := decoder{b: v, corrupt: ErrCorruptState}
	if ver := d.byte(); d.err == nil && ver != valueVersion {
		return LocalStatus{}, fmt.Errorf("%w: status value version %d", ErrCorruptState, ver)
	}
	flags := d.byte()
	if d.err == nil && flags&^statusKnownFlags != 0 {
		d.fail("unknown status flags %#x", flags)
	}
	st := LocalStatus{
		Cid:          c,
		Status:       TrackerStatus(d.string()),
		Error:        d.string(),
		AttemptCount: d.int(),
		Managed:      flags&statusManaged != 0,
		Preexisting:  flags&statusPreexisting != 0,
	}
	if flags&statusHasTimestamp != 0 {
		st.Timestamp = d.time()
	}
	if err := d.finish(); err != nil {
		return LocalStatus{}, fmt.Errorf("status of %s: %w", c, err)
	}
	return st, nil
}
