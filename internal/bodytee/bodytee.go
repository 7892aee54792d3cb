// Package bodytee reads a request body beside the upstream that reads it:
// every byte the upstream takes is also fed, through a pipe, to a parser
// running in a goroutine of its own. The proxy learns what it must of an
// upload (a CAR's roots, an add's directories) without holding it.
package bodytee

import (
	"context"
	"io"
	"net/http"
)

// Parser runs parse over the teed body and keeps its result.
type Parser[T any] struct {
	pw     *io.PipeWriter
	done   chan struct{}
	result T
	err    error
}

// Start runs parse in a goroutine on what Tee feeds it. Once parse returns,
// the rest of the body is drained, so that the tee never blocks the upload
// whatever parse does.
func Start[T any](parse func(io.Reader) (T, error)) *Parser[T] {
	pr, pw := io.Pipe()
	p := &Parser[T]{pw: pw, done: make(chan struct{})}
	go func() {
		p.result, p.err = parse(pr)
		close(p.done)
		_, _ = io.Copy(io.Discard, pr)
	}()
	return p
}

// Tee returns body with every byte read also fed to the parser. A request
// without a body is never read nor closed by the transport, so the parser
// is told at once.
func (p *Parser[T]) Tee(body io.ReadCloser, contentLength int64) io.ReadCloser {
	if body == nil || body == http.NoBody || contentLength == 0 {
		p.pw.Close()
		return body
	}
	return &teeBody{src: body, pw: p.pw}
}

// Wait returns the parser's result once it has one, or ctx's error. The
// upstream has read the upload by the time it answers, so after its answer
// this does not wait for long.
func (p *Parser[T]) Wait(ctx context.Context) (T, error) {
	select {
	case <-p.done:
		return p.result, p.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// Done returns the parser's result and true once it has one, without
// waiting.
func (p *Parser[T]) Done() (T, bool) {
	select {
	case <-p.done:
		return p.result, true
	default:
		var zero T
		return zero, false
	}
}

type teeBody struct {
	src io.ReadCloser
	pw  *io.PipeWriter
}

func (t *teeBody) Read(b []byte) (int, error) {
	n, err := t.src.Read(b)
	if n > 0 {
		// The parser drains whatever happens, so this write cannot block
		// for long, and its failure must not fail the upload.
		_, _ = t.pw.Write(b[:n])
	}
	if err != nil {
		t.pw.CloseWithError(err) // io.EOF reads as a clean end
	}
	return n, err
}

func (t *teeBody) Close() error {
	t.pw.Close()
	return t.src.Close()
}
