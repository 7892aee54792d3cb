package cluster

import (
	"errors"
	"slices"
	"testing"

	"github.com/flotilla-ipfs/flotilla/health"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// Peers tells what the status page shows of each member: its role, its own
// pins by status, and when its heartbeat was last heard; a member that
// stopped keeps its role and last heartbeat, with its error. Leadership may
// move on a loaded machine, hence the waits.
func TestPeersTellRolesPinCountsAndHeartbeats(t *testing.T) {
	peers := newTestCluster(t, 3)
	asker, victim := peers[0], peers[2]
	c := testCid(41)
	if _, err := asker.node.Pin(ctx(t), storage.Pin{Cid: c, ReplicationFactorMin: -1, ReplicationFactorMax: -1}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pin pinned on every peer", func() bool { return len(holders(peers, storage.Pin{Cid: c})) == 3 })

	byID := func() map[string]types.ID {
		out := map[string]types.ID{}
		for _, id := range asker.node.Peers(ctx(t)) {
			out[id.ID] = id
		}
		return out
	}
	eventually(t, "one leader, two voters, each counting its pin pinned and heard", func() bool {
		leader := leaderOf(t, peers)
		ids := byID()
		for _, p := range peers {
			info, want := ids[p.id], types.RoleVoter
			if leader != nil && p.id == leader.id {
				want = types.RoleLeader
			}
			if info.Role != want || info.PinsByStatus[string(storage.StatusPinned)] != 1 || info.LastHeartbeat.IsZero() || info.Error != "" {
				return false
			}
		}
		return leader != nil
	})

	victim.stop()
	eventually(t, "the stopped peer listed as a voter that does not answer, with its last heartbeat", func() bool {
		gone := byID()[victim.id]
		return gone.Error != "" && gone.Role == types.RoleVoter && !gone.LastHeartbeat.IsZero()
	})
	// Every peer raises the alert, not the leader alone: whichever peer
	// serves the status page shows it.
	for _, p := range peers[:2] {
		eventually(t, "an alert for the stopped peer on "+p.id, func() bool {
			return slices.ContainsFunc(p.node.Alerts(), func(a health.Alert) bool { return a.Peer == victim.id })
		})
	}
}

// A peer whose IPFS node was down at its start learns the node's ID later;
// from then on its statuses name it, in a single status and in listings.
func TestStatusesNameTheIPFSNodeLearnedAfterTheStart(t *testing.T) {
	p := newTestPeer(t)
	c := testCid(42)
	if _, err := p.node.Pin(ctx(t), storage.Pin{Cid: c, ReplicationFactorMin: -1, ReplicationFactorMax: -1}); err != nil {
		t.Fatal(err)
	}
	ipfsID, _ := newPeerIdentity(t)
	p.up.setIPFSID(ipfsID)
	p.node.refreshSelf(ctx(t))
	if got := p.node.self().IPFSID; got != ipfsID {
		t.Fatalf("the peer did not learn its IPFS node's ID: %q", got)
	}

	if st := p.node.PeerMap(ctx(t), c)[p.id]; st.IPFSPeerID != ipfsID {
		t.Errorf("status of %s names IPFS node %q, want %q", c, st.IPFSPeerID, ipfsID)
	}
	for _, local := range []bool{false, true} {
		rows := listStatus(t, p.node, local)
		if len(rows) != 1 {
			t.Fatalf("listing (local %v) has %d rows, want the pin's", local, len(rows))
		}
		for _, row := range rows {
			if st := row.pm[p.id]; st.IPFSPeerID != ipfsID {
				t.Errorf("listing (local %v) of %s names IPFS node %q, want %q", local, row.pin.Cid, st.IPFSPeerID, ipfsID)
			}
		}
	}
}

// The peer of a 1-peer cluster cannot remove itself: it says so, rather
// than passing on Raft's "cannot find peer" from a leadership transfer
// that had no voter to go to, and stays the cluster.
func TestTheOnlyVoterRefusesToRemoveItself(t *testing.T) {
	p := newTestPeer(t)
	err := p.node.RemovePeer(ctx(t), p.id)
	if !errors.Is(err, types.ErrOnlyVoter) {
		t.Fatalf("removing the only peer: %v, want %v", err, types.ErrOnlyVoter)
	}
	if !p.node.inRaft(p.id) || p.node.RaftInfo().State != "leader" {
		t.Errorf("the refused remove changed the cluster: in Raft %v, state %s", p.node.inRaft(p.id), p.node.RaftInfo().State)
	}
}

// A remove of a peer no member knows, asked of a follower, which asks the
// leader, and of the leader, says so and changes nothing.
func TestRemovingAnUnknownPeerSaysSo(t *testing.T) {
	peers := newTestCluster(t, 2)
	leader := leaderOf(t, peers)
	unknown, _ := newPeerIdentity(t)
	for _, asked := range []*testPeer{followerOf(peers, leader), leader} {
		if err := asked.node.RemovePeer(ctx(t), unknown); !errors.Is(err, types.ErrUnknownPeer) {
			t.Fatalf("removing an unknown peer: %v, want %v", err, types.ErrUnknownPeer)
		}
	}
	if ps, _ := leader.node.state.Peers(); len(ps) != 2 {
		t.Errorf("the refused removes left %d peers, want 2", len(ps))
	}
}
