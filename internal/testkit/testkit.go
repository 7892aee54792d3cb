// Package testkit holds what the tests of every package share. Tests wait on
// observable state, never on sleeps standing in for "long enough", and they
// all wait the same way: with Eventually.
package testkit

import (
	"net/http"
	"testing"
	"time"
)

const (
	// DefaultDeadline is long enough for a busy machine to do what an idle
	// one does in milliseconds, and short enough that a condition that will
	// never hold fails the test before the go test timeout kills it without
	// saying what it waited for.
	DefaultDeadline = 10 * time.Second
	// DefaultInterval is short enough that a test waits little past the
	// moment its condition holds.
	DefaultInterval = 10 * time.Millisecond
)

type poll struct {
	deadline, interval time.Duration
}

// Option changes how Eventually polls.
type Option func(*poll)

// Within sets how long Eventually waits before it fails the test.
func Within(d time.Duration) Option { return func(p *poll) { p.deadline = d } }

// Every sets how long Eventually sleeps between two checks: longer for a
// condition that is costly to check, or that asks processes outside the test.
func Every(d time.Duration) Option { return func(p *poll) { p.interval = d } }

// Eventually checks cond until it holds. When it still does not hold after
// the deadline, it fails the test with what it waited for and for how long.
func Eventually(t testing.TB, what string, cond func() bool, opts ...Option) {
	t.Helper()
	p := poll{deadline: DefaultDeadline, interval: DefaultInterval}
	for _, o := range opts {
		o(&p)
	}
	deadline := time.Now().Add(p.deadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", p.deadline, what)
			return
		}
		time.Sleep(p.interval)
	}
}

// SetHeaders sets req's headers from name, value pairs; "Host" sets the
// Host the request names, which a header cannot.
func SetHeaders(req *http.Request, pairs ...string) {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i] == "Host" {
			req.Host = pairs[i+1]
			continue
		}
		req.Header.Set(pairs[i], pairs[i+1])
	}
}
