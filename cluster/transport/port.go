// Package transport is the cluster port: the one listener that carries Raft
// and peer RPC between Flotilla peers. Every connection runs in TLS, and
// proves the cluster secret inside it, bound to that TLS session, before any
// byte reaches Raft or RPC; then it is handed to the protocol it asked for.
package transport

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/rs/zerolog"
)

// Dialer opens a TCP connection; *net.Dialer is one. Tests inject one that
// can cut a peer off the network.
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// Config is what a Port needs.
type Config struct {
	// Listener is the cluster port, already bound.
	Listener net.Listener
	// Secret is the cluster secret; a follower's port ignores it.
	Secret []byte
	// FollowerSecret admits read-only followers (roles.go); a member
	// without it neither admits nor reaches followers.
	FollowerSecret []byte
	// Follower makes this the port of a read-only follower: it proves
	// FollowerSecret alone and takes Raft only from members that sign with
	// ClusterKey.
	Follower bool
	// ClusterKey is the member key a follower pinned at its first join;
	// nil before it.
	ClusterKey ed25519.PublicKey
	// LearnClusterKey is told of the member key when a follower without
	// one first meets it, to keep it for later starts; an error refuses
	// the connection.
	LearnClusterKey func(ed25519.PublicKey) error
	// TLS, when enabled, makes the operator's certificates the channel,
	// instead of per-peer ephemeral keys.
	TLS TLSFiles
	// Dialer opens connections to other peers; nil is a plain TCP dialer.
	Dialer Dialer
	Log    zerolog.Logger
}

// Port is the cluster port of one peer, both its listening and its dialing
// side.
type Port struct {
	ln             net.Listener
	secret         []byte // nil on a follower's port
	followerSecret []byte
	follower       bool
	// memberKey and memberPub sign a member's side of follower-secret
	// sessions; nil on a follower's port.
	memberKey  ed25519.PrivateKey
	memberPub  ed25519.PublicKey
	clusterKey atomic.Pointer[ed25519.PublicKey] // pinned by a follower
	term       atomic.Pointer[func() uint64]     // Raft's current term (raftterm.go)
	learnKey   func(ed25519.PublicKey) error
	learnMu    sync.Mutex
	log        zerolog.Logger
	// refusals logs refused and evicted handshakes, sampled: a flood of
	// them must not flood the log.
	refusals zerolog.Logger
	raft     *channelListener
	rpc      *channelListener
	slots    *handshakeSlots
	timeout  time.Duration // of a whole handshake
	dialer   Dialer
	mode     byte
	// tlsServer and tlsClient make the channel of accepted and of dialed
	// connections.
	tlsServer, tlsClient *tls.Config
}

// New wraps cfg.Listener. Nothing is accepted until Serve runs.
func New(cfg Config) (*Port, error) {
	tlsServer, tlsClient, mode, err := channelTLS(cfg.TLS)
	if err != nil {
		return nil, err
	}
	p := &Port{
		ln:             cfg.Listener,
		followerSecret: cfg.FollowerSecret,
		follower:       cfg.Follower,
		learnKey:       cfg.LearnClusterKey,
		log:            cfg.Log,
		refusals:       cfg.Log.Sample(&zerolog.BurstSampler{Burst: 10, Period: time.Second}),
		slots:          newHandshakeSlots(maxPendingPerSource, maxPendingPerPeerSource, maxPendingHandshakes),
		timeout:        handshakeTimeout,
		dialer:         cfg.Dialer,
		mode:           mode,
		tlsServer:      tlsServer,
		tlsClient:      tlsClient,
	}
	if p.dialer == nil {
		p.dialer = &net.Dialer{Timeout: 10 * time.Second}
	}
	if err := p.setSecrets(cfg); err != nil {
		return nil, err
	}
	p.raft = newChannelListener(p.ln.Addr())
	p.rpc = newChannelListener(p.ln.Addr())
	return p, nil
}

// Serve accepts connections until Close.
func (p *Port) Serve() {
	for {
		conn, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				p.raft.close()
				p.rpc.close()
				return
			}
			p.log.Warn().Err(err).Msg("accept on cluster port")
			time.Sleep(50 * time.Millisecond)
			continue
		}
		sl, evicted := p.slots.take(conn)
		if evicted != nil {
			evicted.conn.Close()
		}
		go p.admit(conn, sl)
	}
}

// admit runs the server side of the handshake within the deadline, and
// hands the channel to Raft or RPC.
func (p *Port) admit(conn net.Conn, sl *slot) {
	_ = conn.SetDeadline(time.Now().Add(p.timeout))
	tc, channel, role, err := p.serverHandshake(conn, sl)
	remote := conn.RemoteAddr().String()
	if p.slots.release(sl) {
		p.refusals.Warn().Str("remote", remote).Msg("cluster handshake evicted: too many pending from its address, or in all")
		conn.Close()
		return
	}
	if err != nil {
		if peerHungUp(err) {
			// A dial given up on, most often while this peer stood still
			// (SIGSTOP, a paused machine): its dialer says so and retries.
			p.log.Debug().Err(err).Str("remote", remote).Msg("cluster handshake given up by the peer")
		} else {
			p.refusals.Warn().Err(err).Str("remote", remote).Msg("cluster connection refused")
		}
		conn.Close()
		return
	}
	p.slots.proved(sl)
	_ = conn.SetDeadline(time.Time{})
	target := p.rpc
	if channel == channelRaft {
		target = p.raft
	}
	if !target.deliver(&authConn{Conn: tc, role: role}) {
		tc.Close()
	}
}

// setSecrets takes the secrets of cfg: a member's cluster secret and the
// member key derived from it, or a follower's pinned cluster key.
func (p *Port) setSecrets(cfg Config) error {
	if p.follower {
		if len(p.followerSecret) == 0 {
			return errors.New("a follower's cluster port needs the follower secret")
		}
		if cfg.ClusterKey != nil {
			key := cfg.ClusterKey
			p.clusterKey.Store(&key)
		}
		return nil
	}
	p.secret = cfg.Secret
	key, err := memberKey(cfg.Secret)
	if err != nil {
		return err
	}
	p.memberKey, p.memberPub = key, key.Public().(ed25519.PublicKey)
	return nil
}

// Close stops listening; the Raft and RPC listeners then report closed.
func (p *Port) Close() error { return p.ln.Close() }

// Addr is the address the port listens on.
func (p *Port) Addr() net.Addr { return p.ln.Addr() }

// RPC is the listener of authenticated peer RPC connections, for an
// http.Server.
func (p *Port) RPC() net.Listener { return p.rpc }

// DialRPC opens an authenticated peer RPC connection to addr.
func (p *Port) DialRPC(ctx context.Context, addr string) (net.Conn, error) {
	return p.dial(ctx, addr, channelRPC)
}

// Raft is the raft.StreamLayer over this port.
func (p *Port) Raft() raft.StreamLayer { return &raftLayer{channelListener: p.raft, port: p} }

// dial opens an authenticated channel to a peer's cluster port, within the
// handshake deadline or ctx, whichever ends first.
func (p *Port) dial(ctx context.Context, addr string, channel byte) (net.Conn, error) {
	conn, err := p.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(p.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	ac, err := p.clientHandshake(conn, channel, addr)
	if !stop() {
		// ctx ended while we were at it: that, not the deadline it set, is
		// the cause.
		err = fmt.Errorf("cluster handshake with %s: %w", addr, ctx.Err())
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return ac, nil
}

// raftLayer is the raft.StreamLayer over the cluster port.
type raftLayer struct {
	*channelListener
	port *Port
}

var _ raft.StreamLayer = (*raftLayer)(nil)

func (r *raftLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := r.port.dial(ctx, string(addr), channelRaft)
	if err != nil || RoleOf(conn) == RoleMember {
		return conn, err
	}
	return r.port.watchTerms(conn), nil
}

// channelListener is a net.Listener fed with already authenticated
// connections.
type channelListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

var _ net.Listener = (*channelListener)(nil)

func newChannelListener(addr net.Addr) *channelListener {
	return &channelListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (c *channelListener) deliver(conn net.Conn) bool {
	select {
	case c.conns <- conn:
		return true
	case <-c.done:
		return false
	}
}

func (c *channelListener) Accept() (net.Conn, error) {
	select {
	case conn := <-c.conns:
		return conn, nil
	case <-c.done:
		return nil, net.ErrClosed
	}
}

func (c *channelListener) close() { c.once.Do(func() { close(c.done) }) }

func (c *channelListener) Close() error {
	c.close()
	return nil
}

func (c *channelListener) Addr() net.Addr { return c.addr }
