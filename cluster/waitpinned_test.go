package cluster

import (
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// A caller of the leader waiting for "pinned" of a pin allocated to a
// follower alone waits for that follower to pin, which it can only do once
// it hears of the commit. Raft's CommitTimeout and the nudge wait an hour
// here: the follower, asked for its status after the commit, must wait to
// apply it, and so asks its leader to pass the commit on.
func TestAPinnedWaitOnTheLeaderHasTheCommitPassedOnToTheAllocatedFollower(t *testing.T) {
	peers := clusterWithoutCommitNews(t)
	leader := leaderOf(t, peers)
	follower := followerOf(peers, leader)
	c := testCid(31)
	pin := storage.Pin{Cid: c, ReplicationFactorMin: 1, ReplicationFactorMax: 1, UserAllocations: []string{follower.id}}
	if _, err := leader.node.Pin(ctx(t), pin); err != nil {
		t.Fatal(err)
	}
	if err := leader.node.WaitPinned(ctx(t), c, nil); err != nil {
		t.Fatalf("the wait for the follower's pin: %v", err)
	}
	if !follower.up.has(c) {
		t.Fatal("the wait returned, but the allocated follower's IPFS node does not hold the pin")
	}
}

// A read through a follower after its own write waits to apply that write,
// which it can only once it hears of the commit: the follower asks its
// leader to pass the commit on.
func TestAReadThroughAFollowerHasItsLeaderPassTheCommitOn(t *testing.T) {
	peers := clusterWithoutCommitNews(t)
	follower := followerOf(peers, leaderOf(t, peers))
	c := testCid(32)
	if _, err := follower.node.Pin(ctx(t), storage.Pin{Cid: c}); err != nil {
		t.Fatal(err)
	}
	if _, err := follower.node.Get(ctx(t), c); err != nil {
		t.Fatalf("a read through the follower after its write: %v", err)
	}
}

// clusterWithoutCommitNews is a three-peer cluster whose Raft passes a
// commit on to followers only with the next entry, or when asked
// (askToPassCommitOn): its CommitTimeout and commit nudge wait an hour.
func clusterWithoutCommitNews(t *testing.T) []*testPeer {
	t.Helper()
	const never = time.Hour
	first := startPeer(t, &testPeer{slowCommitNews: never})
	peers := []*testPeer{first}
	for range 2 {
		peers = append(peers, startPeer(t, &testPeer{slowCommitNews: never}, first.addr))
	}
	eventually(t, "every peer's heartbeat known to every peer", func() bool {
		for _, p := range peers {
			if len(p.node.candidates(nil)) != len(peers) {
				return false
			}
		}
		return true
	})
	return peers
}
