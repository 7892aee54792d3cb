// Package slowclient bounds how long a client can keep a server waiting,
// on the listeners that have no overall read or write timeout because a
// call may rightly take hours (an upload, a pin of a large DAG, a pubsub
// subscription):
//
//   - a body that is not streamed must arrive whole within BodyDeadline;
//   - a streamed body may take any time, but no read of it waits more than
//     Idle for the next bytes (nginx's client_body_timeout), and after its
//     first Idle it must keep up an average of MinRate bytes a second
//     (Apache's mod_reqtimeout MinRate), so that a byte now and then does
//     not hold a connection for ever;
//   - no write of the answer waits more than Send for the client to take
//     bytes (nginx's send_timeout). It is longer than Idle: a client that
//     pauses to read is common (`ipfs cat | less` stops reading while the
//     user reads the page), one that pauses while it sends is not.
//
// A client that stops sending, trickles or stops reading thus frees its
// connection and its goroutine, while a slow but live one goes on.
// Listener bounds the connections served at once.
package slowclient

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

// Defaults: Idle is nginx's client_body_timeout, MinRate Apache's
// mod_reqtimeout's, far below any real link.
const (
	DefaultBodyDeadline = 30 * time.Second
	DefaultIdle         = 60 * time.Second
	DefaultMinRate      = 500
	DefaultSend         = 10 * time.Minute
)

// Limits are the waits a client may impose; a zero field sets no limit.
type Limits struct {
	// BodyDeadline is how long a body that is not streamed may take to
	// arrive whole.
	BodyDeadline time.Duration
	// Idle is the longest a read of a streamed body may wait on the
	// client.
	Idle time.Duration
	// MinRate is the average, in bytes a second, that a streamed body
	// must keep up from its first read on; its first Idle is credit, so
	// it applies only with Idle set.
	MinRate int
	// Send is the longest a write of the answer may wait on the client.
	Send time.Duration
	// MaxConns bounds the connections served at once (Listener).
	MaxConns int
}

// Defaults are the limits of the daemon's listeners.
var Defaults = Limits{
	BodyDeadline: DefaultBodyDeadline, Idle: DefaultIdle, MinRate: DefaultMinRate,
	Send: DefaultSend, MaxConns: DefaultMaxConns,
}

// TooSlow answers a request whose body a limit cut, in its API's error
// shape; msg says which limit. Without it the client, which may still be
// there, would get an empty 200: the handler sees its request's context
// canceled by the failed read, as if the client had gone.
type TooSlow func(w http.ResponseWriter, r *http.Request, msg string)

// Handler applies l to every request h serves. streams says which
// requests stream their body (nil: none); tooSlow, when set, answers a
// request whose body was cut and to which h wrote nothing.
func Handler(h http.Handler, l Limits, streams func(*http.Request) bool, tooSlow TooSlow) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		// A deadline left by the connection's last request must not cut
		// this one's first write, which may come long after it starts.
		_ = rc.SetWriteDeadline(time.Time{})
		var body *readTimeout
		if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
			// On a copy: the server must still see its own body, to close
			// rather than reuse a connection whose body was cut short.
			streamed := streams != nil && streams(r)
			if body = l.body(r, rc, streamed); body != nil {
				r = r.WithContext(r.Context())
				r.Body = body
			}
		}
		sw := &sendTimeout{ResponseWriter: w, rc: rc, send: l.Send}
		h.ServeHTTP(sw, r)
		if body != nil && body.cut.Load() && !sw.wrote && tooSlow != nil {
			sw.arm()
			tooSlow(sw, r, l.cutMessage(body.idle > 0))
		}
		// net/http flushes what is buffered once the handler returns.
		sw.arm()
	})
}

// body wraps r's body in the limits that apply to it, or returns nil when
// none does.
func (l Limits) body(r *http.Request, rc *http.ResponseController, streamed bool) *readTimeout {
	b := &readTimeout{ReadCloser: r.Body, rc: rc}
	switch {
	case streamed && l.Idle > 0:
		b.idle, b.minRate = l.Idle, l.MinRate
	case streamed, l.BodyDeadline <= 0 || rc.SetReadDeadline(time.Now().Add(l.BodyDeadline)) != nil:
		return nil
	}
	return b
}

// cutMessage says which limit cut a body.
func (l Limits) cutMessage(streamed bool) string {
	if !streamed {
		return fmt.Sprintf("the request's body did not arrive within %v, and was cut", l.BodyDeadline)
	}
	if l.MinRate > 0 {
		return fmt.Sprintf("the request's body came too slowly, and was cut: a wait of over %v for its next bytes, or under %d bytes a second after its first %v", l.Idle, l.MinRate, l.Idle)
	}
	return fmt.Sprintf("the request's body came too slowly, and was cut: a wait of over %v for its next bytes", l.Idle)
}

// readTimeout bounds the reads of a body: the whole of it (a deadline set
// once), or each read (idle). Once the body has arrived whole, the deadline
// is lifted: left in place, it would end a long answer when the server's
// background read of the connection hits it. A body cut short keeps its
// deadline, so that the server's drain of the rest fails at once too and
// the connection closes, rather than waiting on the client for ever.
type readTimeout struct {
	io.ReadCloser
	rc      *http.ResponseController
	idle    time.Duration
	minRate int
	// read is the bytes read so far, and waited the time the reads spent
	// waiting for them: the client's time, not the handler's between
	// reads (a slow upstream's, say).
	read   int64
	waited time.Duration
	done   bool
	// cut is set when a limit ended the body; the handler may read the
	// body on another goroutine (a reverse proxy's transport).
	cut atomic.Bool
}

func (b *readTimeout) Read(p []byte) (int, error) {
	var began time.Time
	if b.idle > 0 && !b.done {
		began = time.Now()
		_ = b.rc.SetReadDeadline(began.Add(b.allowed()))
	}
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	if !began.IsZero() {
		b.waited += time.Since(began)
	}
	if err != nil && !b.done {
		b.done = true
		switch {
		case errors.Is(err, io.EOF):
			_ = b.rc.SetReadDeadline(time.Time{})
		case errors.Is(err, os.ErrDeadlineExceeded):
			b.cut.Store(true)
		}
	}
	return n, err
}

// allowed is how long the next read of a streamed body may wait: Idle,
// unless the body fell behind MinRate over the time its reads waited, in
// which case only what is left of its credit: the first Idle, plus a
// second for every MinRate bytes read. A body that keeps up is bound by
// Idle alone.
func (b *readTimeout) allowed() time.Duration {
	rate := float64(b.minRate)
	if b.minRate <= 0 || float64(b.read) >= b.waited.Seconds()*rate {
		return b.idle
	}
	// Behind, read/rate is less than waited: no overflow.
	return b.idle + time.Duration(float64(b.read)/rate*float64(time.Second)) - b.waited
}

// sendTimeout gives each write of the answer Send to be taken, and notes
// whether the handler began its answer.
type sendTimeout struct {
	http.ResponseWriter
	rc    *http.ResponseController
	send  time.Duration
	wrote bool
}

func (w *sendTimeout) WriteHeader(code int) {
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *sendTimeout) arm() {
	if w.send > 0 {
		_ = w.rc.SetWriteDeadline(time.Now().Add(w.send))
	}
}

func (w *sendTimeout) Write(p []byte) (int, error) {
	w.wrote = true
	w.arm()
	return w.ResponseWriter.Write(p)
}

// Flush is for the handlers that assert http.Flusher.
func (w *sendTimeout) Flush() { _ = w.FlushError() }

// FlushError is what http.ResponseController calls.
func (w *sendTimeout) FlushError() error {
	w.wrote = true
	w.arm()
	return w.rc.Flush()
}

// Unwrap lets http.ResponseController reach the connection (hijacking an
// upgrade, full duplex, deadlines).
func (w *sendTimeout) Unwrap() http.ResponseWriter { return w.ResponseWriter }
