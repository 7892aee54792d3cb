package storage

import (
	"fmt"

	"github.com/ipfs/go-cid"
	bolt "go.etcd.io/bbolt"
)

// The protected index lists the CID key of every record whose Protected
// flag is set: the uploads received here that Flotilla keeps pinned until
// an allocated peer holds them. The release loop reads only this index, so
// a million pinned records cost it nothing.

// ForEachProtected reads up to limit protected records in CID order,
// starting after the CID after (cid.Undef: from the first), then closes the
// transaction and calls fn on each, so fn may write to the store. It
// returns the CID of the last record fn accepted, the next call's after;
// cid.Undef means there was nothing left. limit must be positive.
func (s *StatusStore) ForEachProtected(after cid.Cid, limit int, fn func(LocalStatus) error) (cid.Cid, error) {
	if limit <= 0 {
		return cid.Undef, fmt.Errorf("storage: ForEachProtected limit %d must be positive", limit)
	}
	var page []LocalStatus
	err := s.db.View(func(tx *bolt.Tx) error {
		records := tx.Bucket(bucketStatus)
		c := tx.Bucket(bucketStatusProt).Cursor()
		for k, _ := seekAfter(c, after); k != nil && len(page) < limit; k, _ = c.Next() {
			st, err := indexedRecord(records, k)
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
