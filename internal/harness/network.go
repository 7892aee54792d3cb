package harness

import (
	"context"
	"errors"
	"net"
	"sync"
)

// Network is loopback TCP with a switch per peer: a cut peer can neither
// accept nor dial, and its open connections are closed, as if its cable
// were pulled.
type Network struct {
	mu    sync.Mutex
	cut   map[string]bool            // peer address -> cut off
	conns map[*trackedConn]struct{}  // every open connection
	owner map[*trackedConn][2]string // the two peer addresses it joins ("" when unknown)
	links map[[2]string]bool         // cut links between two peers (partition.go)
	tap   Tap                        // set before the first dial
	quiet silence                    // silence.go
}

// Tap wraps a connection that the peer at from dialed to the address to.
type Tap func(from, to string, conn net.Conn) net.Conn

func NewNetwork() *Network {
	return &Network{cut: map[string]bool{}, conns: map[*trackedConn]struct{}{}, owner: map[*trackedConn][2]string{}}
}

var errCut = errors.New("harness: peer is cut off the network")

// Listen opens a loopback listener for a peer, on addr ("127.0.0.1:0" for
// a fresh port).
func (n *Network) Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &listener{Listener: ln, net: n, self: ln.Addr().String()}, nil
}

// Dialer returns the dialer the peer at self uses.
func (n *Network) Dialer(self string) *Dialer { return &Dialer{net: n, self: self} }

// Cut takes the peer at addr off the network.
func (n *Network) Cut(addr string) {
	n.mu.Lock()
	n.cut[addr] = true
	var victims []*trackedConn
	for c := range n.conns {
		if o := n.owner[c]; o[0] == addr || o[1] == addr {
			victims = append(victims, c)
		}
	}
	n.mu.Unlock()
	for _, c := range victims {
		c.Close()
	}
}

// Heal puts the peer back.
func (n *Network) Heal(addr string) {
	n.mu.Lock()
	delete(n.cut, addr)
	n.mu.Unlock()
}

func (n *Network) isCut(addrs ...string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, a := range addrs {
		if n.cut[a] {
			return true
		}
	}
	return false
}

func (n *Network) track(c net.Conn, a, b string) net.Conn {
	tc := &trackedConn{Conn: c, net: n}
	n.mu.Lock()
	n.conns[tc] = struct{}{}
	n.owner[tc] = [2]string{a, b}
	n.mu.Unlock()
	return tc
}

func (n *Network) quieten(c net.Conn, ends [2]string) net.Conn {
	return &quietConn{Conn: c, net: n, ends: ends, closed: make(chan struct{})}
}

type trackedConn struct {
	net.Conn
	net  *Network
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.net.mu.Lock()
		delete(c.net.conns, c)
		delete(c.net.owner, c)
		c.net.mu.Unlock()
	})
	return c.Conn.Close()
}

type listener struct {
	net.Listener
	net  *Network
	self string
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.net.isCut(l.self) {
			c.Close()
			continue
		}
		return l.net.quieten(l.net.track(c, l.self, ""), [2]string{l.self, ""}), nil
	}
}

// Dialer dials on behalf of one peer.
type Dialer struct {
	net  *Network
	self string
	d    net.Dialer
}

func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if d.net.isCut(d.self, addr) || d.net.linkCut(d.self, addr) {
		return nil, errCut
	}
	if err := d.net.hang(ctx, [2]string{d.self, addr}); err != nil {
		return nil, err
	}
	c, err := d.d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	tc := d.net.quieten(d.net.track(c, d.self, addr), [2]string{d.self, addr})
	if d.net.tap != nil {
		return d.net.tap(d.self, addr, tc), nil
	}
	return tc, nil
}
