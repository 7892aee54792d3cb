package forward

import (
	"context"
	"io"
	"net"
	"sync"
)

// copyBufferSize is the size of the buffers that carry bodies through the
// proxy, in both directions. Go's default is 32 KiB: on loopback each
// chunk costs a read and a write system call (and a chunk header on the
// client's side), so an upload of 4 MiB took 256 of them. 256 KiB chunks
// cut that eightfold.
const copyBufferSize = 256 << 10

// IOBufferSize is the transport's own read and write buffers, which hold
// the response head and the chunks that Kubo streams (Go's default is 4 KiB).
const IOBufferSize = 32 << 10

var buffers = sync.Pool{New: func() any {
	b := make([]byte, copyBufferSize)
	return &b
}}

// bufferPool lends the reverse proxy the response's copy buffers.
type bufferPool struct{}

func (bufferPool) Get() []byte { return *buffers.Get().(*[]byte) }

func (bufferPool) Put(b []byte) {
	if cap(b) == copyBufferSize {
		buffers.Put(&b)
	}
}

// Dialer wraps dial so that the connections it makes copy request bodies
// with copyBufferSize buffers. net/http writes a request body with
// io.Copy into the connection, which would use 32 KiB.
func Dialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return bigCopyConn{c}, nil
	}
}

// bigCopyConn is a connection whose ReadFrom copies in large chunks.
type bigCopyConn struct{ net.Conn }

// writerOnly hides ReadFrom, so that io.CopyBuffer uses the buffer.
type writerOnly struct{ io.Writer }

func (c bigCopyConn) ReadFrom(r io.Reader) (int64, error) {
	bp := buffers.Get().(*[]byte)
	defer buffers.Put(bp)
	return io.CopyBuffer(writerOnly{c.Conn}, r, *bp)
}
