package cluster

import (
	"errors"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// A join that claims a live member's ID from another address does not move
// that member in Raft: it still answers at its address, and moving it would
// cut it off (a second process started with a copy of its identity).
func TestALiveMemberIsNotMovedByAJoinFromElsewhere(t *testing.T) {
	peers := newTestCluster(t, 3)
	leader := leaderOf(t, peers)
	member := followerOf(peers, leader)
	claim := member.node.self()
	claim.ClusterAddr = "127.0.0.1:1"
	if err := leader.node.addPeer(claim, nil); err == nil {
		t.Fatal("a join from elsewhere moved a member that still answers")
	}
	cf := leader.node.rp.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		t.Fatal(err)
	}
	for _, s := range cf.Configuration().Servers {
		if string(s.ID) == member.id && string(s.Address) != member.addr {
			t.Fatalf("the member is at %s in Raft, want %s", s.Address, member.addr)
		}
		if string(s.ID) == member.id && s.Suffrage != raft.Voter {
			t.Fatalf("the member lost its vote: %v", s.Suffrage)
		}
	}
}

// The same for a read-only follower: a second process with a copy of its
// identity signs its join as well as the follower would, and must still not
// take its place while the follower answers at its address.
func TestALiveFollowerIsNotMovedByAJoinFromElsewhere(t *testing.T) {
	peers := newTestCluster(t, 2)
	leader := leaderOf(t, peers)
	f := startFollowerPeer(t, peers[0].addr)
	waitRecordedAt(t, leader, f)
	claim := storage.Peer{ID: f.id, ClusterAddr: "127.0.0.1:1", Follower: true}
	copyOfIt := &Node{cfg: Config{Key: f.key}}
	if err := leader.node.addPeer(claim, copyOfIt.proveJoin(claim)); !errors.Is(err, types.ErrReadOnlyFollower) {
		t.Fatalf("a join from elsewhere as a live follower = %v, want refused", err)
	}
	if rec, err := leader.node.state.Peer(f.id); err != nil || rec.ClusterAddr != f.addr {
		t.Fatalf("the live follower's record became %+v, %v", rec, err)
	}
	s, ok, err := leader.node.raftServer(f.id)
	if err != nil || !ok || string(s.Address) != f.addr {
		t.Fatalf("the live follower is at %+v (%v, %v) in Raft, want %s", s, ok, err, f.addr)
	}
}
