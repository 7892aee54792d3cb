// Package linewriter gathers the lines of a long listing into large
// writes. A million pins written and flushed one line at a time cost a
// system call each, more than everything else a listing does; gathered,
// they cost one per chunk. A line still never waits long: a part of a
// listing that comes slowly (another peer, the IPFS node) reaches the
// client as it comes.
package linewriter

import (
	"io"
	"sync"
	"time"
)

const (
	// Chunk is how many bytes are gathered before they are written.
	Chunk = 256 << 10
	// MaxDelay is how long a gathered line may wait for more.
	MaxDelay = 100 * time.Millisecond
)

// Writer is safe for the one goroutine that writes lines and the timer
// that sends what has waited MaxDelay.
type Writer struct {
	mu    sync.Mutex
	w     io.Writer
	flush func() error
	buf   []byte
	timer *time.Timer
	armed bool
	err   error
}

// New returns a Writer that writes to w, and calls flush (may be nil)
// after each write so that the bytes leave at once.
func New(w io.Writer, flush func() error) *Writer {
	lw := &Writer{w: w, flush: flush}
	lw.timer = time.AfterFunc(time.Hour, lw.late)
	lw.timer.Stop()
	return lw
}

// Write gathers p, which should end with a line's end. It reports the
// error of an earlier write, once the bytes have failed to go out.
func (lw *Writer) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.err != nil {
		return 0, lw.err
	}
	lw.buf = append(lw.buf, p...)
	switch {
	case len(lw.buf) >= Chunk:
		lw.send()
	case !lw.armed:
		lw.armed = true
		lw.timer.Reset(MaxDelay)
	}
	return len(p), lw.err
}

// Flush sends what is gathered, and stops the timer: after it, the
// caller may use the underlying writer directly again.
func (lw *Writer) Flush() error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	lw.send()
	return lw.err
}

// late sends the lines that waited MaxDelay.
func (lw *Writer) late() {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.armed {
		lw.send()
	}
}

func (lw *Writer) send() {
	lw.timer.Stop()
	lw.armed = false
	if len(lw.buf) == 0 || lw.err != nil {
		return
	}
	_, err := lw.w.Write(lw.buf)
	lw.buf = lw.buf[:0]
	if err == nil && lw.flush != nil {
		err = lw.flush()
	}
	lw.err = err
}
