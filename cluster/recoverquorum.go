package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/hashicorp/raft"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/cluster/offline"
	"github.com/flotilla-ipfs/flotilla/cluster/raftstore"
	"github.com/flotilla-ipfs/flotilla/internal/folderlock"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// QuorumRecovery is what RecoverQuorum found, and did when forced.
type QuorumRecovery struct {
	// Old is the Raft configuration the peer held; New, the one it holds
	// now (empty when nothing was changed).
	Old, New raft.Configuration
	// LastIndex and LastTerm are where this peer's Raft log ends: of the
	// survivors, the one whose log ends at the highest term, then index,
	// holds the most of what the cluster committed.
	LastIndex, LastTerm uint64
}

// ErrNotInConfiguration means the peer is not in its own Raft
// configuration: it was removed, and cannot take its cluster over.
var ErrNotInConfiguration = errors.New("this peer is not in its cluster's Raft configuration")

// RecoverQuorum reads the Raft state of a stopped peer and, when force is
// set, rewrites its configuration so that the peer is its cluster's only
// voter, with the members named in keep (each keeping its suffrage), for a
// cluster that lost a majority of its voters for good. Every entry of the
// peer's log is kept, and counts as committed from then on
// (raft.RecoverCluster). cfg is the daemon's, for its ID and data folder;
// the data folder's lock is held throughout, so a running daemon makes it
// fail with offline.ErrPeerRunning.
func RecoverQuorum(cfg Config, keep []string, force bool) (rec QuorumRecovery, err error) {
	release, err := folderlock.Lock(cfg.DataDir)
	if errors.Is(err, folderlock.ErrHeld) {
		return rec, fmt.Errorf("%s: %w", cfg.DataDir, offline.ErrPeerRunning)
	}
	if err != nil {
		return rec, err
	}
	defer func() { err = errors.Join(err, release()) }()
	if following, err := Following(cfg.DataDir); err != nil || following {
		return rec, errors.Join(err, errors.New("this peer is a read-only follower: only a member can take its cluster over"))
	}
	if ok, err := raftstore.Exists(filepath.Join(cfg.DataDir, "raft")); err != nil || !ok {
		return rec, errors.Join(err, fmt.Errorf("%s holds no Raft log: is it the data folder of a peer that has run?", cfg.DataDir))
	}

	log := cfg.Log.With().Str("component", "raft").Logger()
	hlog := raftLogger(log)
	store, snaps, err := openRaftStores(cfg.DataDir, hlog, log)
	if err != nil {
		return rec, err
	}
	defer func() { err = errors.Join(err, store.Close()) }()
	if rec.LastIndex, rec.LastTerm, err = logEnd(store, snaps); err != nil {
		return rec, err
	}
	// The transport only encodes peers for the pre-v1 snapshot format:
	// nothing is sent, so no cluster port is opened.
	_, trans := raft.NewInmemTransport("")
	defer trans.Close()

	tmp, err := os.MkdirTemp(cfg.DataDir, ".recover-quorum-")
	if err != nil {
		return rec, err
	}
	defer func() { err = errors.Join(err, os.RemoveAll(tmp)) }()
	// RecoverCluster replays the log into its FSM to write the snapshot
	// that replaces the log: into a copy, as the offline tools do, since
	// state.db must never run ahead of Raft. The daemon's next start
	// restores the snapshot when state.db is behind it.
	st, err := storage.OpenState(filepath.Join(tmp, "state.db"))
	if err != nil {
		return rec, err
	}
	defer func() { err = errors.Join(err, st.Close()) }()
	fsm := recoveryFSM{storage.NewFSM(st, zerolog.Nop(), nil)}

	rc := raftConfig(cfg, hlog)
	peek := *rc
	peek.NoSnapshotRestoreOnStart = true // the configuration only
	if rec.Old, err = raft.GetConfiguration(&peek, fsm, store, store, snaps, trans); err != nil {
		return rec, fmt.Errorf("read the raft configuration: %w", err)
	}
	next, err := soleVoters(rec.Old, cfg.ID, keep)
	if err != nil || !force {
		return rec, err
	}
	if err := recoverCluster(rc, fsm, store, snaps, trans, next); err != nil {
		return rec, fmt.Errorf("recover the raft configuration: %w", err)
	}
	rec.New = next
	return rec, nil
}

// recoverCluster is raft.RecoverCluster, with the FSM's refusal to diverge
// (a panic on an entry it cannot apply) turned into an error: nothing is
// changed on disk before the snapshot is whole.
func recoverCluster(rc *raft.Config, fsm raft.FSM, store raftstore.Store, snaps raft.SnapshotStore, trans raft.Transport, next raft.Configuration) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return raft.RecoverCluster(rc, fsm, store, store, snaps, trans, next)
}

// soleVoters is old with this peer as a voter and the kept members as
// they were: no one else.
func soleVoters(old raft.Configuration, self string, keep []string) (raft.Configuration, error) {
	var next raft.Configuration
	me, ok := findServer(old.Servers, self)
	if !ok {
		return next, fmt.Errorf("%w (%s): it was removed, and another survivor must be recovered", ErrNotInConfiguration, self)
	}
	me.Suffrage = raft.Voter
	next.Servers = append(next.Servers, me)
	for _, id := range keep {
		s, ok := findServer(old.Servers, id)
		if !ok {
			return raft.Configuration{}, fmt.Errorf("--keep %s: no such member in this peer's Raft configuration", id)
		}
		if !slices.ContainsFunc(next.Servers, func(k raft.Server) bool { return k.ID == s.ID }) {
			next.Servers = append(next.Servers, s)
		}
	}
	return next, nil
}

// logEnd is the index and term of the last entry this peer holds, in its
// log or its latest snapshot.
func logEnd(store raftstore.Store, snaps raft.SnapshotStore) (index, term uint64, err error) {
	if metas, err := snaps.List(); err != nil {
		return 0, 0, err
	} else if len(metas) > 0 {
		index, term = metas[0].Index, metas[0].Term
	}
	last, err := store.LastIndex()
	if err != nil || last <= index {
		return index, term, err
	}
	var l raft.Log
	if err := store.GetLog(last, &l); err != nil {
		return 0, 0, fmt.Errorf("raft log entry %d: %w", last, err)
	}
	return l.Index, l.Term, nil
}

// recoveryFSM releases each snapshot once persisted: RecoverCluster never
// does, and the open read transaction would keep the state from closing.
type recoveryFSM struct{ *storage.FSM }

func (f recoveryFSM) Snapshot() (raft.FSMSnapshot, error) {
	s, err := f.FSM.Snapshot()
	if err != nil {
		return nil, err
	}
	return releasedAfterPersist{s}, nil
}

type releasedAfterPersist struct{ raft.FSMSnapshot }

func (s releasedAfterPersist) Persist(sink raft.SnapshotSink) error {
	defer s.Release()
	return s.FSMSnapshot.Persist(sink)
}
