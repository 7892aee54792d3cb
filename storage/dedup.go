package storage

import (
	"encoding/binary"
	"hash/fnv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A write whose outcome its proposer could not learn (the leader changed,
// the leader did not answer) is sent again. Without care, the retry could
// land after another client's acknowledged write and undo it: pin, unpin
// by someone else, then the retried pin. Every pin and unpin a client makes
// carries its proposer's timestamp, decided once before the first attempt;
// the state remembers the (timestamp, CID, content) of the ops applied in the last
// dedupWindow, and applies an op it has already applied no second time.
//
// The memory is pruned by the ops' own timestamps, so every peer prunes
// alike: it is part of the replicated state, and a snapshot carries it.
// An op with no timestamp, a conditional op (the leader's own, which
// carries the pin's timestamp unchanged), and an op outside Raft (index 0:
// offline import) are not remembered.

var bucketRecentOps = []byte("recent_ops")

const (
	// dedupWindow is how long an applied op is remembered: far longer than
	// a proposer retries (commitRetryWindow and the request timeouts).
	dedupWindow = 10 * time.Minute
	// maxPrunePerEntry bounds the pruning work of one entry.
	maxPrunePerEntry = 1024
)

// recentOps is the memory of applied ops, keyed by (timestamp, CID) so
// that pruning reads the oldest first.
type recentOps struct {
	b      *bolt.Bucket
	newest uint64 // the latest timestamp of the entry being applied
}

// recentKey is the op's timestamp, its CID and a hash of the whole op: a
// retry is the same op byte for byte, while two different writes that
// happen to share a timestamp are not mistaken for one.
func recentKey(op *Op, value []byte) []byte {
	h := fnv.New64a()
	h.Write([]byte{byte(op.Kind)})
	h.Write(value)
	k := make([]byte, 8, 16+len(op.Pin.Cid.KeyString()))
	binary.BigEndian.PutUint64(k, expiryNanos(op.Pin.Timestamp))
	k = append(k, op.Pin.Cid.KeyString()...)
	return binary.BigEndian.AppendUint64(k, h.Sum64())
}

// firstTime reports whether op has not been applied before, and remembers
// it when it has not. value is the op's stored pin (nil for an unpin).
func (r *recentOps) firstTime(op *Op, value []byte) (bool, error) {
	if r == nil || op.Expect != nil || op.Pin.Timestamp.IsZero() {
		return true, nil
	}
	k := recentKey(op, value)
	if r.b.Get(k) != nil {
		return false, nil
	}
	r.newest = max(r.newest, binary.BigEndian.Uint64(k[:8]))
	return true, r.b.Put(k, nil)
}

// prune forgets the ops older than the window before the newest one seen,
// at most maxPrunePerEntry of them at a time.
func (r *recentOps) prune() error {
	if r == nil || r.newest < uint64(dedupWindow) {
		return nil
	}
	bound := r.newest - uint64(dedupWindow)
	c := r.b.Cursor()
	for range maxPrunePerEntry {
		k, _ := c.First()
		if k == nil || len(k) < 8 || binary.BigEndian.Uint64(k[:8]) >= bound {
			return nil
		}
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}
