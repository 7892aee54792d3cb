package storage

import (
	"encoding/binary"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestAPinThatExpiresAfter2262IsNotExpiredNow(t *testing.T) {
	s := openTestState(t)
	now := time.Now()
	far, soon := smallPin(1), smallPin(2)
	far.ExpireAt = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	soon.ExpireAt = now.Add(-time.Second)
	mustApply(t, s, 1, pinCmd(far, soon))
	got, err := s.Expired(now, 10)
	if err != nil || len(got) != 1 || !got[0].Equals(soon.Cid) {
		t.Fatalf("expired now = %v, %v; want only the pin that expired a second ago", got, err)
	}
	got, _ = s.Expired(time.Date(3000, 1, 1, 0, 0, 1, 0, time.UTC), 10)
	if len(got) != 2 {
		t.Fatalf("in the year 3000 both have expired, got %v", got)
	}
	if got, _ := s.Expired(time.Date(2999, 12, 31, 0, 0, 0, 0, time.UTC), 10); len(got) != 1 {
		t.Fatalf("on the eve of 3000 only one has expired, got %v", got)
	}
}

func TestAnExpiryIndexWrittenByAnOlderBuildIsRepairedOnOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := OpenState(path)
	if err != nil {
		t.Fatal(err)
	}
	far := smallPin(1)
	far.ExpireAt = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	mustApply(t, s, 1, pinCmd(far))
	s.Close()
	// What builds before the clamp wrote: the key overflowed to 0, and the
	// file was not yet marked as repaired.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		idx := tx.Bucket(bucketExpiry)
		if err := idx.Delete(expiryKey(&far)); err != nil {
			return err
		}
		bad := binary.BigEndian.AppendUint64(nil, 0)
		if err := idx.Put(append(bad, far.Cid.KeyString()...), nil); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Delete(keyExpiryRepaired)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err = OpenState(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, _ := s.Expired(time.Now(), 10); len(got) != 0 {
		t.Fatalf("a pin expiring in 3000 is reported expired: %v", got)
	}
	var keys int
	s.view(func(tx *bolt.Tx) error {
		keys = tx.Bucket(bucketExpiry).Stats().KeyN
		k, _ := tx.Bucket(bucketExpiry).Cursor().First()
		if binary.BigEndian.Uint64(k[:8]) == 0 {
			t.Error("the overflowed key is still in the index")
		}
		return nil
	})
	if keys != 1 {
		t.Fatalf("the index holds %d keys, want 1", keys)
	}
}
