package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// defaultAnswerWait is how long a call waits for its answer before asking
// the peer whether it answers at all, and how long that question waits. A
// peer whose process is stopped (SIGSTOP, a frozen VM) still has the
// kernel accept connections, so without a bound a command waits forever.
// A plain header timeout would also cut the calls that legitimately wait
// before their first byte: a filtered listing of millions of pins, recover,
// peers rm. A peer that answers GET /version is alive and its call waits on.
const defaultAnswerWait = 30 * time.Second

// errNoAnswer ends a call whose peer answered neither it nor the question.
var errNoAnswer = errors.New("no answer")

// noAnswerError is a peer that took the connection but answered nothing.
type noAnswerError struct {
	api    *url.URL
	waited time.Duration
}

func (e *noAnswerError) Error() string {
	return fmt.Sprintf("the flotilla API at %s did not answer in %s, nor GET /version: the peer is hung or stopped (its connection opened, but nothing answers); set --timeout to wait longer", e.api.Redacted(), e.waited)
}

// send does req, ending it with a *noAnswerError when the peer answers
// neither req nor, past answerWait, a GET /version within answerWait.
// With answerWait zero (--timeout given) it simply does req.
func (c *apiClient) send(req *http.Request) (*http.Response, error) {
	if c.answerWait <= 0 {
		return c.http.Do(req)
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	answered := make(chan struct{})
	start := time.Now()
	go c.watchForAnswer(ctx, cancel, answered)
	resp, err := c.http.Do(req.WithContext(ctx))
	close(answered)
	if err != nil {
		cancel(nil)
		if errors.Is(context.Cause(ctx), errNoAnswer) {
			return nil, &noAnswerError{api: c.base, waited: time.Since(start).Round(time.Second)}
		}
		return nil, err
	}
	// The body is read under ctx: it ends with the body.
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: func() { cancel(nil) }}
	return resp, nil
}

// watchForAnswer asks the peer whether it answers every answerWait until
// the call has its answer, and ends the call when the peer does not.
func (c *apiClient) watchForAnswer(ctx context.Context, cancel context.CancelCauseFunc, answered <-chan struct{}) {
	tick := time.NewTimer(c.answerWait)
	defer tick.Stop()
	for {
		select {
		case <-answered:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if !c.answers(ctx) {
			cancel(errNoAnswer)
			return
		}
		tick.Reset(c.answerWait)
	}
}

// answers reports whether the peer answers GET /version within answerWait,
// on a connection of its own, with any status: a peer that says 401 lives.
// Only silence until the deadline is no answer: a question that fails
// otherwise (refused, reset) says nothing of the call's own connection.
func (c *apiClient) answers(ctx context.Context) bool {
	qctx, cancel := context.WithTimeout(ctx, c.answerWait)
	defer cancel()
	req, err := c.newRequest(qctx, request{method: http.MethodGet, path: "/version"})
	if err != nil {
		return true
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return ctx.Err() != nil || !errors.Is(qctx.Err(), context.DeadlineExceeded)
	}
	resp.Body.Close()
	return true
}

type cancelOnClose struct {
	io.ReadCloser
	cancel func()
}

func (b *cancelOnClose) Close() error {
	defer b.cancel()
	return b.ReadCloser.Close()
}
