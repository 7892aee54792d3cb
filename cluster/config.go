package cluster

import (
	"path/filepath"
	"time"

	"github.com/hashicorp/raft"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/cluster/tracker"
	"github.com/flotilla-ipfs/flotilla/cluster/transport"
	"github.com/flotilla-ipfs/flotilla/internal/config"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// Config is everything a Node needs, grouped by concern. FromFile fills the
// tunables from service.json; the caller adds identity, listener and IPFS.
type Config struct {
	ID string // libp2p peer ID of this peer
	// Key is the private key of ID: with it, this peer proves its ID when
	// it joins (joinproof.go).
	Key     crypto.PrivKey
	Name    string
	DataDir string
	// Self is what this peer records about itself in the shared state.
	Self storage.Peer
	// Port is the cluster port: its listener, the secret, TLS, a dialer.
	Port transport.Config
	// Advertise is the host:port other peers reach the cluster port at.
	Advertise  string
	Membership MembershipConfig
	Raft       RaftConfig
	Allocation AllocationConfig
	Health     HealthConfig
	Tracker    tracker.Config
	IPFS       IPFS
	// Observer, when set, is told of every commit and every pin on IPFS,
	// for metrics.
	Observer Observer
	Log      zerolog.Logger

	// beforeFSM, set by tests only, runs on Raft's FSM goroutine before
	// each batch of entries: it holds back everything a peer learns of
	// commits, its state writes included.
	beforeFSM func()
	// commitTimeout and nudgeDelay, set by tests only, replace
	// hashicorp/raft's CommitTimeout, after which an idle leader passes its
	// commit index on, and commitNudgeDelay: a test sets them long, so that
	// only what it tests passes a commit on.
	commitTimeout time.Duration
	nudgeDelay    time.Duration
	// joinQuietFor, set by tests only, replaces joinQuietFor.
	joinQuietFor time.Duration
	// raftLayer, set by tests only, wraps the stream layer Raft talks
	// over: a test holds back what a peer hears from its leader.
	raftLayer func(raft.StreamLayer) raft.StreamLayer
}

// MembershipConfig says how this peer joins and leaves.
type MembershipConfig struct {
	// Bootstrap lists cluster ports of existing peers to join through on
	// first start, or to join again after leaving.
	Bootstrap       []string
	Voters          int
	LeaveOnShutdown bool
	// Follower makes this peer a read-only follower (follow.go): it
	// proves Port.FollowerSecret alone, and Bootstrap is the cluster it
	// follows (needed on its first start only).
	Follower bool
}

// RaftConfig tunes consensus and group commit.
type RaftConfig struct {
	HeartbeatTimeout  time.Duration
	ElectionTimeout   time.Duration
	SnapshotThreshold int
	SnapshotInterval  time.Duration
	// BatchMaxPins and BatchMaxDelay bound group commit: how many
	// concurrent pin operations share one entry, and how long it waits.
	BatchMaxPins  int
	BatchMaxDelay time.Duration
}

// AllocationConfig is where pins go and when they move.
type AllocationConfig struct {
	ReplicationFactorMin int
	ReplicationFactorMax int
	AllocateBy           []string
	// RepinDelay is how long a peer may be down before the leader moves its
	// pins to healthy peers.
	RepinDelay time.Duration
	// ExpiryInterval is how often the leader looks for expired pins;
	// zero means every minute.
	ExpiryInterval time.Duration
	// RepairInterval is how often the leader checks that every allocation
	// names a member and tops up under-replicated pins, besides when a
	// peer comes up or is removed; zero means every 30 seconds.
	RepairInterval time.Duration
}

// HealthConfig paces heartbeats.
type HealthConfig struct {
	HeartbeatInterval time.Duration
	HeartbeatTTL      time.Duration
}

// FromFile maps service.json onto a Config: the one mapping that the daemon
// and the test harness share. Relative TLS paths are resolved against home.
func FromFile(f config.Config, home string) Config {
	inHome := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(home, p)
	}
	return Config{
		Name:    f.Cluster.Peername,
		DataDir: filepath.Join(home, "data"),
		Self:    storage.Peer{Tags: f.Cluster.Tags},
		Port: transport.Config{TLS: transport.TLSFiles{
			CertFile: inHome(f.Cluster.TLSCertFile),
			KeyFile:  inHome(f.Cluster.TLSKeyFile),
			CAFile:   inHome(f.Cluster.TLSCAFile),
		}},
		Membership: MembershipConfig{Voters: f.Raft.Voters, LeaveOnShutdown: f.Cluster.LeaveOnShutdown},
		Raft: RaftConfig{
			HeartbeatTimeout:  f.Raft.HeartbeatTimeout.D(),
			ElectionTimeout:   f.Raft.ElectionTimeout.D(),
			SnapshotThreshold: f.Raft.SnapshotThreshold,
			SnapshotInterval:  f.Raft.SnapshotInterval.D(),
			BatchMaxPins:      f.Raft.BatchMaxPins,
			BatchMaxDelay:     f.Raft.BatchMaxDelay.D(),
		},
		Allocation: AllocationConfig{
			ReplicationFactorMin: f.Cluster.ReplicationFactorMin,
			ReplicationFactorMax: f.Cluster.ReplicationFactorMax,
			AllocateBy:           f.Cluster.AllocateBy,
			RepinDelay:           f.Cluster.RepinDelay.D(),
		},
		Health: HealthConfig{
			HeartbeatInterval: f.Health.HeartbeatInterval.D(),
			HeartbeatTTL:      f.Health.HeartbeatTTL.D(),
		},
		Tracker: tracker.Config{
			ConcurrentPins:    f.IPFS.ConcurrentPins,
			PinTimeout:        f.IPFS.PinTimeout.D(),
			UnpinTimeout:      f.IPFS.UnpinTimeout.D(),
			ReconcileInterval: f.IPFS.ReconcileInterval.D(),
		},
	}
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
