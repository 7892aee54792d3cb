package cluster

import (
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// A caller of the leader waiting for "pinned" of a pin allocated to a
// follower alone waits for that follower to pin, which it can only do once
// it hears of the commit. An idle leader passes a commit on after Raft's
// CommitTimeout; here that is an hour, so only the leader's nudge can.
func TestAPinnedWaitOnTheLeaderHasTheCommitPassedOnToTheAllocatedFollower(t *testing.T) {
	const never = time.Hour
	first := startPeer(t, &testPeer{commitTimeout: never})
	second := startPeer(t, &testPeer{commitTimeout: never}, first.addr)
	third := startPeer(t, &testPeer{commitTimeout: never}, first.addr)
	peers := []*testPeer{first, second, third}
	eventually(t, "every peer's heartbeat known to every peer", func() bool {
		for _, p := range peers {
			if len(p.node.candidates(nil)) != len(peers) {
				return false
			}
		}
		return true
	})
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
