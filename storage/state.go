package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
	bolt "go.etcd.io/bbolt"
)

// ErrNotFound is ipfs-cluster's text, which its clients match on.
var ErrNotFound = errors.New("pin is not part of the pinset")

// ErrClosed is returned by a State or StatusStore used after Close (or after
// a Restore that could not reopen the file).
var ErrClosed = errors.New("storage: closed")

var (
	bucketPins = []byte("pins")
	// bucketExpiry indexes pins with an expiry by (expire_at, cid), so that
	// finding the expired ones reads only them.
	bucketExpiry = []byte("expiry")
	bucketPeers  = []byte("peers")
	bucketMeta   = []byte("meta")

	keyFormat   = []byte("format")
	keyApplied  = []byte("applied_index")
	keyPinCount = []byte("pin_count")
	// keyExpiryRepaired marks a file whose expiry index was checked against
	// its pins (see repairExpiryIndex).
	keyExpiryRepaired = []byte("expiry_repaired")
)

// stateFormat versions the layout of the state file as a whole (buckets and
// meta keys). A snapshot from a newer layout is refused, not half-read.
const stateFormat = 1

const (
	// lockTimeout turns a second process on the same file into an error
	// rather than a silent hang.
	lockTimeout = 5 * time.Second
	// initialMmapSize reserves address space (not memory) for a few million
	// pins. A snapshot holds a read transaction for as long as it streams, and
	// bbolt cannot grow its mapping while one is open: writers would stall
	// behind the snapshot if the file outgrew the mapping.
	initialMmapSize = 1 << 30
)

func boltOptions(readOnly bool) *bolt.Options {
	return &bolt.Options{
		Timeout:         lockTimeout,
		InitialMmapSize: initialMmapSize,
		// The array freelist degrades badly on large, fragmented files.
		FreelistType: bolt.FreelistMapType,
		ReadOnly:     readOnly,
	}
}

// State is the pinset and the peer set in one bbolt file. Pins are read from
// disk on demand, so a million pins never become a million live objects.
type State struct {
	path string

	// mu guards the db pointer, which Restore swaps. Reads and applies hold it
	// shared for the length of their transaction, Restore and Close hold it
	// exclusively.
	mu sync.RWMutex
	db *bolt.DB

	// bulk fills pages of pins up (BulkLoad).
	bulk atomic.Bool
	// unsynced: commits skip fsync, a marker beside the file says since
	// which boot (state_unsynced.go).
	unsynced bool

	restoreMu sync.Mutex     // one Restore at a time
	retiring  sync.WaitGroup // files replaced by Restore, still closing
}

// OpenState opens or creates the state file at path.
// It fails with ErrStateUnsynced for a file that may have lost commits in
// a crash of the machine.
func OpenState(path string) (*State, error) {
	removeStaleRestores(path)
	// Before bbolt reads a page of it: a torn file can fail to open, or
	// open and then fault.
	if err := CheckUnsynced(path); err != nil {
		return nil, err
	}
	db, err := openStateDB(path)
	if err != nil {
		return nil, err
	}
	s := &State{path: path, db: db}
	if boot := currentBoot(); boot != "" {
		if err := markUnsynced(path, boot); err != nil {
			db.Close()
			return nil, err
		}
		s.unsynced = true
		db.NoSync = true
	}
	return s, nil
}

func openStateDB(path string) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, boltOptions(false))
	if err != nil {
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		switch v := meta.Get(keyFormat); {
		case v == nil:
			if err := meta.Put(keyFormat, u64(stateFormat)); err != nil {
				return err
			}
		case readU64(v) != stateFormat:
			return fmt.Errorf("state format %d is not supported (this build reads %d)", readU64(v), stateFormat)
		}
		for _, name := range [][]byte{bucketPins, bucketPeers, bucketExpiry, bucketRecentOps} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return repairExpiryIndex(tx)
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	return db, nil
}

// removeStaleRestores deletes temp files that a Restore interrupted by a
// crash left beside the state file.
func removeStaleRestores(path string) {
	stale, _ := filepath.Glob(path + restoreSuffix + "*")
	for _, f := range stale {
		os.Remove(f)
	}
}

// Close closes the file. It waits for open transactions, including a
// snapshot that is still streaming, on this file and on any that Restore
// replaced.
func (s *State) Close() error {
	s.mu.Lock()
	var err error
	if s.db != nil {
		if s.unsynced {
			err = s.db.Sync()
		}
		err = errors.Join(err, s.db.Close())
		if err == nil && s.unsynced {
			err = ClearUnsynced(s.path)
		}
		s.db = nil
	}
	s.mu.Unlock()
	s.retiring.Wait()
	return err
}

// view runs fn in a read transaction. fn must not call back into State: a
// Restore waiting for the lock would make the nested call wait forever.
func (s *State) view(fn func(tx *bolt.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return ErrClosed
	}
	return s.db.View(fn)
}

// BulkLoad sets up the file for a one-time load in CID order (an import
// into a temporary file, only used once complete), or back for normal
// use: no fsync at each commit (Sync then writes all of it out at once),
// and pages of pins filled up, since no insert will come between them.
func (s *State) BulkLoad(on bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db != nil {
		s.db.NoSync = on || s.unsynced
	}
	s.bulk.Store(on)
}

// Sync flushes the file to disk.
func (s *State) Sync() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return ErrClosed
	}
	return s.db.Sync()
}

// AppliedIndex is the Raft index of the last command applied to this file.
func (s *State) AppliedIndex() (uint64, error) {
	var idx uint64
	err := s.view(func(tx *bolt.Tx) error {
		idx = readU64(tx.Bucket(bucketMeta).Get(keyApplied))
		return nil
	})
	return idx, err
}

// Get returns the pin for c, or ErrNotFound.
func (s *State) Get(c cid.Cid) (Pin, error) {
	if !c.Defined() {
		return Pin{}, ErrNotFound
	}
	var p Pin
	err := s.view(func(tx *bolt.Tx) error {
		key := []byte(c.KeyString())
		v := tx.Bucket(bucketPins).Get(key)
		if v == nil {
			return ErrNotFound
		}
		var err error
		p, err = decodePinValue(key, v)
		return err
	})
	return p, err
}

// ForEach streams every pin in key order from one read transaction, so the
// caller sees a consistent pinset. fn's error stops the scan and is returned.
// fn runs inside the transaction: it must not call back into State, and a
// slow fn keeps the transaction (and its pages) alive. Use ForEachFrom for
// scans that do real work per pin.
func (s *State) ForEach(fn func(Pin) error) error {
	return s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketPins).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			p, err := decodePinValue(k, v)
			if err != nil {
				return err
			}
			if err := fn(p); err != nil {
				return err
			}
		}
		return nil
	})
}

// ForEachFrom reads up to limit pins whose key follows after (all pins from
// the start when after is undefined), closes the transaction, and only then
// calls fn on each: fn may take its time and may call back into State. It
// returns the CID of the last pin fn accepted, which is the next call's
// after; cid.Undef means there was nothing left. Pages are each consistent,
// but pins may change between pages. limit must be positive.
func (s *State) ForEachFrom(after cid.Cid, limit int, fn func(Pin) error) (cid.Cid, error) {
	if limit <= 0 {
		return cid.Undef, fmt.Errorf("storage: ForEachFrom limit %d must be positive", limit)
	}
	page := pinPages.get(limit)
	defer func() { pinPages.put(page) }()
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketPins).Cursor()
		k, v := seekAfter(c, after)
		for ; k != nil && len(page) < limit; k, v = c.Next() {
			p, err := decodePinValue(k, v)
			if err != nil {
				return err
			}
			page = append(page, p)
		}
		return nil
	})
	if err != nil {
		return cid.Undef, err
	}
	return deliver(page, func(p *Pin) cid.Cid { return p.Cid }, fn)
}

// seekAfter positions c on the first key strictly after the CID's bytes.
func seekAfter(c *bolt.Cursor, after cid.Cid) (k, v []byte) {
	if !after.Defined() {
		return c.First()
	}
	start := []byte(after.KeyString())
	k, v = c.Seek(start)
	if k != nil && bytes.Equal(k, start) {
		k, v = c.Next()
	}
	return k, v
}

// Count is the number of pins, from a counter that Apply maintains in the same
// transaction as the pins, so it costs one read whatever the pinset's size.
func (s *State) Count() (int, error) {
	var n uint64
	err := s.view(func(tx *bolt.Tx) error {
		n = readU64(tx.Bucket(bucketMeta).Get(keyPinCount))
		return nil
	})
	return int(n), err
}

// Peers returns every peer, ordered by ID.
func (s *State) Peers() ([]Peer, error) {
	var peers []Peer
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPeers).ForEach(func(_, v []byte) error {
			p, err := decodePeerValue(v)
			if err != nil {
				return err
			}
			peers = append(peers, p)
			return nil
		})
	})
	return peers, err
}

// Peer returns one peer, or ErrPeerNotFound.
func (s *State) Peer(id string) (Peer, error) {
	var p Peer
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketPeers).Get([]byte(id))
		if v == nil {
			return ErrPeerNotFound
		}
		var err error
		p, err = decodePeerValue(v)
		return err
	})
	return p, err
}

func u64(n uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, n)
}

// readU64 reads a counter; an absent key is zero.
func readU64(v []byte) uint64 {
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}
