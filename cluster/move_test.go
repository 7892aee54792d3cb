package cluster

import (
	"testing"

	"github.com/hashicorp/raft"
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
