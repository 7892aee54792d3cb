package intercept

import (
	"bytes"
	"io"
	"net/http"
)

// holdMode says which upstream lines a pinningBody keeps back.
type holdMode uint8

const (
	// holdLast passes lines on as soon as a newer one arrives, so the final
	// line (the root of an add) reaches the client only after the pins.
	holdLast holdMode = iota
	// holdAll keeps every line until the end (dag/import's Stats line must
	// follow the Root lines).
	holdAll
	// dropAll parses lines but passes none on.
	dropAll
)

// pinningBody is an upstream response body that shows each NDJSON line to
// onLine as it streams through, and at the upstream's end of stream runs
// finish before releasing the held lines and its own EOF. A finish error
// goes in the X-Stream-Error trailer, which the reverse proxy copies after
// the body, so a client that reads to the end sees the pin failure.
type pinningBody struct {
	src     io.ReadCloser
	trailer http.Header
	mode    holdMode
	onLine  func(line []byte)
	finish  func(trailer http.Header) (head []byte, errMsg string)

	buf     []byte
	pending []byte // read from upstream, not yet released
	scanned int    // prefix of pending already split into lines
	ready   []byte // released, not yet returned to the reader
	srcEOF  bool   // the upstream said EOF with data still to return first
	eof     bool
}

func newPinningBody(src io.ReadCloser, trailer http.Header, mode holdMode, onLine func([]byte), finish func(http.Header) ([]byte, string)) *pinningBody {
	return &pinningBody{src: src, trailer: trailer, mode: mode, onLine: onLine, finish: finish, buf: make([]byte, 32<<10)}
}

func (b *pinningBody) Read(p []byte) (int, error) {
	for len(b.ready) == 0 {
		if b.eof {
			return 0, io.EOF
		}
		if err := b.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, b.ready)
	b.ready = b.ready[n:]
	return n, nil
}

func (b *pinningBody) Close() error { return b.src.Close() }

func (b *pinningBody) fill() error {
	if b.srcEOF {
		b.end()
		return nil
	}
	n, err := b.src.Read(b.buf)
	if n > 0 {
		b.pending = append(b.pending, b.buf[:n]...)
		b.scan()
	}
	if err == io.EOF {
		// Lines released by this read reach the client before the pins
		// start; only the held ones wait for them.
		if len(b.ready) > 0 {
			b.srcEOF = true
			return nil
		}
		b.end()
		return nil
	}
	// Any other error aborts the response: the upstream broke off, so
	// nothing was stored whole and nothing is pinned.
	return err
}

// scan hands complete new lines to onLine and releases what the mode allows.
func (b *pinningBody) scan() {
	last := -1
	for {
		i := bytes.IndexByte(b.pending[b.scanned:], '\n')
		if i < 0 {
			break
		}
		b.onLine(b.pending[b.scanned : b.scanned+i+1])
		last = b.scanned
		b.scanned += i + 1
	}
	switch b.mode {
	case holdLast:
		if last > 0 {
			b.release(last)
		}
	case dropAll:
		b.pending = b.pending[b.scanned:]
		b.scanned = 0
	}
}

func (b *pinningBody) release(n int) {
	b.ready = append(b.ready, b.pending[:n]...)
	b.pending = append(b.pending[:0], b.pending[n:]...)
	b.scanned -= n
}

// end runs at the upstream's EOF, when the transport has filled the trailer.
func (b *pinningBody) end() {
	b.eof = true
	if b.scanned < len(b.pending) {
		b.onLine(b.pending[b.scanned:])
	}
	if b.mode == dropAll {
		b.pending = nil
	}
	head, msg := b.finish(b.trailer)
	b.ready = append(b.ready, head...)
	b.ready = append(b.ready, b.pending...)
	b.pending = nil
	if msg != "" {
		b.trailer.Set(hdrStreamError, msg)
	}
}
