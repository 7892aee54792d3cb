package forward

import (
	"context"
	"net/http"
	"sync/atomic"
)

// The reverse proxy flushes after every write of an answer, and once more,
// from a timer goroutine, as it starts copying. Kubo writes a small answer
// (version, id, most calls) in one go: head, body and the chunked end in
// one packet. Passed on with those flushes it left the proxy in three
// writes, each a system call and a wake-up of the client.
//
// A coalescingWriter holds those flushes back and flushes when the upstream
// stalls instead: its connection (directConn) tells it before each read of
// the socket while the body is copied, that is once everything the upstream
// sent so far has been written on. A stream still reaches the client as it
// comes (an event at a time, pubsub's lone head), and an answer that
// arrived whole leaves whole when the handler returns.

type coalescerKey struct{}

type coalescingWriter struct {
	http.ResponseWriter
	// direct: Direct carries the exchange and tells of stalls; otherwise
	// every flush goes through.
	direct atomic.Bool
	// ended: the upstream's body was read to its end.
	ended atomic.Bool
}

func coalescerOf(ctx context.Context) *coalescingWriter {
	w, _ := ctx.Value(coalescerKey{}).(*coalescingWriter)
	return w
}

// Flush is the reverse proxy's. After the end of the body it flushes to
// force a chunked answer so that trailers can follow; a declared Trailer
// header forces that already, and the answer leaves whole.
func (w *coalescingWriter) Flush() {
	if w.direct.Load() && (!w.ended.Load() || w.Header()["Trailer"] != nil) {
		return
	}
	w.flushNow()
}

func (w *coalescingWriter) flushNow() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *coalescingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Prepare readies w and r for one forwarded exchange: a request with a
// body gets full duplex (EnableFullDuplex), one without a coalescing
// writer. The handler forwards the returned request, answers through the
// returned writer, and calls done before it returns (defer it).
func Prepare(w http.ResponseWriter, r *http.Request) (_ http.ResponseWriter, _ *http.Request, done func()) {
	if r.Body != nil && r.Body != http.NoBody {
		w, done := EnableFullDuplex(w, r)
		return w, r, done
	}
	cw := &coalescingWriter{ResponseWriter: w}
	return cw, r.WithContext(context.WithValue(r.Context(), coalescerKey{}, cw)), func() {}
}
