package raftstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/hashicorp/raft-wal/migrate"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/internal/durable"
)

// copyBatchBytes bounds the entries each append of the copy carries.
const copyBatchBytes = 4 << 20

// moveBoltLog moves an older build's raft.db in the raft folder dir into the
// WAL, once. The WAL is filled in a folder of its own, made durable, and
// renamed into place only when whole; raft.db, never written to, is set
// aside after that. A crash at any point leaves either raft.db alone (the
// next start copies it again from the beginning) or a whole WAL beside
// raft.db (the next start sets raft.db aside).
func moveBoltLog(dir string, hlog hclog.Logger, log zerolog.Logger) error {
	boltPath := filepath.Join(dir, BoltFile)
	if ok, err := exists(boltPath); !ok || err != nil {
		return err
	}
	walDir := filepath.Join(dir, WALDir)
	if ok, err := exists(walDir); ok || err != nil {
		if err != nil {
			return err
		}
		// Either a move that a crash cut short after the rename, or an
		// earlier build started on this folder after the move (it makes
		// an empty raft.db): the WAL is the log either way.
		moved, err := setAside(dir)
		log.Warn().Err(err).Str("path", boltPath).Str("kept_as", moved).
			Msg("raft.db beside the WAL, which holds the raft log: a move cut short, or an earlier build started on this folder; setting raft.db aside")
		return err
	}

	start := time.Now()
	tmp := filepath.Join(dir, migratingDir)
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	src, err := openBolt(boltPath, lockTimeout)
	if err != nil {
		return err
	}
	n, err := copyIntoWAL(src, tmp, hlog)
	// raft.db is closed before it is set aside, and only once.
	if cerr := src.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, walDir)
	}
	if err == nil {
		err = durable.SyncDir(dir)
	}
	if err != nil {
		return err
	}
	moved, err := setAside(dir)
	if err != nil {
		return err
	}
	log.Info().Uint64("entries", n).Str("took", time.Since(start).Round(time.Millisecond).String()).Str("from", boltPath).Str("to", walDir).
		Str("kept_as", moved).Msg("moved the raft log into the WAL")
	return nil
}

// copyIntoWAL copies src into a new WAL in the folder tmp and makes it
// durable there.
func copyIntoWAL(src Store, tmp string, hlog hclog.Logger) (uint64, error) {
	dst, err := openWAL(tmp, hlog, lockTimeout)
	if err != nil {
		return 0, err
	}
	n, err := Copy(dst, src)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = durable.SyncDir(tmp)
	}
	return n, err
}

// setAside renames raft.db to MovedBoltFile, or beside it when a move
// before already left one there, and returns the new path.
func setAside(dir string) (string, error) {
	to := filepath.Join(dir, MovedBoltFile)
	if ok, err := exists(to); err != nil {
		return "", err
	} else if ok {
		to += "." + time.Now().UTC().Format("20060102T150405.000000000")
	}
	if err := os.Rename(filepath.Join(dir, BoltFile), to); err != nil {
		return "", err
	}
	return to, durable.SyncDir(dir)
}

// stableKeys are everything hashicorp/raft keeps in its stable store: the
// current term, and the term and candidate of its last vote. Losing them
// would let the peer vote twice in one term.
var (
	stableUint64Keys = [][]byte{[]byte("CurrentTerm"), []byte("LastVoteTerm")}
	stableBytesKeys  = [][]byte{[]byte("LastVoteCand")}
)

// Copy copies every entry and the stable store from src into dst, an
// empty store, and checks that dst then holds the same range. It returns
// the number of entries copied. Tests use it to write an older build's log.
func Copy(dst, src Store) (uint64, error) {
	first, last, err := Range(src)
	if err != nil {
		return 0, err
	}
	if last > 0 {
		if err := migrate.CopyLogs(context.Background(), dst, src, copyBatchBytes, nil); err != nil {
			return 0, err
		}
	}
	// A key a peer never wrote (a follower that never voted) stays unset:
	// both stores then answer it as raft expects of an unset key. The two
	// stores encode integers differently: they are copied as integers.
	for _, k := range stableUint64Keys {
		if err := copyKey(k, src.GetUint64, dst.SetUint64); err != nil {
			return 0, err
		}
	}
	for _, k := range stableBytesKeys {
		if err := copyKey(k, src.Get, dst.Set); err != nil {
			return 0, err
		}
	}
	gotFirst, gotLast, err := Range(dst)
	if err != nil {
		return 0, err
	}
	if gotFirst != first || gotLast != last {
		return 0, fmt.Errorf("the copy holds entries %d to %d, the original %d to %d", gotFirst, gotLast, first, last)
	}
	if last == 0 {
		return 0, nil
	}
	return last - first + 1, nil
}

// Range is the first and last index of the log; 0, 0 when it is empty.
func Range(s raft.LogStore) (first, last uint64, err error) {
	if first, err = s.FirstIndex(); err == nil {
		last, err = s.LastIndex()
	}
	return first, last, err
}

func copyKey[V any](k []byte, get func([]byte) (V, error), set func([]byte, V) error) error {
	v, err := get(k)
	if errors.Is(err, raftboltdb.ErrKeyNotFound) {
		return nil
	}
	if err == nil {
		err = set(k, v)
	}
	if err != nil {
		return fmt.Errorf("stable store key %s: %w", k, err)
	}
	return nil
}
