package cluster

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// A join that cannot succeed ends as soon as the start's context does (an
// operator's Ctrl-C or SIGTERM to the daemon), with that context's error,
// not after the join's minute of attempts.
func TestAJoinEndsWithItsContext(t *testing.T) {
	silent, attempted := silentBootstrap(t)
	p := &testPeer{t: t, dir: t.TempDir(), up: newMemUpstream(), repinDelay: time.Second}
	p.id, p.key = newPeerIdentity(t)
	start, stop := context.WithCancel(context.Background())
	defer stop()
	started := make(chan error, 1)
	go func() {
		n, err := New(start, p.config(silent))
		if n != nil {
			n.Close()
		}
		started <- err
	}()
	select {
	case <-attempted:
	case <-time.After(20 * time.Second):
		t.Fatal("the peer never tried to join through its bootstrap address")
	}
	stop()
	// Well short of the join's minute, and of one attempt's 15 s.
	select {
	case err := <-started:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("a join ended by its context returned %v, want the context's error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the join went on after its context ended")
	}
}

// silentBootstrap is a cluster address that takes connections and never
// answers: a join through it cannot succeed, and each attempt waits. The
// channel says when the first attempt arrived.
func silentBootstrap(t *testing.T) (addr string, attempted <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	arrived := make(chan struct{})
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if conns = append(conns, c); len(conns) == 1 {
				close(arrived)
			}
		}
	}()
	return ln.Addr().String(), arrived
}
