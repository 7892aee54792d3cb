// Package transport is the cluster port: the one listener that carries Raft
// and peer RPC between Flotilla peers. It authenticates every connection with
// the cluster secret (optionally inside mutual TLS) before any byte reaches
// Raft or RPC, then hands it to the protocol it asked for.
package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/rs/zerolog"
)

// maxPendingHandshakes bounds the goroutines an unauthenticated flood can
// make us hold; beyond it new connections are dropped at once.
const maxPendingHandshakes = 256

// Dialer opens a TCP connection; *net.Dialer is one. Tests inject one that
// can cut a peer off the network.
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// Config is what a Port needs.
type Config struct {
	// Listener is the cluster port, already bound.
	Listener net.Listener
	Secret   []byte
	// TLS, when enabled, wraps every connection in mutual TLS.
	TLS TLSFiles
	// Dialer opens connections to other peers; nil is a plain TCP dialer.
	Dialer Dialer
	Log    zerolog.Logger
}

// Port is the cluster port of one peer, both its listening and its dialing
// side.
type Port struct {
	ln      net.Listener
	secret  []byte
	log     zerolog.Logger
	raft    *channelListener
	rpc     *channelListener
	pending chan struct{}
	dialer  Dialer
	// tlsClient, when set, wraps every dialed connection; the listener is
	// then wrapped with the server side.
	tlsClient *tls.Config
}

// New wraps cfg.Listener. Nothing is accepted until Serve runs.
func New(cfg Config) (*Port, error) {
	ln := cfg.Listener
	var tlsClient *tls.Config
	if cfg.TLS.Enabled() {
		tlsServer, client, err := cfg.TLS.load()
		if err != nil {
			return nil, err
		}
		ln, tlsClient = tls.NewListener(ln, tlsServer), client
	}
	p := &Port{
		ln:        ln,
		secret:    cfg.Secret,
		log:       cfg.Log,
		pending:   make(chan struct{}, maxPendingHandshakes),
		dialer:    cfg.Dialer,
		tlsClient: tlsClient,
	}
	if p.dialer == nil {
		p.dialer = &net.Dialer{Timeout: 10 * time.Second}
	}
	p.raft = newChannelListener(ln.Addr())
	p.rpc = newChannelListener(ln.Addr())
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
		select {
		case p.pending <- struct{}{}:
		default:
			p.log.Warn().Str("remote", conn.RemoteAddr().String()).Msg("too many pending cluster handshakes: connection dropped")
			conn.Close()
			continue
		}
		go p.admit(conn)
	}
}

func (p *Port) admit(conn net.Conn) {
	defer func() { <-p.pending }()
	channel, err := serverHandshake(conn, p.secret)
	if err != nil {
		p.log.Warn().Err(err).Str("remote", conn.RemoteAddr().String()).Msg("cluster connection refused")
		conn.Close()
		return
	}
	target := p.rpc
	if channel == channelRaft {
		target = p.raft
	}
	if !target.deliver(conn) {
		conn.Close()
	}
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

// dial opens an authenticated connection to a peer's cluster port.
func (p *Port) dial(ctx context.Context, addr string, channel byte) (net.Conn, error) {
	conn, err := p.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if p.tlsClient != nil {
		cfg := p.tlsClient.Clone()
		if host, _, err := net.SplitHostPort(addr); err == nil {
			cfg.ServerName = host
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("cluster TLS handshake with %s: %w", addr, err)
		}
		conn = tc
	}
	deadline, _ := ctx.Deadline()
	if err := clientHandshake(conn, p.secret, channel, deadline); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
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
	return r.port.dial(ctx, string(addr), channelRaft)
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
