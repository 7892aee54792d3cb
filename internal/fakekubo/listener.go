package fakekubo

import (
	"net"
	"sync"
	"time"
)

// switchListener lets the fake go down and come back on the same address.
// Down closes the real listener, so clients get "connection refused" exactly
// as from a dead daemon, while the http.Server keeps running: its Accept
// simply waits until the listener is back.
type switchListener struct {
	addr net.Addr

	mu      sync.Mutex
	inner   net.Listener // nil while down
	upCh    chan struct{}
	closed  bool
	closeCh chan struct{}
}

func newSwitchListener(ln net.Listener) *switchListener {
	return &switchListener{addr: ln.Addr(), inner: ln, upCh: make(chan struct{}), closeCh: make(chan struct{})}
}

func (l *switchListener) Accept() (net.Conn, error) {
	for {
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return nil, net.ErrClosed
		}
		inner, up := l.inner, l.upCh
		l.mu.Unlock()
		if inner == nil {
			select {
			case <-up:
			case <-l.closeCh:
			}
			continue
		}
		c, err := inner.Accept()
		if err == nil {
			return c, nil
		}
		l.mu.Lock()
		switched := l.inner != inner || l.closed
		l.mu.Unlock()
		if !switched {
			return nil, err
		}
	}
}

func (l *switchListener) takeDown() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inner != nil {
		l.inner.Close()
		l.inner = nil
	}
}

// bringUp listens again on the original address. The port is free since we
// held it until takeDown, but the kernel may need a moment, so it retries.
func (l *switchListener) bringUp() error {
	var err error
	for range 50 {
		var ln net.Listener
		ln, err = net.Listen("tcp", l.addr.String())
		if err == nil {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.closed {
				return ln.Close()
			}
			l.inner = ln
			close(l.upCh)
			l.upCh = make(chan struct{})
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

func (l *switchListener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	close(l.closeCh)
	if l.inner != nil {
		return l.inner.Close()
	}
	return nil
}

func (l *switchListener) Addr() net.Addr { return l.addr }
