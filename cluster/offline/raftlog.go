package offline

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"

	"github.com/flotilla-ipfs/flotilla/cluster/raftstore"
	"github.com/flotilla-ipfs/flotilla/internal/folderlock"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// raftFiles reads a stopped peer's Raft log, of either format, and its
// snapshots, never changing them. The open log holds off a daemon that
// would start meanwhile.
type raftFiles struct {
	// release lets the data folder's lock go (folderlock): the offline
	// tools hold it from their start to their end, as the daemon does.
	release     func() error
	dir         string
	store       raftstore.Store // nil when the peer has no log
	snaps       *raft.FileSnapshotStore
	latest      *raft.SnapshotMeta // nil when there is no snapshot
	first, last uint64             // the log's range; 0 when empty
}

// openRaftFiles opens dataDir's Raft files under its folder lock, taken by
// lock: folderlock.Lock to write the folder, LockIfPresent to read it.
func openRaftFiles(dataDir string, lock func(string) (func() error, error)) (*raftFiles, error) {
	release, err := lock(dataDir)
	if errors.Is(err, folderlock.ErrHeld) {
		return nil, fmt.Errorf("%s: %w", dataDir, ErrPeerRunning)
	}
	if err != nil {
		return nil, err
	}
	rs := &raftFiles{dir: filepath.Join(dataDir, "raft"), release: release}
	store, err := raftstore.OpenStopped(rs.dir, lockTimeout)
	if errors.Is(err, storage.ErrInUse) {
		rs.close()
		return nil, fmt.Errorf("%s: %w", rs.dir, ErrPeerRunning)
	}
	if err != nil {
		rs.close()
		return nil, err
	}
	rs.store = store
	if rs.store != nil {
		if rs.first, rs.last, err = raftstore.Range(rs.store); err != nil {
			rs.close()
			return nil, fmt.Errorf("read raft log in %s: %w", rs.dir, err)
		}
	}
	// The snapshot store creates its folder: only open an existing one.
	if _, err := os.Stat(filepath.Join(rs.dir, "snapshots")); err == nil {
		if rs.snaps, err = raft.NewFileSnapshotStore(rs.dir, 2, io.Discard); err != nil {
			rs.close()
			return nil, err
		}
		metas, err := rs.snaps.List()
		if err != nil {
			rs.close()
			return nil, err
		}
		if len(metas) > 0 {
			rs.latest = metas[0]
		}
	}
	return rs, nil
}

func (rs *raftFiles) close() error {
	var err error
	if rs.store != nil {
		err = rs.store.Close()
		rs.store = nil
	}
	if rs.release != nil {
		err = errors.Join(err, rs.release())
		rs.release = nil
	}
	return err
}

// empty reports a peer that never ran Raft.
func (rs *raftFiles) empty() bool { return rs.last == 0 && rs.latest == nil }

// entries calls fn on each log entry after index, in order.
func (rs *raftFiles) entries(after uint64, fn func(*raft.Log) error) error {
	if rs.last <= after {
		return nil
	}
	if rs.first > after+1 {
		return fmt.Errorf("the raft log starts at index %d, but the state stops at %d: entries are missing", rs.first, after)
	}
	for i := after + 1; i <= rs.last; i++ {
		var l raft.Log
		if err := rs.store.GetLog(i, &l); err != nil {
			return fmt.Errorf("raft log entry %d: %w", i, err)
		}
		if err := fn(&l); err != nil {
			return err
		}
	}
	return nil
}

var errFound = errors.New("found")

// hasCommands reports whether the log holds state commands after index.
// Most entries past the applied index are the no-op each new leader
// appends, which change nothing.
func (rs *raftFiles) hasCommands(after uint64) (bool, error) {
	err := rs.entries(after, func(l *raft.Log) error {
		if l.Type == raft.LogCommand {
			return errFound
		}
		return nil
	})
	if errors.Is(err, errFound) {
		return true, nil
	}
	return false, err
}

// replay applies the log's commands after index to st, as the FSM would:
// a command every peer refuses changes nothing, one that does not decode
// stops the export rather than produce a state the cluster never had.
func (rs *raftFiles) replay(after uint64, st *storage.State) error {
	return rs.entries(after, func(l *raft.Log) error {
		if l.Type != raft.LogCommand {
			return nil
		}
		cmd, err := storage.DecodeCommand(l.Data)
		if err != nil {
			return fmt.Errorf("raft log entry %d: %w", l.Index, err)
		}
		if _, err := st.Apply(l.Index, cmd); err != nil && !errors.Is(err, storage.ErrInvalidCommand) && !errors.Is(err, storage.ErrAlreadyApplied) {
			return fmt.Errorf("apply raft log entry %d: %w", l.Index, err)
		}
		return nil
	})
}

func (rs *raftFiles) restoreLatest(st *storage.State) error {
	_, rc, err := rs.snaps.Open(rs.latest.ID)
	if err != nil {
		return fmt.Errorf("open raft snapshot %s: %w", rs.latest.ID, err)
	}
	defer rc.Close()
	return st.Restore(rc)
}

// next is where an imported snapshot goes: at the last index and term Raft
// knows, with the latest membership. A peer without Raft state gets a
// cluster of its own, as its first start would have made.
func (rs *raftFiles) next(selfID, selfAddr string) (index, term uint64, conf raft.Configuration, confIndex uint64, err error) {
	if rs.empty() {
		if selfID == "" || selfAddr == "" {
			return 0, 0, conf, 0, errors.New("a peer without raft state needs its ID and cluster address")
		}
		conf.Servers = []raft.Server{{Suffrage: raft.Voter, ID: raft.ServerID(selfID), Address: raft.ServerAddress(selfAddr)}}
		return 1, 1, conf, 1, nil
	}
	// Configurations before the snapshot are in it; the log may have
	// dropped them.
	var from uint64
	if rs.latest != nil {
		index, term = rs.latest.Index, rs.latest.Term
		conf, confIndex = rs.latest.Configuration, rs.latest.ConfigurationIndex
		from = rs.latest.Index
	} else if rs.first > 0 {
		from = rs.first - 1
	}
	if rs.last > index {
		var l raft.Log
		if err := rs.store.GetLog(rs.last, &l); err != nil {
			return 0, 0, conf, 0, fmt.Errorf("raft log entry %d: %w", rs.last, err)
		}
		index, term = l.Index, l.Term
	}
	err = rs.entries(from, func(l *raft.Log) error {
		if l.Type != raft.LogConfiguration {
			return nil
		}
		c, err := decodeConfiguration(l.Data)
		if err != nil {
			return fmt.Errorf("raft log entry %d: %w", l.Index, err)
		}
		conf, confIndex = c, l.Index
		return nil
	})
	if err == nil && len(conf.Servers) == 0 {
		err = errors.New("the raft log and snapshots hold no cluster configuration")
	}
	return index, term, conf, confIndex, err
}

// decodeConfiguration is raft.DecodeConfiguration, which panics on bad input.
func decodeConfiguration(b []byte) (c raft.Configuration, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("undecodable configuration: %v", r)
		}
	}()
	return raft.DecodeConfiguration(b), nil
}
