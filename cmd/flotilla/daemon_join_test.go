package main

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/internal/testkit"
	"github.com/flotilla-ipfs/flotilla/internal/version"
)

// signalledDaemon is a daemon run in-process, its stderr in a file, that
// a test stops as a signal would.
type signalledDaemon struct {
	stderr *os.File
	signal context.CancelCauseFunc
	exited chan int
}

func runSignalledDaemon(t *testing.T, extraEnv []string, args ...string) *signalledDaemon {
	t.Helper()
	stderr, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stderr.Close() })
	ctx, signal := context.WithCancelCause(context.Background())
	t.Cleanup(func() { signal(nil) })
	d := &signalledDaemon{stderr: stderr, signal: signal, exited: make(chan int, 1)}
	env := append(daemonEnv(filepath.Join(t.TempDir(), "home")), extraEnv...)
	go func() {
		d.exited <- Run(ctx, append([]string{"daemon", "--init"}, args...), Env{Stdout: &strings.Builder{}, Stderr: stderr, Environ: env})
	}()
	return d
}

func (d *signalledDaemon) logged() string {
	b, _ := os.ReadFile(d.stderr.Name())
	return string(b)
}

// stop signals the daemon and returns its exit status and what it logged.
func (d *signalledDaemon) stop(t *testing.T, within time.Duration) (int, string) {
	t.Helper()
	d.signal(errors.New("terminated signal received"))
	select {
	case code := <-d.exited:
		return code, d.logged()
	case <-time.After(within):
		t.Fatalf("the daemon still runs after its signal; stderr:\n%s", d.logged())
		return 0, ""
	}
}

// A signal while the daemon joins its cluster stops it at once, not after
// the join's minute, and it says that the signal stopped it, not that the
// join failed.
func TestASignalWhileJoiningStopsTheDaemon(t *testing.T) {
	d := runSignalledDaemon(t, nil, "--bootstrap", refusingAddr(t))
	testkit.Eventually(t, "the daemon trying to join", func() bool { return strings.Contains(d.logged(), "join attempt failed") },
		testkit.Within(30*time.Second))
	code, out := d.stop(t, 15*time.Second) // the join alone would go on for a minute
	if code != 0 || !strings.Contains(out, "shutting down before the peer started") ||
		!strings.Contains(out, "terminated signal received") || strings.Contains(out, "could not join") {
		t.Fatalf("a daemon stopped while it joined: exit %d, stderr:\n%s", code, out)
	}
}

// A signal to a running daemon stops it cleanly: it says which signal, and
// that it stopped, so that its log tells a clean stop from a crash. Its
// start names its version, for the operator of a rolling upgrade.
func TestASignalStopsARunningDaemonAndItSaysSo(t *testing.T) {
	d := runSignalledDaemon(t, nil)
	testkit.Eventually(t, "the daemon started", func() bool { return strings.Contains(d.logged(), "flotilla peer started") },
		testkit.Within(30*time.Second))
	code, out := d.stop(t, 30*time.Second)
	if code != 0 || !strings.Contains(out, `"reason":"terminated signal received","time"`) || !strings.Contains(out, `"message":"stopped"`) ||
		!strings.Contains(out, `"version":"`+version.Version+`"`) {
		t.Fatalf("a daemon stopped by a signal: exit %d, stderr:\n%s", code, out)
	}
}

// A listener bound beyond loopback without credentials is allowed (a
// container's ports published to the host's loopback), but the daemon
// warns of it at start, naming the key that would close it.
func TestAnOpenListenerBeyondLoopbackIsWarnedOf(t *testing.T) {
	d := runSignalledDaemon(t, []string{"FLOTILLA_PINSVC_LISTEN=0.0.0.0:0"})
	testkit.Eventually(t, "the daemon started", func() bool { return strings.Contains(d.logged(), "flotilla peer started") },
		testkit.Within(30*time.Second))
	_, out := d.stop(t, 30*time.Second)
	if !strings.Contains(out, `"key":"pinsvc.listen","listen":"0.0.0.0:0","credentials":"pinsvc.tokens"`) ||
		strings.Contains(out, `"key":"api.listen"`) {
		t.Fatalf("want one warning, of the Pinning Service's open listener; stderr:\n%s", out)
	}
}

// refusingAddr is a loopback address where nothing listens.
func refusingAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
