// Package cluster is the Flotilla peer: a Raft node over the authenticated
// cluster port, leader forwarding and group commit of pin operations, and the
// pin tracker that makes the upstream IPFS node hold what the cluster
// allocates to it.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/cluster/peerrpc"
	"github.com/flotilla-ipfs/flotilla/cluster/tracker"
	"github.com/flotilla-ipfs/flotilla/cluster/transport"
	"github.com/flotilla-ipfs/flotilla/health"
	"github.com/flotilla-ipfs/flotilla/internal/watermark"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// Node is one running Flotilla peer.
type Node struct {
	cfg     Config
	log     zerolog.Logger
	state   *storage.State
	status  *storage.StatusStore
	port    *transport.Port
	rp      *raftParts
	batch   *batcher // group commit, when this peer leads
	forward *batcher // group forwarding to the leader, when it does not
	tracker *tracker.Tracker
	fsm     *storage.FSM
	applied *watermark.Watermark
	// acked is the highest index of a write this peer acknowledged to a
	// client (readyourwrites.go).
	acked *watermark.Watermark
	// askingToPassOn is set while this follower asks its leader to pass
	// a commit on (askToPassCommitOn).
	askingToPassOn atomic.Bool
	// synced is closed once this peer learned, after its start, up to
	// where it must apply before its reads are sure to hold every write it
	// acknowledged before a restart (readyourwrites.go).
	synced   chan struct{}
	syncedBy time.Time
	// stateBehind: the state starts behind what the tracker acted on
	// (rebuild.go).
	stateBehind bool
	// logEndAtStart is the last index in this peer's log at its start.
	logEndAtStart uint64
	monitor       *health.Monitor
	rpc           *http.Server
	client        *peerrpc.Client

	cancel context.CancelFunc
	// reallocMu serializes re-allocation passes.
	reallocMu sync.Mutex
	// shortWarned is guarded by reallocMu.
	shortWarned shortWarning
	// repairRequested asks the leader's repair duty for a pass now.
	repairRequested atomic.Bool
	// deadPeerPasses counts the passes that tried to move a dead peer's
	// pins, for tests to wait on.
	deadPeerPasses atomic.Int64
	wg             sync.WaitGroup
	once           sync.Once
	ipfsID         atomic.Value // string: the IPFS node's ID, once it answered
	// member is set once this peer has seen itself in the Raft
	// configuration; removed once it has seen itself taken out.
	member, removed atomic.Bool
	// rejoining is set while this peer, started with --bootstrap though
	// its own Raft configuration still lists it, joins again: the leader
	// may have removed it while it was down, and says so until the join
	// is done.
	rejoining atomic.Bool
	// staleConfigIndex is the index of the Raft configuration this peer
	// started with when it joins again: one at or below it that lists the
	// peer predates its removal, and proves no membership.
	staleConfigIndex atomic.Uint64
	// followAddrs are where a read-only follower joins its cluster.
	followAddrs []string
	// beforeApplied, set by tests only, runs after each state write and
	// before the applied index moves: it holds reads back.
	beforeApplied atomic.Pointer[func()]
}

// New opens the peer's state and starts Raft, the cluster port, group commit
// and the pin tracker, then joins the cluster when asked to. Each step is
// named; whatever a failed start had opened, Close releases. ctx bounds the
// start only: an operator who stops the daemon while it joins must not wait
// for the join's minute. The peer, once started, runs until Close.
func New(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Allocation.ExpiryInterval == 0 {
		cfg.Allocation.ExpiryInterval = time.Minute
	}
	if cfg.Allocation.RepairInterval == 0 {
		cfg.Allocation.RepairInterval = 30 * time.Second
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	life, cancel := context.WithCancel(context.Background())
	n := &Node{
		cfg:     cfg,
		log:     cfg.Log.With().Str("component", "cluster").Logger(),
		applied: watermark.New(),
		acked:   watermark.New(),
		synced:  make(chan struct{}),
		// Reads wait for the sync no later than this.
		syncedBy: time.Now().Add(readYourWritesLimit),
		monitor:  health.NewMonitor(time.Now()),
		cancel:   cancel,
	}
	for _, step := range []func() error{n.openStores, n.openPort, n.startRaft} {
		if err := step(); err != nil {
			n.Close()
			return nil, err
		}
	}
	n.startServices(life)
	if err := n.joinIfAsked(ctx, life); err != nil {
		n.Close()
		return nil, err
	}
	n.goRun(func() { n.syncAfterStart(life) })
	n.heartbeat(life)
	n.goRun(func() { n.heartbeatLoop(life) })
	n.goRun(func() { n.raiseAlerts(life) })
	n.goRun(func() { n.leaderLoop(life) })
	n.goRun(func() { n.watchLeader(life) })
	return n, nil
}

// openStores opens the replicated state and the local pin status, and the
// tracker that works from them.
func (n *Node) openStores() error {
	if err := os.MkdirAll(n.cfg.DataDir, 0o700); err != nil {
		return err
	}
	var err error
	if n.state, err = n.openState(filepath.Join(n.cfg.DataDir, "state.db")); err != nil {
		return fmt.Errorf("open state: %w", err)
	}
	if n.status, err = storage.OpenStatusStore(filepath.Join(n.cfg.DataDir, "status.db")); err != nil {
		return fmt.Errorf("open local pin status: %w", err)
	}
	applied, err := n.state.AppliedIndex()
	if err != nil {
		return fmt.Errorf("read the state's applied index: %w", err)
	}
	n.applied.Set(applied)
	tc := n.cfg.Tracker
	tc.ObservePin = n.cfg.Observer.ObservePin
	tc.Mirror = n.follower()
	n.tracker = tracker.New(n.cfg.ID, n.state, n.status, n.cfg.IPFS, tc, n.cfg.Log.With().Str("component", "tracker").Logger())
	return nil
}

// openPort wraps the cluster listener and makes the peer RPC client.
func (n *Node) openPort() error {
	if n.follower() {
		if err := n.openFollow(); err != nil {
			return err
		}
	}
	pc := n.cfg.Port
	pc.Log = n.cfg.Log.With().Str("component", "cluster-port").Logger()
	port, err := transport.New(pc)
	if err != nil {
		return err
	}
	n.port = port
	n.client = peerrpc.NewClient(port.DialRPC)
	return nil
}

// startRaft opens the Raft log and starts consensus over the cluster port,
// with the FSM applying to the state.
func (n *Node) startRaft() error {
	fsm := storage.NewFSM(n.state, n.cfg.Log.With().Str("component", "fsm").Logger(), n.onApply)
	fsm.OnRestore(n.afterRestore)
	// Raft's FSM goroutine only answers entries; the state and tracker
	// writes follow in a goroutine of their own, so that a commit is told
	// (and answered) without waiting for the writes of the batch before.
	fsm.Pipeline()
	n.fsm = fsm
	// The batcher exists before Raft, whose FSM tells it of commits; it
	// only touches Raft for an entry it committed, after Raft started.
	n.batch = newBatcher(n.cfg.Raft.BatchMaxPins, n.cfg.Raft.BatchMaxDelay)
	n.batch.observe = n.cfg.Observer.ObserveCommit
	n.batch.applied = n.applied
	n.batch.unapplied = make(chan struct{}, maxUnappliedBatches)
	if n.cfg.nudgeDelay > 0 {
		n.batch.nudge.delay = n.cfg.nudgeDelay
	}
	fsm.OnCommitted(n.batch.committed)
	n.forward = newBatcher(n.cfg.Raft.BatchMaxPins, 0)
	n.forward.send = n.forwardToLeader
	var raftFSM raft.BatchingFSM = fsm
	if n.cfg.beforeFSM != nil {
		raftFSM = heldFSM{fsm, n.cfg.beforeFSM}
	}
	rp, err := openRaft(n.cfg, raftFSM, n.port.Raft(), n.applied.Get(), n.cfg.Log.With().Str("component", "raft").Logger())
	if err != nil {
		return err
	}
	n.rp = rp
	n.stateBehind = n.stateBehind || rp.restoresSnapshot
	if n.stateBehind {
		if n.logEndAtStart, err = rp.store.LastIndex(); err != nil {
			return err
		}
	}
	n.port.SetCurrentTerm(rp.raft.CurrentTerm)
	n.batch.raft = rp.raft
	return nil
}

// startServices serves the cluster port and peer RPC, and starts group
// commit, the tracker and the release of protected uploads.
func (n *Node) startServices(ctx context.Context) {
	n.rpc = &http.Server{
		Handler:           peerrpc.NewService(peerService{n}),
		ConnContext:       peerrpc.ConnContext(func(c net.Conn) bool { return transport.RoleOf(c) == transport.RoleMember }),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	n.goRun(n.port.Serve)
	n.goRun(func() { _ = n.rpc.Serve(n.port.RPC()) })
	n.goRun(func() { n.batch.run(ctx) })
	n.goRun(func() { n.forward.run(ctx) })
	n.goRun(func() { n.runTracker(ctx) })
	n.goRun(func() { n.releaseLoop(ctx) })
}

// joinIfAsked starts a new cluster or joins one on a first start, and joins
// again a cluster that this peer left or was removed from when given
// bootstrap addresses; its old log is then brought in line by the leader.
// A join that the start waits for ends with start; one left to run in the
// background ends with the peer's life.
func (n *Node) joinIfAsked(start, life context.Context) error {
	bootstrap := n.cfg.Membership.Bootstrap
	if n.follower() {
		return n.followAgain(start, life)
	}
	switch {
	case n.rp.fresh && len(bootstrap) == 0:
		n.log.Info().Str("id", n.cfg.ID).Msg("starting a new cluster with this peer as its first voter")
		return n.rp.bootstrapAlone(n.cfg.ID, n.cfg.Advertise)
	case n.rp.fresh:
		return n.join(start, bootstrap)
	case len(bootstrap) > 0 && !n.inRaft(n.cfg.ID):
		n.log.Info().Msg("this peer is not a member of its cluster any more; joining again")
		return n.join(start, bootstrap)
	case len(bootstrap) > 0:
		n.joinAgain(life, bootstrap)
		return nil
	}
	n.rejoinIfMoved(life)
	return nil
}

func (n *Node) goRun(fn func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		fn()
	}()
}

// onApply runs on the FSM goroutine after each batch of committed entries,
// with the batch's last index: one tracker write for the whole batch.
func (n *Node) onApply(index uint64, changes []storage.Change) {
	if len(changes) > 0 {
		n.tracker.Changed(changes)
	}
	if hook := n.beforeApplied.Load(); hook != nil {
		(*hook)()
	}
	n.applied.Set(index)
}

// afterRestore runs when a snapshot replaced the state: the applied index
// jumps and the tracker must compare everything again.
func (n *Node) afterRestore() {
	if idx, err := n.state.AppliedIndex(); err == nil {
		n.applied.Set(idx)
	}
	n.tracker.Resync()
}

// Close stops the peer. It does not leave the cluster (see Leave), unless
// configured to on shutdown. It releases whatever a failed New had opened.
func (n *Node) Close() error {
	var err error
	n.once.Do(func() {
		// A removed peer has nothing to leave: asking a leader it cannot
		// reach would hold its stop for the leave's 15 s, while it raises
		// alerts for every member.
		if n.cfg.Membership.LeaveOnShutdown && n.rp != nil && !n.removed.Load() {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			if err := n.Leave(ctx); err != nil {
				n.log.Warn().Err(err).Msg("leave the cluster on shutdown")
			}
			cancel()
		} else if n.rp != nil {
			n.handOverLeadership()
		}
		n.cancel()
		if n.rpc != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = n.rpc.Shutdown(ctx)
			cancel()
		}
		if n.rp != nil {
			err = n.rp.shutdown()
		}
		if n.port != nil {
			n.port.Close()
		}
		n.wg.Wait()
		if n.fsm != nil {
			n.fsm.Close() // after Raft: it writes what Raft handed it
		}
		if n.tracker != nil {
			n.tracker.Close()
		}
		if n.status != nil {
			err = errors.Join(err, n.status.Close())
		}
		if n.state != nil {
			err = errors.Join(err, n.state.Close())
		}
	})
	return err
}

// PeerID is this peer's ID.
func (n *Node) PeerID() string { return n.cfg.ID }

// Ready reports whether the peer can serve: it knows a leader and has
// applied what it committed before it stopped.
func (n *Node) Ready() error {
	if n.removed.Load() {
		return types.ErrRemoved
	}
	if _, id := n.rp.raft.LeaderWithID(); id == "" {
		return types.ErrNoLeader
	}
	return nil
}

// WaitReady blocks until Ready or ctx ends.
func (n *Node) WaitReady(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if err := n.Ready(); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(types.ErrNoLeader, ctx.Err())
		case <-t.C:
		}
	}
}

// Advertise is the cluster address other peers reach this one at.
func (n *Node) Advertise() string { return n.cfg.Advertise }

// heldFSM runs hold before each batch it passes to the FSM (Config.beforeFSM).
type heldFSM struct {
	*storage.FSM
	hold func()
}

func (h heldFSM) Apply(l *raft.Log) any {
	h.hold()
	return h.FSM.Apply(l)
}

func (h heldFSM) ApplyBatch(logs []*raft.Log) []any {
	h.hold()
	return h.FSM.ApplyBatch(logs)
}
