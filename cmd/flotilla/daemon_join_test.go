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
)

// A signal while the daemon joins its cluster stops it at once, not after
// the join's minute, and it says that the signal stopped it, not that the
// join failed.
func TestASignalWhileJoiningStopsTheDaemon(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	env := daemonEnv(home)
	stderr, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	logged := func() string {
		b, _ := os.ReadFile(stderr.Name())
		return string(b)
	}
	ctx, signal := context.WithCancelCause(context.Background())
	defer signal(nil)
	exited := make(chan int, 1)
	go func() {
		exited <- Run(ctx, []string{"daemon", "--init", "--bootstrap", refusingAddr(t)}, Env{Stdout: &strings.Builder{}, Stderr: stderr, Environ: env})
	}()
	testkit.Eventually(t, "the daemon trying to join", func() bool { return strings.Contains(logged(), "join attempt failed") },
		testkit.Within(30*time.Second))
	signal(errors.New("terminated signal received"))
	select {
	case code := <-exited:
		out := logged()
		if code != 0 || !strings.Contains(out, "shutting down before the peer started") ||
			!strings.Contains(out, "terminated signal received") || strings.Contains(out, "could not join") {
			t.Fatalf("a daemon stopped while it joined: exit %d, stderr:\n%s", code, out)
		}
	case <-time.After(15 * time.Second): // the join alone would go on for a minute
		t.Fatalf("the daemon still runs after its signal; stderr:\n%s", logged())
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
