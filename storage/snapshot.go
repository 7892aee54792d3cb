package storage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"

	"github.com/flotilla-ipfs/flotilla/internal/durable"
)

// restoreSuffix names the temp files of Restore, so that OpenState can find
// the ones a crash left behind.
const restoreSuffix = ".restore-"

// WriteSnapshot streams the whole file as of one read transaction. The
// result is itself a valid state file, which is what Restore expects.
func (s *State) WriteSnapshot(w io.Writer) error {
	tx, err := s.beginSnapshot()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	_, err = tx.WriteTo(w)
	return err
}

// beginSnapshot opens the read transaction that a snapshot streams from. It
// holds the lock only to start it: the transaction itself keeps its file's
// pages alive, even after Restore replaced that file, and Close waits for it.
func (s *State) beginSnapshot() (*bolt.Tx, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return nil, ErrClosed
	}
	return s.db.Begin(false)
}

// Restore replaces the whole state with a snapshot written by WriteSnapshot.
// The snapshot is written and fsynced beside the file and checked before the
// current file is touched, so a bad snapshot leaves the state as it was.
// Readers wait while the file is swapped and then read the new state.
//
// The old file is renamed over while still open, and closed in the
// background once its last transaction ends. Closing it first would wait for
// any snapshot still being persisted, and Raft's snapshot goroutine can be
// waiting on Raft's main loop, which waits on this Restore: a deadlock. This
// relies on POSIX rename semantics (the open file keeps its inode).
func (s *State) Restore(r io.Reader) error {
	s.restoreMu.Lock()
	defer s.restoreMu.Unlock()

	tmp, err := s.writeTemp(r)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // a no-op once renamed
	if err := checkStateFile(tmp); err != nil {
		return err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db == nil {
		return ErrClosed
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("restore: %w", err) // the old file is still in place and open
	}
	s.retire(s.db)
	s.db = nil
	syncErr := durable.SyncDir(filepath.Dir(s.path))
	db, err := openStateDB(s.path)
	if err != nil {
		return fmt.Errorf("restore: reopen state: %w", errors.Join(err, syncErr))
	}
	db.NoSync = s.unsynced
	s.db = db
	if syncErr != nil {
		return fmt.Errorf("restore: state replaced, but the rename may not survive a crash: %w", syncErr)
	}
	return nil
}

// retire closes a replaced db once its open transactions end, without
// making the caller wait for them.
func (s *State) retire(db *bolt.DB) {
	s.retiring.Add(1)
	go func() {
		defer s.retiring.Done()
		db.Close()
	}()
}

func (s *State) writeTemp(r io.Reader) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(s.path), filepath.Base(s.path)+restoreSuffix+"*")
	if err != nil {
		return "", fmt.Errorf("restore: %w", err)
	}
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("restore: write snapshot: %w", err)
	}
	return f.Name(), nil
}

// checkStateFile opens path read-only and checks that it is a state file of
// a format this build reads, with every bucket present.
func checkStateFile(path string) error {
	opts := boltOptions(true)
	opts.InitialMmapSize = 0
	db, err := bolt.Open(path, 0o600, opts)
	if err != nil {
		return fmt.Errorf("restore: snapshot is not a state file: %w", err)
	}
	defer db.Close()
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return db.View(func(tx *bolt.Tx) error {
		// bbolt checks the meta pages only. Touching a page past the end of a
		// truncated file would be a SIGBUS, which no recover catches.
		if tx.Size() > info.Size() {
			return fmt.Errorf("restore: snapshot is truncated: %d bytes of %d", info.Size(), tx.Size())
		}
		for _, name := range [][]byte{bucketMeta, bucketPins, bucketPeers, bucketExpiry} {
			if tx.Bucket(name) == nil {
				return fmt.Errorf("restore: snapshot has no %q bucket", name)
			}
		}
		if f := readU64(tx.Bucket(bucketMeta).Get(keyFormat)); f != stateFormat {
			return fmt.Errorf("restore: snapshot format %d is not supported (this build reads %d)", f, stateFormat)
		}
		return nil
	})
}
