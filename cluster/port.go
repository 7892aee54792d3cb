package cluster

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

// clusterPort is the one listener that carries Raft and peer RPC. It
// authenticates each connection, then hands it to the protocol it asked for.
type clusterPort struct {
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

// Dialer opens a TCP connection; *net.Dialer is one.
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

func newClusterPort(ln net.Listener, secret []byte, log zerolog.Logger) *clusterPort {
	p := &clusterPort{
		ln:      ln,
		secret:  secret,
		log:     log,
		pending: make(chan struct{}, maxPendingHandshakes),
		dialer:  &net.Dialer{Timeout: 10 * time.Second},
	}
	p.raft = newChannelListener(ln.Addr())
	p.rpc = newChannelListener(ln.Addr())
	return p
}

func (p *clusterPort) serve() {
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

func (p *clusterPort) admit(conn net.Conn) {
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

func (p *clusterPort) close() error { return p.ln.Close() }

// dial opens an authenticated connection to a peer's cluster port.
func (p *clusterPort) dial(ctx context.Context, addr string, channel byte) (net.Conn, error) {
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
	port *clusterPort
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
