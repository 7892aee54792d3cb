package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/cluster/raftstore"
	"github.com/flotilla-ipfs/flotilla/internal/logging"
)

// raftParts are the pieces of a Raft node that must be closed on shutdown.
type raftParts struct {
	raft      *raft.Raft
	store     raftstore.Store
	stable    *stableAfterShutdown // store, as Raft's stable store
	transport *raft.NetworkTransport
	fresh     bool // no Raft state existed on disk before this start
	// restoresSnapshot: the state was behind the last snapshot, which
	// Raft restored over it at this start.
	restoresSnapshot bool
}

func openRaft(cfg Config, fsm raft.FSM, layer raft.StreamLayer, stateApplied uint64, log zerolog.Logger) (*raftParts, error) {
	hlog := raftLogger(log)
	if cfg.raftLayer != nil {
		layer = cfg.raftLayer(layer)
	}
	store, snaps, err := openRaftStores(cfg.DataDir, hlog, log)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(cfg.DataDir, "raft")
	// MaxRPCsInFlight 1 turns pipelined replication off. Its pipeline can
	// deadlock when a follower refuses an append (a log that diverged in a
	// partition): the replication goroutine parks for good, the follower
	// gets heartbeats but no more entries, and Shutdown waits on it forever
	// (hashicorp/raft#612; found by the real-process nemesis' partitions).
	// Group commit already puts many pins in one entry.
	transport := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:          layer,
		MaxPool:         3,
		MaxRPCsInFlight: 1,
		Timeout:         10 * time.Second,
		Logger:          hlog,
	})
	rc := raftConfig(cfg, hlog)

	// The state is a file kept in step with the log, so a restart need not
	// restore the last snapshot over it: that would roll the pinset back to
	// the snapshot until the log replays, and watchers would act on the
	// older pinset meanwhile. Only a state behind the snapshot (lost or
	// damaged) is restored.
	metas, err := snaps.List()
	hasSnapshot := err == nil && len(metas) > 0
	restores := hasSnapshot && stateApplied < metas[0].Index
	rc.NoSnapshotRestoreOnStart = hasSnapshot && !restores

	existing, err := raft.HasExistingState(store, store, snaps)
	if err == nil {
		err = checkLogCoversState(store, snaps, stateApplied, dir)
	}
	if err != nil {
		store.Close()
		return nil, err
	}
	stable := &stableAfterShutdown{StableStore: store}
	r, err := raft.NewRaft(rc, fsm, store, stable, snaps, transport)
	if err != nil {
		store.Close()
		transport.Close()
		return nil, fmt.Errorf("start raft: %w", err)
	}
	return &raftParts{raft: r, store: store, stable: stable, transport: transport, fresh: !existing, restoresSnapshot: restores}, nil
}

// raftLogger is Raft's logger: its info lines are per-election chatter.
func raftLogger(log zerolog.Logger) hclog.Logger {
	return logging.HCLog(log.Level(max(log.GetLevel(), zerolog.WarnLevel)), "raft")
}

// openRaftStores opens the Raft log and stable store, and the snapshots, in
// dataDir's raft folder: for the daemon, and for the quorum recovery of a
// stopped peer, which must see them exactly as the daemon does.
func openRaftStores(dataDir string, hlog hclog.Logger, log zerolog.Logger) (raftstore.Store, *raft.FileSnapshotStore, error) {
	dir := filepath.Join(dataDir, "raft")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	store, err := raftstore.Open(dir, hlog, log)
	if err != nil {
		return nil, nil, err
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, hlog)
	if err != nil {
		store.Close()
		return nil, nil, fmt.Errorf("open raft snapshots: %w", err)
	}
	return store, snaps, nil
}

// raftConfig is this peer's Raft configuration.
func raftConfig(cfg Config, hlog hclog.Logger) *raft.Config {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.ID)
	rc.Logger = hlog
	rc.HeartbeatTimeout = cfg.Raft.HeartbeatTimeout
	rc.ElectionTimeout = cfg.Raft.ElectionTimeout
	rc.LeaderLeaseTimeout = min(cfg.Raft.HeartbeatTimeout/2, rc.LeaderLeaseTimeout)
	rc.SnapshotThreshold = uint64(cfg.Raft.SnapshotThreshold)
	rc.SnapshotInterval = cfg.Raft.SnapshotInterval
	if cfg.commitTimeout > 0 {
		rc.CommitTimeout = cfg.commitTimeout
	}
	// BatchApplyCh stays off: with it, an Apply queued as Raft shuts down
	// is never answered. Group commit is the batcher's job instead.
	return rc
}

// bootstrapAlone makes this peer the one voter of a new cluster.
func (p *raftParts) bootstrapAlone(id string, addr string) error {
	f := p.raft.BootstrapCluster(raft.Configuration{Servers: []raft.Server{{
		Suffrage: raft.Voter,
		ID:       raft.ServerID(id),
		Address:  raft.ServerAddress(addr),
	}}})
	return f.Error()
}

func (p *raftParts) shutdown() error {
	err := p.raft.Shutdown().Error()
	p.transport.Close()
	p.stable.stop()
	if cerr := p.store.Close(); err == nil {
		err = cerr
	}
	return err
}

// ErrStateAheadOfLog means state.db has applied entries that the Raft log
// and snapshots do not hold: the raft folder was wiped or replaced. New
// entries would get indexes the state has already passed, and be skipped.
var ErrStateAheadOfLog = errors.New("the state is ahead of the Raft log")

// checkLogCoversState refuses a start on a Raft folder that ends before
// what the state has applied: every pin committed afterwards would be
// acknowledged and silently dropped.
func checkLogCoversState(logs raft.LogStore, snaps raft.SnapshotStore, stateApplied uint64, dir string) error {
	last, err := logs.LastIndex()
	if err != nil {
		return err
	}
	if metas, err := snaps.List(); err == nil && len(metas) > 0 {
		last = max(last, metas[0].Index)
	}
	if stateApplied <= last {
		return nil
	}
	return fmt.Errorf("%w: state.db has applied Raft index %d, but the Raft log and snapshots in %s end at %d: "+
		"the raft folder was wiped or comes from another peer. Starting would lose every pin committed from now on. "+
		"Put the raft folder back; or move the whole data folder aside and join the cluster again with --bootstrap; "+
		"or, for a cluster of one, `flotilla state export` the pins and `flotilla state import` them into a new data folder",
		ErrStateAheadOfLog, stateApplied, dir, last)
}
