package forward

import (
	"io"
	"net/http"
	"sync/atomic"
)

// In full duplex, Go's HTTP/1 server leaves the request body to the
// handler, and a reverse proxy could drop a keep-alive connection without
// a word, which the client meets as EPIPE or ECONNRESET (issue 11: an EPIPE
// on a dag put through the proxy that never happens against Kubo):
//
//   - Kubo (go-ipfs-cmds) answers "Connection: close" when it starts its
//     answer before it has read the body to the end, as when a dag put
//     fails on its first bytes, and then closes. The reverse proxy drops
//     that header as hop-by-hop. The proxy's server, when the handler
//     returns with more than 256 KiB of the body unread, also closes the
//     connection, but after an answer sent as keep-alive: the client still
//     writes its upload, or sends the next request, into a closed socket.
//   - The transport reads the body in its own goroutine, which can outlive
//     the handler. If that read reaches the end after the handler returned,
//     the server starts its background read just as it reads the next
//     request, panics with "invalid concurrent Body.Read call"
//     (golang/go#68560), and drops the connection.
//
// So the proxy says "Connection: close" when Kubo said it and its answer is
// not a stream (a stream, such as add's progress, goes on reading the
// upload), and it keeps every other connection it answered as keep-alive:
// before the handler returns, finish reads what is left of the body and
// closes it, so that no read outlives the handler.

// eofBodyKey carries the request's eofBody to closingTransport.
type eofBodyKey struct{}

// eofBody is a request body that knows whether it was read to its end.
type eofBody struct {
	io.ReadCloser
	eof atomic.Bool
	// closing: the upstream said "Connection: close" before the end of the
	// body, in an answer that is not a stream.
	closing atomic.Bool
	// announced: the client was told "Connection: close".
	announced atomic.Bool
}

func (b *eofBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof.Store(true)
	}
	return n, err
}

// finish runs before the handler returns: a connection answered as
// keep-alive has its body read to the end, so that the server keeps it.
func (b *eofBody) finish() {
	if !b.eof.Load() && !b.announced.Load() {
		_, _ = io.Copy(io.Discard, b)
	}
	b.Close()
}

// closingTransport notes Kubo's "Connection: close" on the request body
// before the reverse proxy removes the header.
type closingTransport struct{ http.RoundTripper }

func (t closingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := t.RoundTripper.RoundTrip(r)
	if err != nil || !res.Close {
		return res, err
	}
	b, ok := r.Context().Value(eofBodyKey{}).(*eofBody)
	if ok && !b.eof.Load() && res.Header.Get("X-Chunked-Output") == "" && res.Header.Get("X-Stream-Output") == "" {
		b.closing.Store(true)
	}
	return res, nil
}

// duplexWriter passes Kubo's "Connection: close" on to the client.
type duplexWriter struct {
	http.ResponseWriter
	body        *eofBody
	wroteHeader bool
}

func (w *duplexWriter) WriteHeader(code int) {
	// 1xx answers are not the answer.
	if !w.wroteHeader && code >= 200 {
		w.wroteHeader = true
		if w.body.closing.Load() && !w.body.eof.Load() {
			w.Header().Set("Connection", "close")
			w.body.announced.Store(true)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *duplexWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *duplexWriter) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *duplexWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
