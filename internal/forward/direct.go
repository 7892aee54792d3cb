package forward

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// Most RPC calls carry no body (version, id, pin ls, cat). net/http's
// transport hands each of them through two goroutines of its own (a write
// loop and a read loop, with a channel send and a wake-up each way), which
// on a loaded two-core machine cost more than the call itself. Direct
// writes such a request and reads its answer on the caller's goroutine,
// over connections of its own; requests with a body go to the fallback
// transport, which streams both ways at once (full duplex).

// Direct pool limits, as the fallback transport's.
const (
	maxIdleDirect     = 64
	directIdleTimeout = 90 * time.Second
)

// Direct is a round tripper for requests without a body.
type Direct struct {
	fallback http.RoundTripper
	dialer   net.Dialer
	mu       sync.Mutex
	idle     []*directConn // most recently used last
}

// NewDirect returns a Direct that sends requests with a body, upgrades and
// anything but plain HTTP to fallback.
func NewDirect(fallback http.RoundTripper) *Direct { return &Direct{fallback: fallback} }

var _ http.RoundTripper = (*Direct)(nil)

// directConn is one keep-alive connection to the upstream. While an answer's
// body is read, out is told before each read of the socket, which is when
// everything the upstream sent so far has been passed on (see coalesce.go).
type directConn struct {
	net.Conn
	addr      string // as dialled
	br        *bufio.Reader
	bw        *bufio.Writer
	idleSince time.Time
	out       *coalescingWriter
}

func (c *directConn) Read(p []byte) (int, error) {
	if c.out != nil {
		c.out.flushNow()
	}
	return c.Conn.Read(p)
}

func directable(r *http.Request) bool {
	return (r.Body == nil || r.Body == http.NoBody) && r.URL.Scheme == "http" &&
		r.Method != http.MethodConnect && r.Header.Get("Upgrade") == "" && r.Header.Get("Expect") == ""
}

// RoundTrip sends r and returns the head of its answer; the body reads the
// rest from the connection, which goes back to the pool once the body is
// read to its end and closed.
func (d *Direct) RoundTrip(r *http.Request) (*http.Response, error) {
	if !directable(r) {
		return d.fallback.RoundTrip(r)
	}
	c, err := d.conn(r.Context(), r.URL.Host)
	if err != nil {
		return nil, err
	}
	// A cancelled request (the client went away) closes the connection,
	// which ends any read or write on it.
	stop := context.AfterFunc(r.Context(), func() { c.Conn.Close() })
	res, err := exchange(c, r)
	if err != nil {
		stop()
		c.Conn.Close()
		if ctxErr := r.Context().Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, err
	}
	if c.out = coalescerOf(r.Context()); c.out != nil {
		c.out.direct.Store(true)
	}
	res.Body = &directBody{ReadCloser: res.Body, d: d, c: c, stop: stop, keep: !res.Close}
	return res, nil
}

func exchange(c *directConn, r *http.Request) (*http.Response, error) {
	if err := r.Write(c.bw); err != nil {
		return nil, err
	}
	if err := c.bw.Flush(); err != nil {
		return nil, err
	}
	for {
		res, err := http.ReadResponse(c.br, r)
		// An informational answer (103 Early Hints) precedes the answer.
		if err != nil || res.StatusCode >= 200 || res.StatusCode == http.StatusSwitchingProtocols {
			return res, err
		}
	}
}

// conn takes the most recently used healthy idle connection, or dials.
func (d *Direct) conn(ctx context.Context, addr string) (*directConn, error) {
	for {
		d.mu.Lock()
		n := len(d.idle)
		if n == 0 {
			d.mu.Unlock()
			break
		}
		c := d.idle[n-1]
		d.idle[n-1] = nil
		d.idle = d.idle[:n-1]
		d.mu.Unlock()
		if c.addr == addr && time.Since(c.idleSince) < directIdleTimeout && idleHealthy(c.Conn) {
			return c, nil
		}
		c.Conn.Close()
	}
	nc, err := d.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &directConn{Conn: nc, addr: addr}
	c.br = bufio.NewReaderSize(c, IOBufferSize)
	c.bw = bufio.NewWriterSize(nc, IOBufferSize)
	return c, nil
}

// idleHealthy tells whether an idle connection can carry a request: the
// upstream has not closed it (a restart, an idle timeout) nor sent
// anything unasked. It reads without waiting, as net/http's transport
// learns the same from the read it keeps pending on idle connections.
func idleHealthy(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	healthy := false
	var b [1]byte
	err = raw.Read(func(fd uintptr) bool {
		n, err := syscall.Read(int(fd), b[:])
		healthy = n < 0 && errors.Is(err, syscall.EAGAIN)
		return true
	})
	return err == nil && healthy
}

func (d *Direct) putIdle(c *directConn) {
	c.out = nil
	c.idleSince = time.Now()
	d.mu.Lock()
	if len(d.idle) < maxIdleDirect {
		d.idle = append(d.idle, c)
		c = nil
	}
	d.mu.Unlock()
	if c != nil {
		c.Conn.Close()
	}
}

// CloseIdleConnections closes the pooled connections, and the fallback's.
func (d *Direct) CloseIdleConnections() {
	d.mu.Lock()
	idle := d.idle
	d.idle = nil
	d.mu.Unlock()
	for _, c := range idle {
		c.Conn.Close()
	}
	if ci, ok := d.fallback.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// directBody returns its connection to the pool when it was read to its
// end, and closes it otherwise: draining an unread answer (a stream that
// never ends) is not an option.
type directBody struct {
	io.ReadCloser
	d      *Direct
	c      *directConn
	stop   func() bool
	keep   bool
	eof    bool
	closed bool
	// connOpen: at the end of the body the request's cancellation had not
	// closed the connection, and no longer can.
	connOpen bool
}

func (b *directBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.eof {
		b.eof = true
		// The exchange is over: a client that leaves now does not cost
		// the connection. stop is false if its leaving closed it already.
		b.connOpen = b.stop()
		if b.c.out != nil {
			b.c.out.ended.Store(true)
		}
	}
	return n, err
}

func (b *directBody) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	if !b.eof {
		b.stop()
		b.c.Conn.Close()
	}
	err := b.ReadCloser.Close()
	if b.eof && b.connOpen && b.keep {
		b.d.putIdle(b.c)
	} else {
		b.c.Conn.Close()
	}
	return err
}
