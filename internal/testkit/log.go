package testkit

import (
	"io"
	"sync"
	"testing"

	"github.com/rs/zerolog"
)

// LogWriter writes log lines to t's log until t's cleanups run, and drops
// them after: goroutines that a test cannot wait for (the connection
// handlers of hashicorp/raft's transport, which log as they see their
// connection close) may log after the test ended, which the testing
// package turns into a panic of the whole test binary.
func LogWriter(t testing.TB) io.Writer {
	w := &untilCleanup{w: zerolog.NewTestWriter(t)}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return w
}

type untilCleanup struct {
	mu   sync.Mutex
	done bool
	w    io.Writer
}

func (u *untilCleanup) Write(p []byte) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return len(p), nil
	}
	return u.w.Write(p)
}
