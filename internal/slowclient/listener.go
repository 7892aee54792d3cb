package slowclient

import (
	"bufio"
	"bytes"
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
// closes it: one client holding many connections (each idle, or sending
// just enough to stay within the per-read limits) cannot take the server's
// memory, and the others learn why they are turned away instead of
// waiting in the kernel's queue. A max of zero or less sets no limit, as a
// zero field of Limits does. refused, when not nil, is told of each
// connection turned away, for the operator's metrics and log.
func Listener(ln net.Listener, max int, refusal []byte, refused func()) net.Listener {
	if max <= 0 {
		return ln
	}
	return &limitListener{Listener: ln, slots: make(chan struct{}, max), refusal: refusal, refused: refused}
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
	refused func()
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
			if l.refused != nil {
				l.refused()
			}
			go refuse(c, l.refusal)
		}
	}
}

// refuse answers c and closes it once the client has had the answer. It
// reads the request's head first: an HTTP client takes an answer that
// comes before its request for a broken connection (Go's reports
// "unsolicited response"), not for the server's reply. What follows the
// head is read and dropped, so that the close does not reset the
// connection before the answer is read.
func refuse(c net.Conn, answer []byte) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(refuseWithin))
	if !readHead(bufio.NewReaderSize(io.LimitReader(c, maxRefusedHead), 4096)) {
		return
	}
	if _, err := c.Write(answer); err != nil {
		return
	}
	if hc, ok := c.(interface{ CloseWrite() error }); ok {
		_ = hc.CloseWrite()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(c, 64<<10))
}

// maxRefusedHead bounds what is read of a refused request's head.
const maxRefusedHead = 16 << 10

// readHead reads up to the blank line that ends a request's head, and
// reports whether it came.
func readHead(br *bufio.Reader) bool {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return false
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return true
		}
	}
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
