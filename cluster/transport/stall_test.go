package transport

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/internal/testkit"
)

// stalledListener accepts nothing while held, as the cluster port of a
// stopped process (SIGSTOP, a paused machine): the kernel still completes
// the connections, which wait in its backlog.
type stalledListener struct {
	net.Listener
	mu      sync.Mutex
	resumed chan struct{}
}

func (l *stalledListener) stall() {
	l.mu.Lock()
	l.resumed = make(chan struct{})
	l.mu.Unlock()
}

func (l *stalledListener) resume() {
	l.mu.Lock()
	close(l.resumed)
	l.mu.Unlock()
}

// Accept waits for the end of a stall after the kernel's accept, as the
// port's accept loop may be in it when the stall starts.
func (l *stalledListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	l.mu.Lock()
	resumed := l.resumed
	l.mu.Unlock()
	if resumed != nil {
		<-resumed
	}
	return c, err
}

// countingDialer counts the TCP connections it opened.
type countingDialer struct {
	net.Dialer
	opened atomic.Int32
}

func (d *countingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := d.Dialer.DialContext(ctx, network, addr)
	if err == nil {
		d.opened.Add(1)
	}
	return c, err
}

// After a stall of a peer, the other peers' connections to it, made while
// it stood still, are all there at once when it resumes, from the few
// addresses of the cluster, with those their dialers gave up on meanwhile:
// none of the live ones is evicted as a flood, and no warning is logged.
func TestPeersReconnectingTogetherAfterAStallAreAdmitted(t *testing.T) {
	var stalled *stalledListener
	server, log := startLoggedPort(t, []byte("s"), nil, func(p *Port) {
		stalled = &stalledListener{Listener: p.ln}
		p.ln = stalled
		patient(p)
	})
	dialer := &countingDialer{}
	client := startPort(t, []byte("s"), nil)
	client.dialer, client.timeout = dialer, time.Minute
	addr := server.Addr().String()
	// The peer was in the cluster before the stall.
	if _, err := client.dial(dialCtx(t), addr, channelRPC); err != nil || !accepted(server, 5*time.Second) {
		t.Fatalf("a peer before the stall: %v", err)
	}
	stalled.stall()
	// Some gave up while it stood still, as Raft's dials do after their
	// timeout: theirs are dead connections in the backlog.
	const gaveUp = 8
	for range gaveUp {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		if _, err := client.dial(ctx, addr, channelRPC); err == nil {
			t.Fatal("a dial to the stalled port went through")
		}
		cancel()
	}
	const together = 3 * maxPendingPerSource
	errs := make(chan error, together)
	for range together {
		go func() {
			_, err := client.dial(dialCtx(t), addr, channelRPC)
			errs <- err
		}()
	}
	go func() {
		for {
			if _, err := server.rpc.Accept(); err != nil {
				return
			}
		}
	}()
	testkit.Eventually(t, "every connection in the stalled port's backlog", func() bool { return dialer.opened.Load() == 1+gaveUp+together })
	stalled.resume()
	for range together {
		if err := <-errs; err != nil {
			t.Errorf("a peer reconnecting after the stall: %v", err)
		}
	}
	if logged := log.String(); strings.Contains(logged, `"level":"warn"`) || strings.Contains(logged, `"level":"error"`) {
		t.Errorf("the port warned:\n%s", logged)
	}
}
