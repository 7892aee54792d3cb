package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/ipfs/go-cid"
	bolt "go.etcd.io/bbolt"
)

// The expiry index keys pins by (expire_at, cid), so that finding the
// expired ones reads only them. The time is big-endian Unix nanoseconds,
// clamped to what an int64 holds: a time before 1970 is 0, and one after
// 2262 (where UnixNano overflows) sorts last, as math.MaxUint64. A clamped
// key only orders; whether a pin has expired is always decided on the pin.

// latestNanoTime is the last instant UnixNano can represent.
var latestNanoTime = time.Unix(0, math.MaxInt64)

func expiryNanos(t time.Time) uint64 {
	switch {
	case t.After(latestNanoTime):
		return math.MaxUint64
	case t.Before(time.Unix(0, 0)):
		return 0
	}
	return uint64(t.UnixNano())
}

// expiryKey sorts by expiry first, then by CID.
func expiryKey(p *Pin) []byte {
	return timeKey(p.ExpireAt, []byte(p.Cid.KeyString()))
}

// timeKey is the key of an index by (time, cid): the clamped nanoseconds
// of t, big-endian, then the binary CID.
func timeKey(t time.Time, cidKey []byte) []byte {
	k := make([]byte, 8, 8+len(cidKey))
	binary.BigEndian.PutUint64(k, expiryNanos(t))
	return append(k, cidKey...)
}

// Expired returns up to limit CIDs of pins whose expiry is at or before
// now, soonest first. It reads the expiry index, not the pinset, and checks
// each candidate against its pin, so that an index entry that does not
// match its pin never makes a pin look expired.
func (s *State) Expired(now time.Time, limit int) ([]cid.Cid, error) {
	var out []cid.Cid
	err := s.view(func(tx *bolt.Tx) error {
		pins := tx.Bucket(bucketPins)
		c := tx.Bucket(bucketExpiry).Cursor()
		end := expiryNanos(now)
		for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
			if len(k) < 8 || binary.BigEndian.Uint64(k[:8]) > end {
				break
			}
			p, ok, err := pinOf(pins, k[8:])
			if err != nil {
				return err
			}
			if ok && !p.ExpireAt.IsZero() && !p.ExpireAt.After(now) {
				out = append(out, p.Cid)
			}
		}
		return nil
	})
	return out, err
}

func pinOf(pins *bolt.Bucket, key []byte) (Pin, bool, error) {
	v := pins.Get(key)
	if v == nil {
		return Pin{}, false, nil
	}
	p, err := decodePinValue(key, v)
	if err != nil {
		return Pin{}, false, fmt.Errorf("%w: expiry index: %v", ErrCorruptState, err)
	}
	return p, true, nil
}

// repairExpiryIndex rewrites the entries that do not match their pin.
// Builds before the clamp wrote key 0 for expiries after 2262, which put
// those pins first in line; opening a state file (or a restored snapshot)
// puts them back where they belong.
// It runs once per file: the meta key keyExpiryRepaired records that it did.
func repairExpiryIndex(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta.Get(keyExpiryRepaired) != nil {
		return nil
	}
	pins, idx := tx.Bucket(bucketPins), tx.Bucket(bucketExpiry)
	var stale, fresh [][]byte
	err := idx.ForEach(func(k, _ []byte) error {
		if len(k) < 8 {
			stale = append(stale, bytes.Clone(k))
			return nil
		}
		p, ok, err := pinOf(pins, k[8:])
		if err != nil {
			return err
		}
		if !ok || p.ExpireAt.IsZero() {
			stale = append(stale, bytes.Clone(k))
		} else if want := expiryKey(&p); !bytes.Equal(want, k) {
			stale, fresh = append(stale, bytes.Clone(k)), append(fresh, want)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range stale {
		if err := idx.Delete(k); err != nil {
			return err
		}
	}
	for _, k := range fresh {
		if err := idx.Put(k, nil); err != nil {
			return err
		}
	}
	return meta.Put(keyExpiryRepaired, u64(1))
}
