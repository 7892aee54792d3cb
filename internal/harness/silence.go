package harness

import (
	"context"
	"net"
	"sync"
)

// Silence takes the peer at addr off the network as a pulled cable does to
// TCP, where Cut closes its connections as a stopped process would: nothing
// it sends arrives, nothing sent to it is answered, dials to and from it
// hang until their deadline, and no connection is closed. A caller learns
// of it only by a timeout of its own. Unsilence puts it back.
func (n *Network) Silence(addr string) {
	n.quiet.mu.Lock()
	defer n.quiet.mu.Unlock()
	if n.quiet.addrs == nil {
		n.quiet.addrs = map[string]bool{}
		n.quiet.healed = make(chan struct{})
	}
	n.quiet.addrs[addr] = true
}

// Unsilence lets the peer at addr talk again.
func (n *Network) Unsilence(addr string) {
	n.quiet.mu.Lock()
	defer n.quiet.mu.Unlock()
	if !n.quiet.addrs[addr] {
		return
	}
	delete(n.quiet.addrs, addr)
	close(n.quiet.healed)
	n.quiet.healed = make(chan struct{})
}

type silence struct {
	mu     sync.Mutex
	addrs  map[string]bool
	healed chan struct{} // closed when some peer is unsilenced
}

// silent reports whether either end is silenced, and the channel closed at
// the next Unsilence.
func (n *Network) silent(ends [2]string) (bool, <-chan struct{}) {
	n.quiet.mu.Lock()
	defer n.quiet.mu.Unlock()
	return n.quiet.addrs[ends[0]] || n.quiet.addrs[ends[1]], n.quiet.healed
}

// hang waits, as a dial into the void does, for ctx or an Unsilence.
func (n *Network) hang(ctx context.Context, ends [2]string) error {
	for {
		quiet, healed := n.silent(ends)
		if !quiet {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-healed:
		}
	}
}

// quietConn drops what is written while an end is silenced, and holds its
// reads until the silence ends or the connection closes.
type quietConn struct {
	net.Conn
	net    *Network
	ends   [2]string
	closed chan struct{}
	once   sync.Once
}

func (c *quietConn) Write(p []byte) (int, error) {
	if quiet, _ := c.net.silent(c.ends); quiet {
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func (c *quietConn) Read(p []byte) (int, error) {
	for {
		quiet, healed := c.net.silent(c.ends)
		if !quiet {
			return c.Conn.Read(p)
		}
		select {
		case <-c.closed:
			return 0, net.ErrClosed
		case <-healed:
		}
	}
}

func (c *quietConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}
