// Package offline reads and replaces the pinset in a stopped peer's data
// folder, for `flotilla state export` and `flotilla state import`. It needs
// no running Node: it opens the files the daemon leaves behind.
//
// The pinset of a peer is spread over three places: state.db (kept in step
// with every applied entry), the Raft snapshots and the Raft log. state.db is
// normally the newest of them, but a crash can leave committed entries in the
// log that it never applied, and a snapshot installed from the leader can be
// newer than it. Export therefore starts from whichever of state.db and the
// latest snapshot is newer and replays the log entries after it, as the
// daemon would on its next start. The log is not replayed into state.db
// itself: an entry past the applied index may be an uncommitted tail that the
// next leader replaces, and state.db must never run ahead of Raft.
//
// Import must survive the next start, which restores the latest snapshot and
// replays the log over it. It writes the new pinset as a snapshot at the last
// index of the log, so that no older entry is replayed over it, and as
// state.db.
package offline

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/flotilla-ipfs/flotilla/internal/folderlock"
	"github.com/flotilla-ipfs/flotilla/storage"
)

const (
	// lockTimeout is how long to wait for a lock the daemon would hold for
	// its whole life: waiting longer would not help.
	lockTimeout = time.Second
	// tempPrefix names the temp folders inside the data folder. They live
	// there, not in /tmp, because they hold a copy of the pinset, which needs
	// the data folder's disk rather than a tmpfs.
	tempPrefix = ".offline-"
)

// importBatchPins is how many pins one transaction of an import writes.
// A variable, so that tests cover several with few pins.
var importBatchPins = 65536

// ErrPeerRunning is returned when the files are locked by a running daemon.
var ErrPeerRunning = errors.New("the data folder is in use: is the daemon running? stop it first")

// Export streams every pin of the peer's state as ndjson. dataDir is <home>/data.
func Export(dataDir string, w io.Writer) (int, error) {
	st, done, err := openCommitted(dataDir)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	n := 0
	err = st.ForEach(func(p storage.Pin) error {
		n++
		return enc.Encode(p)
	})
	if err == nil {
		err = bw.Flush()
	}
	return n, errors.Join(err, done())
}

// PinCount is the number of pins Export would write (0 for a peer that never
// ran), so that an import can refuse to replace a pinset without being told
// to.
func PinCount(dataDir string) (int, error) {
	st, done, err := openCommitted(dataDir)
	if errors.Is(err, errNoState) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := st.Count()
	return n, errors.Join(err, done())
}

var errNoState = errors.New("no peer state")

// openCommitted opens the peer's state as the daemon would see it after
// replaying its log. done closes it and removes any temp copy.
func openCommitted(dataDir string) (*storage.State, func() error, error) {
	rs, err := openRaftFiles(dataDir, folderlock.LockIfPresent)
	if err != nil {
		return nil, nil, err
	}
	st, done, err := openCommittedWith(dataDir, rs)
	if errors.Is(err, errNoState) {
		err = fmt.Errorf("%s holds %w: is it the data folder of a peer that has run?", dataDir, err)
	}
	if err != nil {
		rs.close()
		return nil, nil, err
	}
	return st, func() error { return errors.Join(done(), rs.close()) }, nil
}

func openCommittedWith(dataDir string, rs *raftFiles) (*storage.State, func() error, error) {
	path := filepath.Join(dataDir, "state.db")
	var cur *storage.State
	var applied uint64
	_, err := os.Stat(path)
	if err == nil {
		err = storage.CheckUnsynced(path)
	}
	switch {
	case errors.Is(err, storage.ErrStateUnsynced):
		// Possibly torn by a crash of the machine: not opened at all, and
		// read as if lost, from the snapshot and log, as the daemon will
		// rebuild it. (A daemon running now would have marked it with
		// this boot.)
	case err == nil:
		if err := checkUnlocked(path); err != nil {
			return nil, nil, err
		}
		if cur, err = storage.OpenState(path); err != nil {
			return nil, nil, err
		}
		if applied, err = cur.AppliedIndex(); err != nil {
			cur.Close()
			return nil, nil, err
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, nil, err
	}
	if cur == nil && rs.empty() {
		return nil, nil, errNoState
	}

	base := applied
	useSnapshot := rs.latest != nil && rs.latest.Index > applied
	if useSnapshot {
		base = rs.latest.Index
	}
	pending, err := rs.hasCommands(base)
	if err != nil {
		if cur != nil {
			cur.Close()
		}
		return nil, nil, err
	}
	if cur != nil && !useSnapshot && !pending {
		return cur, cur.Close, nil
	}

	// Build a private copy: state.db itself must not move.
	tmp, err := os.MkdirTemp(dataDir, tempPrefix)
	if err != nil {
		if cur != nil {
			cur.Close()
		}
		return nil, nil, err
	}
	st, err := storage.OpenState(filepath.Join(tmp, "state.db"))
	if err == nil {
		switch {
		case useSnapshot:
			err = rs.restoreLatest(st)
		case cur != nil:
			err = copyState(cur, st)
		}
	}
	if cur != nil {
		err = errors.Join(err, cur.Close())
	}
	if err == nil {
		err = rs.replay(base, st)
	}
	done := func() error {
		var err error
		if st != nil {
			err = st.Close()
		}
		return errors.Join(err, os.RemoveAll(tmp))
	}
	if err != nil {
		return nil, nil, errors.Join(err, done())
	}
	return st, done, nil
}

// copyState copies src into dst through a snapshot stream.
func copyState(src, dst *storage.State) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(src.WriteSnapshot(pw)) }()
	err := dst.Restore(pr)
	pr.CloseWithError(errors.New("restore ended"))
	return err
}

// checkUnlocked fails fast, and says why, when a daemon holds path: bbolt would
// otherwise wait for the lock.
func checkUnlocked(path string) error {
	err := storage.CheckFree(path, lockTimeout)
	if errors.Is(err, storage.ErrInUse) {
		return fmt.Errorf("%s: %w", path, ErrPeerRunning)
	}
	return err
}
