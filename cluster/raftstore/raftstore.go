// Package raftstore opens a peer's Raft log and stable store (its term and
// vote): hashicorp/raft-wal in raft/wal/, which makes an append durable
// with one fsync where raft-boltdb's commit took two (data pages, then the
// meta page), and is what Consul runs as its log store. A peer of an older
// build kept its log in raft-boltdb's raft/raft.db: the daemon moves it into
// the WAL once, at its first start (migrate.go); the offline tools read a
// stopped peer's log in either format.
package raftstore

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"

	"github.com/flotilla-ipfs/flotilla/storage"
)

const (
	// WALDir is the WAL's folder inside the raft folder: its segment files
	// and wal-meta.db, a small bbolt file that lists the segments and holds
	// the stable store.
	WALDir = "wal"
	// BoltFile is the log of a peer of an older build (raft-boltdb/v2).
	BoltFile = "raft.db"
	// MovedBoltFile is where BoltFile goes once its content is in the
	// WAL: kept, not deleted, for an operator who wants to look back.
	MovedBoltFile = "raft.db.migrated"
	// migratingDir is the WAL being filled from BoltFile. It takes
	// WALDir's name only once whole.
	migratingDir = "wal.migrating"

	// lockTimeout is how long the daemon waits for a log another process
	// holds (an offline tool).
	lockTimeout = 5 * time.Second
)

// Store is a Raft log store and stable store in one, either format.
type Store interface {
	raft.LogStore
	raft.StableStore
	io.Closer
}

var (
	_ Store = (*wal.WAL)(nil)
	_ Store = (*raftboltdb.BoltStore)(nil)
)

// Exists reports whether the raft folder dir holds a log, of either format.
func Exists(dir string) (bool, error) {
	for _, name := range []string{WALDir, BoltFile} {
		ok, err := exists(filepath.Join(dir, name))
		if ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// Open opens the daemon's log in the raft folder dir: the WAL, created when
// there is none, after moving an older build's raft.db into it.
func Open(dir string, hlog hclog.Logger, log zerolog.Logger) (Store, error) {
	if err := moveBoltLog(dir, hlog, log); err != nil {
		return nil, fmt.Errorf("move the raft log from %s into %s: %w", filepath.Join(dir, BoltFile), filepath.Join(dir, WALDir), err)
	}
	return openWAL(filepath.Join(dir, WALDir), hlog, lockTimeout)
}

// OpenStopped opens the log that a stopped peer left in the raft folder dir,
// whichever format it is in, or returns nil when there is none. It fails
// with storage.ErrInUse when a process still holds it after timeout.
//
// raft.db is opened read-only. The WAL has no read-only mode: opening it
// recovers its last segment as the daemon's next start would, which reads
// it and writes nothing to it (and deletes segment files the WAL no longer
// lists).
func OpenStopped(dir string, timeout time.Duration) (Store, error) {
	// A whole WAL beside raft.db is a move that a crash interrupted before
	// raft.db was set aside: the WAL is the newer.
	walDir := filepath.Join(dir, WALDir)
	if ok, err := exists(walDir); ok || err != nil {
		if err != nil {
			return nil, err
		}
		return openWAL(walDir, hclog.NewNullLogger(), timeout)
	}
	boltPath := filepath.Join(dir, BoltFile)
	if ok, err := exists(boltPath); !ok || err != nil {
		return nil, err
	}
	return openBolt(boltPath, timeout)
}

func openWAL(dir string, hlog hclog.Logger, timeout time.Duration) (*wal.WAL, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := storage.CheckFree(filepath.Join(dir, metadb.FileName), timeout); err != nil {
		return nil, err
	}
	w, err := wal.Open(dir, wal.WithLogger(hlog))
	if err != nil {
		return nil, fmt.Errorf("open raft log %s: %w", dir, err)
	}
	return w, nil
}

// openBolt opens an older build's raft.db read-only: it is only ever read
// from now on.
func openBolt(path string, timeout time.Duration) (*raftboltdb.BoltStore, error) {
	s, err := raftboltdb.New(raftboltdb.Options{
		Path:        path,
		BoltOptions: &bolt.Options{Timeout: timeout, ReadOnly: true},
	})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("%s: %w", path, storage.ErrInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("open raft log %s: %w", path, err)
	}
	return s, nil
}

func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
