// Package harness runs N Flotilla peers in one process, on loopback with
// real TCP, each in front of its own fake Kubo, with the failures a cluster
// must survive at hand: kill, restart, and cutting a peer off the network.
package harness

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/cluster"
	"github.com/flotilla-ipfs/flotilla/internal/config"
	"github.com/flotilla-ipfs/flotilla/internal/fakekubo"
	"github.com/flotilla-ipfs/flotilla/internal/ipfs"
	"github.com/flotilla-ipfs/flotilla/internal/testkit"
)

// Options tune a harness cluster.
type Options struct {
	Voters     int           // default 5
	RepinDelay time.Duration // default 0: re-allocate at once
	Min, Max   int           // default replication; default -1/-1
	LogLevel   zerolog.Level // default warn
	// Tap, when set, wraps every connection a peer dials, as it is on the
	// wire: it sees and may alter the bytes an on-path attacker would.
	Tap Tap
	// RaftTimeout is Raft's heartbeat and election timeout, default 500 ms:
	// longer for a test whose load would otherwise set off elections.
	RaftTimeout time.Duration
}

// Peer is one member.
type Peer struct {
	ID   string
	Addr string
	Kubo *fakekubo.Fake
	Node *cluster.Node
	dir  string
}

// Cluster is a running set of peers.
type Cluster struct {
	mu     sync.Mutex // guards each Peer's Node against Kill and Restart
	t      testing.TB
	opts   Options
	secret []byte
	Net    *Network
	Peers  []*Peer
}

// New starts n peers: the first bootstraps a cluster, the others join it.
func New(t testing.TB, n int, opts Options) *Cluster {
	t.Helper()
	if opts.Voters == 0 {
		opts.Voters = 5
	}
	if opts.Min == 0 && opts.Max == 0 {
		opts.Min, opts.Max = -1, -1
	}
	if opts.LogLevel == 0 {
		opts.LogLevel = zerolog.WarnLevel
	}
	c := &Cluster{t: t, opts: opts, secret: make([]byte, 32), Net: NewNetwork()}
	c.Net.tap = opts.Tap
	rand.Read(c.secret)
	for i := 0; i < n; i++ {
		c.Add()
	}
	c.WaitFor("every peer to know every other", func() bool {
		for _, p := range c.Peers {
			if len(p.Node.Metrics("ping")) != len(c.Peers) {
				return false
			}
		}
		return true
	})
	return c
}

// Add starts one more peer, joining through the first.
func (c *Cluster) Add() *Peer {
	c.t.Helper()
	var via *Peer
	if len(c.Peers) > 0 {
		via = c.Peers[0]
	}
	return c.AddVia(via)
}

// AddVia starts one more peer, joining through via (nil: a new cluster).
func (c *Cluster) AddVia(via *Peer) *Peer {
	c.t.Helper()
	ident, err := config.NewIdentity()
	if err != nil {
		c.t.Fatal(err)
	}
	p := &Peer{ID: ident.ID, Kubo: fakekubo.New(c.t), dir: c.t.TempDir()}
	c.Peers = append(c.Peers, p)
	var bootstrap []string
	if via != nil {
		bootstrap = []string{via.Addr}
	}
	c.start(p, bootstrap)
	c.t.Cleanup(func() { c.stop(p) })
	return p
}

func (c *Cluster) start(p *Peer, bootstrap []string) {
	c.t.Helper()
	listen := "127.0.0.1:0"
	if p.Addr != "" {
		listen = p.Addr
	}
	ln, err := c.Net.Listen(listen)
	if err != nil {
		c.t.Fatal(err)
	}
	p.Addr = ln.Addr().String()
	log := zerolog.New(testkit.LogWriter(c.t)).Level(c.opts.LogLevel).With().Str("self", p.ID[len(p.ID)-6:]).Logger()
	up, err := ipfs.New(p.Kubo.URL(), log)
	if err != nil {
		c.t.Fatal(err)
	}
	f := config.Default()
	f.Raft.Voters = c.opts.Voters
	f.Raft.HeartbeatTimeout = config.Duration(cmp.Or(c.opts.RaftTimeout, 500*time.Millisecond))
	f.Raft.ElectionTimeout = config.Duration(cmp.Or(c.opts.RaftTimeout, 500*time.Millisecond))
	f.Raft.SnapshotThreshold = 1024
	f.Raft.SnapshotInterval = config.Duration(time.Minute)
	f.Raft.BatchMaxPins = 256
	f.Raft.BatchMaxDelay = config.Duration(time.Millisecond)
	f.Cluster.Peername = fmt.Sprintf("peer%d", c.index(p))
	f.Cluster.ReplicationFactorMin, f.Cluster.ReplicationFactorMax = c.opts.Min, c.opts.Max
	f.Cluster.RepinDelay = config.Duration(c.opts.RepinDelay)
	// Generous for a 2-core machine running many race-instrumented peers:
	// a missed beat must not look like a death.
	f.Health.HeartbeatInterval = config.Duration(200 * time.Millisecond)
	f.Health.HeartbeatTTL = config.Duration(2 * time.Second)
	f.IPFS.ConcurrentPins = 4
	f.IPFS.PinTimeout = config.Duration(time.Minute)
	f.IPFS.UnpinTimeout = config.Duration(time.Minute)
	f.IPFS.ReconcileInterval = config.Duration(time.Hour)
	cfg := cluster.FromFile(f, p.dir)
	cfg.ID, cfg.DataDir, cfg.Advertise = p.ID, p.dir, p.Addr
	cfg.Port.Listener, cfg.Port.Secret, cfg.Port.Dialer = ln, c.secret, c.Net.Dialer(p.Addr)
	cfg.Membership.Bootstrap = bootstrap
	cfg.Tracker.RetryBackoff = 50 * time.Millisecond
	cfg.IPFS, cfg.Log = up, log
	node, err := cluster.New(context.Background(), cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	c.mu.Lock()
	p.Node = node
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := node.WaitReady(ctx); err != nil {
		c.t.Fatal(err)
	}
}

func (c *Cluster) index(p *Peer) int {
	for i, q := range c.Peers {
		if q == p {
			return i
		}
	}
	return -1
}

func (c *Cluster) stop(p *Peer) {
	c.mu.Lock()
	node := p.Node
	p.Node = nil
	c.mu.Unlock()
	if node != nil {
		node.Close()
	}
}

// Kill stops a peer without leaving the cluster, as a crash would.
func (c *Cluster) Kill(p *Peer) { c.stop(p) }

// Restart starts a killed peer again on the same address and data, with
// bootstrap addresses as `flotilla daemon --bootstrap` would give them.
func (c *Cluster) Restart(p *Peer, bootstrap ...string) { c.start(p, bootstrap) }

// Cut takes a peer off the network; Heal puts it back.
func (c *Cluster) Cut(p *Peer)  { c.Net.Cut(p.Addr) }
func (c *Cluster) Heal(p *Peer) { c.Net.Heal(p.Addr) }

// Leader returns the running peer that is leader now, or nil.
func (c *Cluster) Leader() *Peer {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.Peers {
		if p.Node != nil && p.Node.RaftInfo().State == "leader" {
			return p
		}
	}
	return nil
}

// WaitLeader waits until some running peer leads, and returns it.
func (c *Cluster) WaitLeader() *Peer {
	c.t.Helper()
	var l *Peer
	c.WaitFor("a leader", func() bool { l = c.Leader(); return l != nil })
	return l
}

// Alive returns copies of the running peers, safe to use while others
// are killed and restarted.
func (c *Cluster) Alive() []*Peer {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*Peer
	for _, p := range c.Peers {
		if p.Node != nil {
			cp := *p
			out = append(out, &cp)
		}
	}
	return out
}

// WaitFor polls cond until it holds, failing the test after 30s: a cluster
// elects, replicates and re-allocates in seconds, more on a loaded machine.
func (c *Cluster) WaitFor(what string, cond func() bool) {
	c.t.Helper()
	testkit.Eventually(c.t, what, cond, testkit.Within(30*time.Second), testkit.Every(20*time.Millisecond))
}

// Provide makes content available to every peer's IPFS node, as if the
// network had it; without it a pin waits for the content forever.
func (c *Cluster) Provide(cs ...cid.Cid) {
	for _, p := range c.Peers {
		for _, ci := range cs {
			p.Kubo.AddBlock(ci)
		}
	}
}
