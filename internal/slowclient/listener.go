package slowclient

import (
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// DefaultMaxConns bounds the connections a listener serves at once: far
// more than any set of real clients keeps open, few enough (about 20 KiB a
// connection) that holding them all takes no more than tens of MiB.
const DefaultMaxConns = 4096

// refuseWithin bounds the work spent on a refused connection.
const refuseWithin = 2 * time.Second

// Listener serves at most max connections of ln at once. Beyond that, it
// answers each new connection with refusal, a whole HTTP response, and
// closes it: one client holding many connections (each sending a byte now
// and then, which the per-read limits allow) cannot take the server's
// memory, and the others learn why they are turned away instead of
// waiting in the kernel's queue. A max of zero or less is DefaultMaxConns.
func Listener(ln net.Listener, max int, refusal []byte) net.Listener {
	if max <= 0 {
		max = DefaultMaxConns
	}
	return &limitListener{Listener: ln, slots: make(chan struct{}, max), refusal: refusal}
}

// Refusal is an HTTP 503 answer carrying body, of the given content type.
func Refusal(contentType string, body []byte) []byte {
	head := fmt.Sprintf("HTTP/1.1 503 Service Unavailable\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", contentType, len(body))
	return append([]byte(head), body...)
}

type limitListener struct {
	net.Listener
	slots   chan struct{}
	refusal []byte
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return &limitedConn{Conn: c, release: func() { <-l.slots }}, nil
		default:
			go refuse(c, l.refusal)
		}
	}
}

// refuse answers c and closes it once the client has had the answer: the
// request it sends meanwhile is read and dropped, so that the close does
// not reset the connection before the answer is read.
func refuse(c net.Conn, answer []byte) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(refuseWithin))
	if _, err := c.Write(answer); err != nil {
		return
	}
	if hc, ok := c.(interface{ CloseWrite() error }); ok {
		_ = hc.CloseWrite()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(c, 64<<10))
}

// limitedConn gives its slot back once, at its first Close.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
