package cluster

import (
	"testing"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// BenchmarkPinnedThroughAPeerNotAllocated measures one client's pin and
// wait for "pinned" (proxy.pin_wait=pinned) through a peer the pin is not
// allocated to, which must learn from the allocated peer when it holds the
// pin, against the same through the allocated peer itself, in one run.
func BenchmarkPinnedThroughAPeerNotAllocated(b *testing.B) {
	peers := newTestCluster(b, 3)
	via, holder := peers[0], peers[1]
	next := 0
	pinnedOn := func(allocatedTo *testPeer) func() {
		return func() {
			next++
			c := testCid(950000 + next)
			pin := storage.Pin{Cid: c, ReplicationFactorMin: 1, ReplicationFactorMax: 1, UserAllocations: []string{allocatedTo.id}}
			if _, err := via.node.Pin(ctx(b), pin); err != nil {
				b.Fatal(err)
			}
			if err := via.node.WaitPinned(ctx(b), c, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportP50s(b, 50, pinnedOn(holder), pinnedOn(via), "elsewhere", "here")
}

// BenchmarkPinnedThroughAFollower measures one client's pin and wait for
// "pinned" through a follower, the pin allocated to every peer, against
// the same through the leader in the same run: the follower must apply the
// pin before its tracker pins it, and it hears of the commit from the
// leader.
func BenchmarkPinnedThroughAFollower(b *testing.B) {
	peers := newTestCluster(b, 3)
	leader := leaderOf(b, peers)
	follower := followerOf(peers, leader)
	next := 0
	pinnedThrough := func(p *testPeer) func() {
		return func() {
			next++
			c := testCid(970000 + next)
			if _, err := p.node.Pin(ctx(b), storage.Pin{Cid: c, ReplicationFactorMin: -1, ReplicationFactorMax: -1}); err != nil {
				b.Fatal(err)
			}
			if err := p.node.WaitPinned(ctx(b), c, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportP50s(b, 50, pinnedThrough(follower), pinnedThrough(leader), "follower", "leader")
}
