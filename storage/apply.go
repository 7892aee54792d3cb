package storage

import (
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Change tells local watchers what an applied command did.
type Change struct {
	Kind OpKind // OpPin or OpUnpin
	Pin  Pin    // the new pin (OpPin) or the removed pin (OpUnpin)
	// Prev is the pin an OpPin replaced, nil for a new one: watchers need
	// it to tell a changed mode from a renamed or re-allocated pin.
	Prev *Pin
}

// ErrInvalidCommand marks a command that decodes but that Apply refuses, such
// as a pin without a CID. Every peer refuses it the same way, so it is an
// answer for the proposer, not a reason to stop the node.
var ErrInvalidCommand = errors.New("storage: invalid command")

// ErrAlreadyApplied answers an entry at or below the state's applied index:
// it changed nothing. After a restart that is a replay; for a new proposal
// it means the Raft log restarted below the state, and the entry was lost.
var ErrAlreadyApplied = errors.New("storage: raft index already applied to the state; entry skipped")

// entry is one command at its Raft index, checked once: refused is why
// every peer refuses it, if it is refused.
type entry struct {
	index   uint64
	cmd     *Command
	refused error
}

func newEntry(index uint64, c *Command) entry { return entry{index, c, validate(c)} }

// result is what one entry did: its changes, or why it was refused.
type result struct {
	changes []Change
	err     error // wraps ErrInvalidCommand
}

// Apply applies c at Raft index in one write transaction that also records
// the index. It returns ErrInvalidCommand (wrapped) for a command it refuses,
// and any other error for a storage failure.
//
// An index at or below the applied index is skipped with ErrAlreadyApplied
// and no changes: the file survives restarts, and Raft replays the log from
// its last snapshot, which may be older than the file. Index 0 is never skipped and
// never recorded, for callers outside Raft.
func (s *State) Apply(index uint64, c Command) ([]Change, error) {
	res, err := s.applyEntries([]entry{newEntry(index, &c)})
	if err != nil {
		return nil, err
	}
	return res[0].changes, res[0].err
}

// applyEntries applies consecutive entries in one transaction, so a Raft
// batch costs one fsync. A refused entry changes nothing and does not stop
// the others. The error is a storage failure, and then nothing was applied.
func (s *State) applyEntries(es []entry) ([]result, error) {
	res := make([]result, len(es))
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return nil, ErrClosed
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		pins := tx.Bucket(bucketPins)
		if s.bulk.Load() {
			pins.FillPercent = 1
		}
		a := applier{
			pins:   pins,
			peers:  tx.Bucket(bucketPeers),
			expiry: tx.Bucket(bucketExpiry),
			count:  readU64(meta.Get(keyPinCount)),
		}
		applied := readU64(meta.Get(keyApplied))
		for i, e := range es {
			// A memory per entry: its pruning then depends on the entry
			// alone, never on which entries a peer happened to apply in
			// the same batch, so every peer prunes alike.
			a.recent = &recentOps{b: tx.Bucket(bucketRecentOps)}
			if e.index == 0 {
				a.recent = nil
			}
			if e.index != 0 && e.index <= applied {
				res[i].err = ErrAlreadyApplied
				continue
			}
			res[i].err = e.refused
			if e.refused == nil {
				changes, err := a.apply(e.cmd)
				if err != nil {
					return fmt.Errorf("apply index %d: %w", e.index, err)
				}
				res[i].changes = changes
			}
			applied = max(applied, e.index)
		}
		if err := meta.Put(keyApplied, u64(applied)); err != nil {
			return err
		}
		return meta.Put(keyPinCount, u64(a.count))
	})
	if err != nil {
		// A failed transaction wrote nothing: forget what the entries said.
		return nil, err
	}
	return res, nil
}

// ValidateOps is what Apply checks of a CmdPinBatch's ops. A batch whose
// ops all pass is never refused, so a proposer that checks its ops first
// knows the outcome of its entry once it commits, before the apply.
func ValidateOps(ops []Op) error {
	for i := range ops {
		op := &ops[i]
		if !op.Pin.Cid.Defined() {
			return fmt.Errorf("%w: op %d has no cid", ErrInvalidCommand, i)
		}
		switch op.Kind {
		case OpPin:
			if op.Pin.Mode != Recursive && op.Pin.Mode != Direct {
				return fmt.Errorf("%w: pin %s has mode %d", ErrInvalidCommand, op.Pin.Cid, op.Pin.Mode)
			}
		case OpUnpin:
		default:
			return fmt.Errorf("%w: op %d has kind %d", ErrInvalidCommand, i, op.Kind)
		}
	}
	return nil
}

// validate checks what the codec cannot: a well-formed command that makes no
// sense. It runs before any write so that a refused command changes nothing.
func validate(c *Command) error {
	switch c.Type {
	case CmdPinBatch:
		return ValidateOps(c.Ops)
	case CmdPeerAdd:
		if c.Peer.ID == "" {
			return fmt.Errorf("%w: peer without id", ErrInvalidCommand)
		}
	case CmdPeerRemove:
		if c.PeerID == "" {
			return fmt.Errorf("%w: peer remove without id", ErrInvalidCommand)
		}
	default:
		return fmt.Errorf("%w: type %d", ErrInvalidCommand, c.Type)
	}
	return nil
}

// applier writes validated commands inside one transaction and keeps the
// pin counter in step.
type applier struct {
	pins, peers, expiry *bolt.Bucket
	count               uint64
	// recent remembers the ops applied lately, so that a retried one is
	// recognised; nil outside Raft (index 0), where nothing is retried.
	recent *recentOps
}

func (a *applier) apply(c *Command) ([]Change, error) {
	switch c.Type {
	case CmdPeerAdd:
		return nil, a.peers.Put([]byte(c.Peer.ID), encodePeerValue(&c.Peer))
	case CmdPeerRemove:
		return nil, a.peers.Delete([]byte(c.PeerID))
	}
	changes := make([]Change, 0, len(c.Ops))
	for i := range c.Ops {
		op := &c.Ops[i]
		// The stored pin is encoded once, for the memory of applied ops and
		// for the pins bucket. bbolt keeps the key and value slices until
		// commit, so each Put gets its own.
		var value []byte
		if op.Kind == OpPin {
			value = encodePinValue(&op.Pin)
		}
		first, err := a.recent.firstTime(op, value)
		if err != nil {
			return nil, err
		}
		if !first {
			continue
		}
		key := []byte(op.Pin.Cid.KeyString())
		old := a.pins.Get(key)
		if op.Expect != nil {
			holds, err := expectationHolds(key, old, *op.Expect)
			if err != nil {
				return nil, err
			}
			if !holds {
				continue
			}
		}
		switch op.Kind {
		case OpPin:
			ch := Change{Kind: OpPin, Pin: op.Pin}
			if old != nil {
				// Decode before Put: old is only valid until the bucket changes.
				prev, err := decodePinValue(key, old)
				if err != nil {
					return nil, err
				}
				ch.Prev = &prev
			}
			if err := a.pins.Put(key, value); err != nil {
				return nil, err
			}
			if old == nil {
				a.count++
			}
			if err := a.reindexExpiry(ch.Prev, &op.Pin); err != nil {
				return nil, err
			}
			changes = append(changes, ch)
		case OpUnpin:
			if old == nil {
				continue
			}
			// Decode before Delete: old is only valid until the bucket changes.
			removed, err := decodePinValue(key, old)
			if err != nil {
				return nil, err
			}
			if err := a.pins.Delete(key); err != nil {
				return nil, err
			}
			if err := a.reindexExpiry(&removed, nil); err != nil {
				return nil, err
			}
			a.count--
			changes = append(changes, Change{Kind: OpUnpin, Pin: removed})
		}
	}
	return changes, a.recent.prune()
}

// reindexExpiry moves a pin's entry in the expiry index from its old expiry
// to its new one; nil or a zero expiry means no entry.
func (a *applier) reindexExpiry(old, cur *Pin) error {
	if old != nil && !old.ExpireAt.IsZero() {
		if err := a.expiry.Delete(expiryKey(old)); err != nil {
			return err
		}
	}
	if cur != nil && !cur.ExpireAt.IsZero() {
		return a.expiry.Put(expiryKey(cur), nil)
	}
	return nil
}

// expectationHolds reports whether the stored pin (old, nil when absent)
// is still the version a conditional op was proposed against. An absent
// pin never matches: a conditional write must not bring back a pin that
// was removed.
func expectationHolds(key, old []byte, expect time.Time) (bool, error) {
	if old == nil {
		return false, nil
	}
	cur, err := decodePinValue(key, old)
	if err != nil {
		return false, err
	}
	return cur.Timestamp.Equal(expect), nil
}
