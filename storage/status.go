package storage

import (
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

// trackerStatuses are the statuses above, which a decoded record shares
// rather than carrying its own copy of the name; a status's place here is
// its slot in statusCounts.
var trackerStatuses = [...]TrackerStatus{
	StatusPinQueued, StatusPinning, StatusPinned, StatusPinError,
	StatusUnpinQueued, StatusUnpinning, StatusUnpinned, StatusUnpinError,
}

// trackerStatus reads a status name.
func (d *decoder) trackerStatus() TrackerStatus {
	r := d.raw()
	for _, known := range trackerStatuses {
		if string(r) == string(known) {
			return known
		}
	}
	return TrackerStatus(r)
}

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
	// PreexistingDirect is true when the user held a direct pin that
	// Flotilla's recursive pin replaced (IPFS holds one pin per CID): the
	// pin is Flotilla's (Managed), and its unpin puts the direct pin back.
	PreexistingDirect bool
	// RetryAt is when a failed pin or unpin (pin_error, unpin_error) is due
	// to be tried again; zero means at once. The status file indexes failed
	// records by it, so that waiting failures cost nothing to skip, and
	// stores it for failed records only.
	RetryAt time.Time
	// Protected is true while Flotilla's pin of an upload received here
	// (Managed) keeps the content until an allocated peer holds it, even
	// where the cluster pin is allocated elsewhere: the tracker does not
	// unpin it until the protection is released. The status file indexes
	// protected records, so that the release loop reads only them.
	Protected bool
}

// ErrInvalidStatus is a LocalStatus that Put refuses to store.
var ErrInvalidStatus = errors.New("storage: invalid local status")

// The status file holds the records, an index keyed by status+0x00+cid
// (status names never contain 0x00, so one status's keys never run into
// another's), a counter per status, and the retry index of the failed
// records keyed by (RetryAt, cid), and the protected records keyed by cid.
// All five change in the same transaction,
// so they cannot disagree.
var (
	bucketStatus       = []byte("status")
	bucketStatusIndex  = []byte("status_index")
	bucketStatusCounts = []byte("status_counts")
	bucketStatusRetry  = []byte("status_retry")
	bucketStatusProt   = []byte("status_protected")
)

// StatusStore is the local pin-status store. It lives in its own file so
// that restoring the replicated state leaves it alone.
type StatusStore struct {
	db *bolt.DB
	// counts mirrors the counters of the file, for Count.
	counts statusCounts
	// group commits the writes of concurrent callers together: see
	// status_write.go.
	group groupCommit
}

// OpenStatusStore opens or creates the status file at path.
func OpenStatusStore(path string) (*StatusStore, error) {
	db, err := bolt.Open(path, 0o600, boltOptions(false))
	if err != nil {
		return nil, fmt.Errorf("open status store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		// No protected record predates the protected index: the flag and
		// the index came together, so creating it empty is enough.
		for _, name := range [][]byte{bucketStatus, bucketStatusIndex, bucketStatusCounts, bucketStatusProt} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return buildRetryIndex(tx)
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open status store %s: %w", path, err)
	}
	s := &StatusStore{db: db, group: groupCommit{wake: make(chan struct{}, 1)}}
	if err := db.View(func(tx *bolt.Tx) error {
		s.counts.load(tx)
		return nil
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("open status store %s: %w", path, err)
	}
	return s, nil
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

// PutMany stores every record in one transaction: all or none. Keep batches
// to a few thousand records: bbolt splits pages only at commit, so a huge
// batch of new keys inserts into ever larger in-memory nodes.
func (s *StatusStore) PutMany(sts []LocalStatus) error { return s.putMany(sts, 0) }

func (s *StatusStore) putMany(sts []LocalStatus, patience time.Duration) error {
	for i := range sts {
		if !sts[i].Cid.Defined() {
			return fmt.Errorf("%w: no cid", ErrInvalidStatus)
		}
		if !sts[i].Status.Valid() {
			return fmt.Errorf("%w: %s has status %q", ErrInvalidStatus, sts[i].Cid, sts[i].Status)
		}
	}
	return s.write(&statusWrite{puts: sts, patience: patience})
}

// Delete removes the record for c, if any.
func (s *StatusStore) Delete(c cid.Cid) error { return s.delete(c, 0) }

func (s *StatusStore) delete(c cid.Cid, patience time.Duration) error {
	if !c.Defined() {
		return nil
	}
	return s.write(&statusWrite{del: []byte(c.KeyString()), patience: patience})
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

const (
	statusManaged = 1 << iota
	statusPreexisting
	statusHasTimestamp
	statusHasRetryAt
	statusPreexistingDirect
	statusProtected

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
	if st.PreexistingDirect {
		flags |= statusPreexistingDirect
	}
	if st.Protected {
		flags |= statusProtected
	}
	if !st.Timestamp.IsZero() {
		flags |= statusHasTimestamp
	}
	withRetryAt := retrying(st.Status) && !st.RetryAt.IsZero()
	if withRetryAt {
		flags |= statusHasRetryAt
	}
	b := make([]byte, 0, 32+len(st.Status)+len(st.Error))
	b = append(b, valueVersion, flags)
	b = appendString(b, string(st.Status))
	b = appendString(b, st.Error)
	b = binary.AppendVarint(b, int64(st.AttemptCount))
	if !st.Timestamp.IsZero() {
		b = appendTime(b, st.Timestamp)
	}
	if withRetryAt {
		b = appendTime(b, st.RetryAt)
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
		Cid:               c,
		Status:            d.trackerStatus(),
		Error:             d.string(),
		AttemptCount:      d.int(),
		Managed:           flags&statusManaged != 0,
		Preexisting:       flags&statusPreexisting != 0,
		PreexistingDirect: flags&statusPreexistingDirect != 0,
		Protected:         flags&statusProtected != 0,
	}
	if flags&statusHasTimestamp != 0 {
		st.Timestamp = d.time()
	}
	if flags&statusHasRetryAt != 0 {
		st.RetryAt = d.time()
	}
	if err := d.finish(); err != nil {
		return LocalStatus{}, fmt.Errorf("status of %s: %w", c, err)
	}
	return st, nil
}
