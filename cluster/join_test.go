package cluster

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/internal/testkit"
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

// A peer with leave_on_shutdown that stops as soon as its join returns,
// before it heard anything from its leader (neither its own record in the
// peer set nor the Raft configuration that adds it), still leaves: the
// leader, which knows it, decides.
func TestAPeerStoppedRightAfterItsJoinLeaves(t *testing.T) {
	peers := newTestCluster(t, 2)
	joiner := &testPeer{t: t, dir: t.TempDir(), up: newMemUpstream(), repinDelay: time.Second}
	joiner.id, joiner.key = newPeerIdentity(t)
	cfg := joiner.config(peers[0].addr)
	cfg.Membership.LeaveOnShutdown = true
	deaf := make(chan struct{})
	t.Cleanup(func() { close(deaf) })
	cfg.raftLayer = func(l raft.StreamLayer) raft.StreamLayer { return &heldAccepts{StreamLayer: l, until: deaf} }
	n, err := New(ctx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range peers {
		eventually(t, "the joiner gone from the peer set and Raft", func() bool {
			ps, _ := p.node.state.Peers()
			return len(ps) == 2 && !p.node.inRaft(joiner.id)
		})
	}
}

// heldAccepts is a Raft stream layer that takes no connection until
// until closes: the peer hears nothing from its leader.
type heldAccepts struct {
	raft.StreamLayer
	until <-chan struct{}
}

func (h *heldAccepts) Accept() (net.Conn, error) {
	<-h.until
	return h.StreamLayer.Accept()
}

// A peer that joins while its cluster has no leader retries quietly (at
// debug) for as long as an election may take: that is no news to the
// operator. Only when joining keeps failing does each attempt warn.
func TestAJoinDuringAnElectionWarnsOnlyWhenItLasts(t *testing.T) {
	peers := newTestCluster(t, 3)
	survivor := leaderOf(t, peers)
	for _, p := range peers {
		if p != survivor {
			p.stop()
		}
	}
	eventually(t, "the survivor without a leader", func() bool {
		_, id := survivor.node.rp.raft.LeaderWithID()
		return id == ""
	})
	joiner := &testPeer{t: t, dir: t.TempDir(), up: newMemUpstream(), repinDelay: time.Second}
	joiner.id, joiner.key = newPeerIdentity(t)
	cfg := joiner.config(survivor.addr)
	lines := &testkit.LogLines{}
	cfg.Log = zerolog.New(lines).Level(zerolog.DebugLevel)
	cfg.joinQuietFor = 3 * time.Second
	start, stop := context.WithCancel(context.Background())
	started := make(chan struct{})
	t.Cleanup(func() { stop(); <-started })
	go func() {
		defer close(started)
		if n, err := New(start, cfg); err == nil {
			n.Close()
		}
	}()
	failed := func(level string) int {
		return len(lines.Find("join attempt failed", map[string]any{"level": level, "via": survivor.addr}))
	}
	testkit.Eventually(t, "a join attempt to fail", func() bool { return failed("debug")+failed("warn") > 0 },
		testkit.Within(20*time.Second))
	if failed("warn") > 0 {
		t.Fatalf("the first join attempts, during an election, warned: %v", lines.Find("join attempt failed", nil))
	}
	testkit.Eventually(t, "the join attempts to warn once joining lasts", func() bool { return failed("warn") > 0 },
		testkit.Within(20*time.Second))
}
