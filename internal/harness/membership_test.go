package harness

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// A new peer may bootstrap through any member: a follower passes the join
// on to the leader.
func TestJoinThroughAFollower(t *testing.T) {
	c := New(t, 3, Options{})
	leader := c.WaitLeader()
	follower := c.Peers[slices.IndexFunc(c.Peers, func(p *Peer) bool { return p != leader })]
	joiner := c.AddVia(follower)
	c.WaitFor("the joiner in every peer's peer set", func() bool {
		for _, p := range c.Alive() {
			if !slices.Contains(p.Node.ID(timeout(t, 5*time.Second)).ClusterPeers, joiner.ID) {
				return false
			}
		}
		return true
	})
	c.Provide(testCid(7))
	if _, err := joiner.Node.Pin(timeout(t, 20*time.Second), storage.Pin{Cid: testCid(7)}); err != nil {
		t.Fatal(err)
	}
	c.WaitFor("the joiner's pin on every peer", func() bool {
		for _, p := range c.Alive() {
			if !p.Kubo.IsPinned(testCid(7)) {
				return false
			}
		}
		return true
	})
}

// Removing the leader itself hands leadership over first; the cluster
// keeps committing without it, and it learns it was removed.
func TestRemovingTheLeaderItself(t *testing.T) {
	c := New(t, 3, Options{})
	leader := c.WaitLeader()
	asker := c.Peers[slices.IndexFunc(c.Peers, func(p *Peer) bool { return p != leader })]
	if err := asker.Node.RemovePeer(timeout(t, 30*time.Second), leader.ID); err != nil {
		t.Fatal(err)
	}
	c.WaitFor("the old leader to know it was removed", func() bool { return errors.Is(leader.Node.Ready(), types.ErrRemoved) })
	c.Kill(leader)
	next := c.WaitLeader()
	if next.ID == leader.ID {
		t.Fatal("the removed peer still leads")
	}
	if ids := next.Node.ID(timeout(t, 5*time.Second)).ClusterPeers; slices.Contains(ids, leader.ID) {
		t.Fatalf("the removed leader is still in the configuration: %v", ids)
	}
	c.Provide(testCid(8))
	if _, err := asker.Node.Pin(timeout(t, 20*time.Second), storage.Pin{Cid: testCid(8)}); err != nil {
		t.Fatal(err)
	}
}

// A leader that leaves (Leave, as leave_on_shutdown does) is gone from the
// configuration and the others go on.
func TestTheLeaderLeaving(t *testing.T) {
	c := New(t, 3, Options{})
	leader := c.WaitLeader()
	if err := leader.Node.Leave(timeout(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	c.Kill(leader)
	next := c.WaitLeader()
	c.WaitFor("the leaver out of the configuration", func() bool {
		return !slices.Contains(next.Node.ID(timeout(t, 5*time.Second)).ClusterPeers, leader.ID)
	})
	c.Provide(testCid(9))
	if _, err := next.Node.Pin(timeout(t, 20*time.Second), storage.Pin{Cid: testCid(9)}); err != nil {
		t.Fatal(err)
	}
}

// An operator's remove keeps trying through a loss of quorum that outlasts
// a pin's retry window (6 s): it succeeds once a leader is back, as long
// as its caller waits. (Under load, elections that churned past 6 s used
// to fail a remove with "node is not the leader".)
func TestARemoveOutlastsALongLossOfQuorum(t *testing.T) {
	c := New(t, 3, Options{})
	leader := c.WaitLeader()
	var asker, victim *Peer
	for _, p := range c.Peers {
		switch {
		case p == leader:
		case asker == nil:
			asker = p
		default:
			victim = p
		}
	}
	c.Partition([]*Peer{c.Peers[0]}, []*Peer{c.Peers[1]}, []*Peer{c.Peers[2]})
	c.WaitFor("no leader anywhere", func() bool { return c.Leader() == nil })
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- asker.Node.RemovePeer(timeout(t, time.Minute), victim.ID) }()
	const longerThanAPinsWindow = 8 * time.Second
	c.WaitFor("the remove to outlast a pin's retry window", func() bool {
		select {
		case err := <-done:
			t.Fatalf("the remove ended after %s, with no leader: %v", time.Since(start).Round(time.Millisecond), err)
		default:
		}
		return time.Since(start) > longerThanAPinsWindow
	})
	c.HealPartition()
	if err := <-done; err != nil {
		t.Fatalf("the remove, once a leader was back: %v", err)
	}
	c.WaitFor("the removed peer to know it", func() bool { return errors.Is(victim.Node.Ready(), types.ErrRemoved) })
}
