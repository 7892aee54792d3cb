package storage

import (
	"fmt"

	"github.com/ipfs/go-cid"
	bolt "go.etcd.io/bbolt"
)

// PinAllocation is whether one peer must hold a pin (Pin.AllocatedTo): all
// that a peer's own status listing needs of its pinset.
type PinAllocation struct {
	Cid       cid.Cid
	Allocated bool
}

var allocationPages pagePool[PinAllocation]

// AllocationsFrom is ForEachFrom for that listing: it reads whether each
// pin is allocated to peerID from the stored bytes, without decoding the
// pins.
func (s *State) AllocationsFrom(after cid.Cid, limit int, peerID string, fn func(PinAllocation) error) (cid.Cid, error) {
	if limit <= 0 {
		return cid.Undef, fmt.Errorf("storage: AllocationsFrom limit %d must be positive", limit)
	}
	page := allocationPages.get(limit)
	defer func() { allocationPages.put(page) }()
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketPins).Cursor()
		for k, v := seekAfter(c, after); k != nil && len(page) < limit; k, v = c.Next() {
			ci, err := cid.Cast(k)
			if err != nil {
				return fmt.Errorf("%w: pin key: %v", ErrCorruptState, err)
			}
			allocated, err := pinAllocatedTo(v, peerID)
			if err != nil {
				return fmt.Errorf("pin %s: %w", ci, err)
			}
			page = append(page, PinAllocation{Cid: ci, Allocated: allocated})
		}
		return nil
	})
	if err != nil {
		return cid.Undef, err
	}
	return deliver(page, func(a *PinAllocation) cid.Cid { return a.Cid }, fn)
}

// pinAllocatedTo is Pin.AllocatedTo read from an encoded pin: the fields
// before the allocations are skipped, the allocations compared in place.
func pinAllocatedTo(v []byte, peerID string) (bool, error) {
	d := decoder{b: v, corrupt: ErrCorruptState}
	if ver := d.byte(); d.err == nil && ver != valueVersion {
		return false, fmt.Errorf("%w: pin value version %d", ErrCorruptState, ver)
	}
	flags := d.uvarint()
	d.raw()  // name
	d.byte() // mode
	everywhere := d.int() == -1
	everywhere = d.int() == -1 && everywhere
	if d.err != nil || everywhere {
		return everywhere, d.err
	}
	if flags&pinHasAllocations != 0 {
		for n := d.count(1); n > 0 && d.err == nil; n-- {
			if string(d.raw()) == peerID {
				return d.err == nil, d.err
			}
		}
	}
	return false, d.err
}
