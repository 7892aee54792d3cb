// Package cluster is the Flotilla peer: a Raft node over the authenticated
// cluster port, leader forwarding and group commit of pin operations, and the
// pin tracker that makes the upstream IPFS node hold what the cluster
// allocates to it.
package cluster

import (
	"context"
	"crypto/tls"
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

	"github.com/flotilla-ipfs/flotilla/cluster/tracker"
	"github.com/flotilla-ipfs/flotilla/health"
	"github.com/flotilla-ipfs/flotilla/internal/watermark"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// Config is everything a Node needs; cmd/flotilla builds it from service.json.
type Config struct {
	ID      string // libp2p peer ID of this peer
	Name    string
	DataDir string
	Secret  []byte
	// Listener is the cluster port, already bound.
	Listener net.Listener
	// Advertise is the host:port other peers reach the cluster port at.
	Advertise string
	// TLS, when enabled, encrypts the cluster port.
	TLS TLSFiles
	// Dialer opens connections to other peers; nil is a plain TCP dialer.
	// Tests inject one that can cut a peer off the network.
	Dialer Dialer
	// Bootstrap lists cluster ports of existing peers to join through on
	// first start.
	Bootstrap []string
	Voters    int

	HeartbeatTimeout  time.Duration
	ElectionTimeout   time.Duration
	SnapshotThreshold int
	SnapshotInterval  time.Duration
	BatchMaxPins      int
	BatchMaxDelay     time.Duration

	ReplicationFactorMin int
	ReplicationFactorMax int
	AllocateBy           []string

	HeartbeatInterval time.Duration
	HeartbeatTTL      time.Duration
	// RepinDelay is how long a peer may be down before the leader moves its
	// pins to healthy peers.
	RepinDelay      time.Duration
	LeaveOnShutdown bool
	// ExpiryInterval is how often the leader looks for expired pins;
	// zero means every minute.
	ExpiryInterval time.Duration

	// Self is what this peer records about itself in the shared state.
	Self    storage.Peer
	IPFS    Upstream
	Tracker tracker.Config
	// Observer, when set, is told of every commit and every pin on IPFS,
	// for metrics.
	Observer Observer
	Log      zerolog.Logger
}

// Observer receives timings for monitoring.
type Observer interface {
	// ObserveCommit is one Raft entry of the group commit: how long it took
	// and how many pin operations it carried.
	ObserveCommit(d time.Duration, ops int)
	// ObservePin is one pin on the upstream IPFS node, and whether it worked.
	ObservePin(d time.Duration, ok bool)
}

type nopObserver struct{}

func (nopObserver) ObserveCommit(time.Duration, int) {}
func (nopObserver) ObservePin(time.Duration, bool)   {}

// Node is one running Flotilla peer.
type Node struct {
	cfg     Config
	log     zerolog.Logger
	state   *storage.State
	status  *storage.StatusStore
	port    *clusterPort
	rp      *raftParts
	batch   *batcher
	tracker *tracker.Tracker
	applied *watermark.Watermark
	monitor *health.Monitor
	rpc     *http.Server
	client  *peerClient

	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	ipfsID atomic.Value // string: the IPFS node's ID, once it answered
	// member is set once this peer has seen itself in the Raft
	// configuration; removed once it has seen itself taken out.
	member, removed atomic.Bool
}

// New opens the peer's state and starts Raft, the cluster port, group commit
// and the pin tracker.
func New(cfg Config) (*Node, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	state, err := storage.OpenState(filepath.Join(cfg.DataDir, "state.db"))
	if err != nil {
		return nil, fmt.Errorf("open state: %w", err)
	}
	status, err := storage.OpenStatusStore(filepath.Join(cfg.DataDir, "status.db"))
	if err != nil {
		state.Close()
		return nil, fmt.Errorf("open local pin status: %w", err)
	}
	if cfg.ExpiryInterval == 0 {
		cfg.ExpiryInterval = time.Minute
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &Node{
		cfg:     cfg,
		log:     cfg.Log.With().Str("component", "cluster").Logger(),
		state:   state,
		status:  status,
		applied: watermark.New(),
		monitor: health.NewMonitor(time.Now()),
		cancel:  cancel,
	}
	stateApplied, err := state.AppliedIndex()
	if err != nil {
		status.Close()
		state.Close()
		cancel()
		return nil, fmt.Errorf("read the state's applied index: %w", err)
	}
	n.applied.Set(stateApplied)
	cfg.Tracker.ObservePin = cfg.Observer.ObservePin
	n.tracker = tracker.New(cfg.ID, state, status, cfg.IPFS, cfg.Tracker, cfg.Log.With().Str("component", "tracker").Logger())
	fsm := storage.NewFSM(state, cfg.Log.With().Str("component", "fsm").Logger(), n.onApply)
	fsm.OnRestore(n.afterRestore)

	var tlsClient *tls.Config
	if cfg.TLS.Enabled() {
		var tlsServer *tls.Config
		if tlsServer, tlsClient, err = cfg.TLS.load(); err != nil {
			cancel()
			status.Close()
			state.Close()
			return nil, err
		}
		cfg.Listener = tls.NewListener(cfg.Listener, tlsServer)
	}
	n.port = newClusterPort(cfg.Listener, cfg.Secret, cfg.Log.With().Str("component", "cluster-port").Logger())
	n.port.tlsClient = tlsClient
	if cfg.Dialer != nil {
		n.port.dialer = cfg.Dialer
	}
	n.client = newPeerClient(n.port)
	rp, err := openRaft(cfg, fsm, &raftLayer{channelListener: n.port.raft, port: n.port}, stateApplied, cfg.Log.With().Str("component", "raft").Logger())
	if err != nil {
		cancel()
		status.Close()
		state.Close()
		return nil, err
	}
	n.rp = rp
	n.batch = newBatcher(rp.raft, cfg.BatchMaxPins, cfg.BatchMaxDelay)
	n.batch.observe = cfg.Observer.ObserveCommit
	n.rpc = &http.Server{Handler: n.rpcHandler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}

	n.goRun(func() { n.port.serve() })
	n.goRun(func() { _ = n.rpc.Serve(n.port.rpc) })
	n.goRun(func() { n.batch.run(ctx) })
	n.goRun(func() { n.tracker.Run(ctx) })

	switch {
	case rp.fresh:
		err = n.bootstrap(ctx)
	case len(cfg.Bootstrap) > 0 && !n.inRaft(cfg.ID):
		// A peer that left or was removed joins again when asked to; its
		// old log is brought in line by the leader.
		n.log.Info().Msg("this peer is not a member of its cluster any more; joining again")
		err = n.join(ctx, cfg.Bootstrap)
	}
	if err != nil {
		n.Close()
		return nil, err
	}
	n.heartbeat(ctx)
	n.goRun(func() { n.heartbeatLoop(ctx) })
	n.goRun(func() { n.leaderLoop(ctx) })
	return n, nil
}

func (n *Node) goRun(fn func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		fn()
	}()
}

// bootstrap starts a new one-voter cluster, or joins an existing one through
// the bootstrap peers.
func (n *Node) bootstrap(ctx context.Context) error {
	if len(n.cfg.Bootstrap) == 0 {
		n.log.Info().Str("id", n.cfg.ID).Msg("starting a new cluster with this peer as its first voter")
		return n.rp.bootstrapAlone(n.cfg.ID, n.cfg.Advertise)
	}
	return n.join(ctx, n.cfg.Bootstrap)
}

// onApply runs on the FSM goroutine after each committed entry.
func (n *Node) onApply(index uint64, changes []storage.Change) {
	if len(changes) > 0 {
		n.tracker.Changed(changes)
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

// Close stops the peer. It does not leave the cluster; see Leave.
func (n *Node) Close() error {
	var err error
	n.once.Do(func() {
		if n.cfg.LeaveOnShutdown && n.rp != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			if err := n.Leave(ctx); err != nil {
				n.log.Warn().Err(err).Msg("leave the cluster on shutdown")
			}
			cancel()
		}
		n.cancel()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = n.rpc.Shutdown(ctx)
		if n.rp != nil {
			err = n.rp.shutdown()
		}
		n.port.close()
		n.wg.Wait()
		n.tracker.Close()
		if e := n.status.Close(); err == nil {
			err = e
		}
		if e := n.state.Close(); err == nil {
			err = e
		}
	})
	return err
}

// PeerID is this peer's ID.
func (n *Node) PeerID() string { return n.cfg.ID }

// Raft exposes the Raft node's view, for the admin API.
func (n *Node) RaftInfo() types.RaftInfo {
	r := n.rp.raft
	_, leader := r.LeaderWithID()
	info := types.RaftInfo{
		State:        stateName(r.State()),
		Leader:       string(leader),
		Term:         parseUint(r.Stats()["term"]),
		CommitIndex:  parseUint(r.Stats()["commit_index"]),
		AppliedIndex: r.AppliedIndex(),
	}
	if cf := r.GetConfiguration(); cf.Error() == nil {
		for _, s := range cf.Configuration().Servers {
			if string(s.ID) == n.cfg.ID {
				info.Voter = s.Suffrage == raft.Voter
			}
		}
	}
	return info
}

func stateName(s raft.RaftState) string {
	switch s {
	case raft.Leader:
		return "leader"
	case raft.Candidate:
		return "candidate"
	case raft.Follower:
		return "follower"
	}
	return "shutdown"
}

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
