package cluster

import (
	"errors"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/cluster/peerrpc"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// Every follower holds the follower secret. One that claims another's ID
// while that one is down (so that no live peer answers at its address)
// may still not take its place: the join must be signed with the key of
// that ID. The true follower, back from another address, is moved there.
func TestAFollowerCannotTakeADownFollowersID(t *testing.T) {
	peers := newTestCluster(t, 2)
	leader := leaderOf(t, peers)
	f := startFollowerPeer(t, peers[0].addr)
	f.stop()
	client, ln := followerSecretClient(t)
	claim := storage.Peer{ID: f.id, ClusterAddr: ln.Addr().String(), Follower: true}

	_, otherKey := newPeerIdentity(t)
	signedByAnother := &Node{cfg: Config{Key: otherKey}}
	stale := &Node{cfg: Config{Key: f.key}}
	staleProof := stale.proveJoin(claim)
	staleProof.Time -= int64(2 * joinProofSkew / time.Second)
	elsewhere := claim
	elsewhere.ClusterAddr = "127.0.0.1:1"
	for name, proof := range map[string]*peerrpc.JoinProof{
		"no proof":                   nil,
		"signed by another key":      signedByAnother.proveJoin(claim),
		"signed for another address": stale.proveJoin(elsewhere),
		"signed long ago":            staleProof,
	} {
		if err := joinRefused(t, client, leader.addr, claim, proof); !errors.Is(err, types.ErrReadOnlyFollower) {
			t.Fatalf("a join as a down follower with %s = %v, want refused", name, err)
		}
	}
	if rec, err := leader.node.state.Peer(f.id); err != nil || rec.ClusterAddr != f.addr {
		t.Fatalf("the down follower's record became %+v, %v", rec, err)
	}

	// The follower itself, restarted at another address, signs its join.
	f.addr = ""
	f.start(peers[0].addr)
	waitRecordedAt(t, leader, f)
}

// A member made with another follower secret (flotilla init makes each
// peer its own) is reported at its join, naming the key: once it led, no
// read-only follower could follow it. It still joins, as clusters without
// followers always did.
func TestAMemberWithAnotherFollowerSecretIsReportedAtItsJoin(t *testing.T) {
	first := newTestPeer(t)
	other := &testPeer{t: t, dir: t.TempDir(), up: newMemUpstream(), repinDelay: time.Second, followerSecret: []byte("another follower secret")}
	other.id, other.key = newPeerIdentity(t)
	other.start(first.addr)
	t.Cleanup(other.stop)
	same := newTestPeer(t, first.addr)
	warned := func(id string) bool {
		return len(first.logs.Find(otherFollowerSecretLine, map[string]any{"peer": id, "level": "warn"})) > 0
	}
	eventually(t, "the warning of the other follower secret", func() bool { return warned(other.id) })
	if warned(same.id) {
		t.Fatal("a member with the cluster's follower secret was reported")
	}
}
