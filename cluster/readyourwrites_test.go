package cluster

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// holdApplies keeps p's applied index where it is until the returned
// function is called: p writes its state, but its reads cannot know.
func holdApplies(p *testPeer) (release func()) {
	gate := make(chan struct{})
	hold := func() { <-gate }
	p.node.beforeApplied.Store(&hold)
	var once sync.Once
	return func() { once.Do(func() { close(gate) }) }
}

// A write returns at its commit, before the peer it went through applied
// it, and a read through that peer still sees it: the read waits.
func TestAWriteReturnsAtItsCommitAndReadsThroughItsPeerSeeIt(t *testing.T) {
	peers := newTestCluster(t, 3)
	leader := leaderOf(t, peers)
	follower := followerOf(peers, leader)
	for _, through := range []*testPeer{follower, leader} {
		c := testCid(len(through.id))
		release := holdApplies(through)
		t.Cleanup(release)
		done := make(chan error, 1)
		go func() {
			_, err := through.node.Pin(ctx(t), storage.Pin{Cid: c, Mode: storage.Recursive})
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("a pin waited for its peer to apply it: it must return at the commit")
		}
		// The peer cannot apply, so a read through it must not answer
		// without the write: it waits, and gives up when asked to.
		short, cancel := context.WithTimeout(ctx(t), 100*time.Millisecond)
		_, err := through.node.Get(short, c)
		cancel()
		if err == nil || errors.Is(err, storage.ErrNotFound) || !strings.Contains(err.Error(), "not yet applied") {
			t.Fatalf("a read through a peer that has not applied its own write answered %v, want it to wait for the write", err)
		}
		release()
		if got, err := through.node.Get(ctx(t), c); err != nil || got.Cid != c {
			t.Fatalf("a read after the apply answered %v, %v: want the pin", got.Cid, err)
		}
		through.node.beforeApplied.Store(nil)
	}
}

// A peer that restarts has forgotten what it acknowledged; until it applied
// what its leader's log held when it came back, its reads wait.
func TestAfterARestartReadsWaitForWhatTheLeaderHeld(t *testing.T) {
	peers := newTestCluster(t, 3)
	leader := leaderOf(t, peers)
	follower := peers[0]
	if follower == leader {
		follower = peers[1]
	}
	follower.stop()
	c := testCid(4242)
	if _, err := leader.node.Pin(ctx(t), storage.Pin{Cid: c, Mode: storage.Recursive}); err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release)
	cfg := follower.config()
	cfg.beforeFSM = func() { <-gate }
	n, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	follower.node = n
	short, cancel := context.WithTimeout(ctx(t), 2*time.Second)
	_, err = n.Get(short, c)
	cancel()
	if err == nil || errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a read right after a restart, before the peer applied what its leader held, answered %v", err)
	}
	release()
	if _, err := n.Get(ctx(t), c); err != nil {
		t.Fatalf("the read after the apply: %v", err)
	}
}
