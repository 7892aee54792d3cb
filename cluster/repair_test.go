package cluster

import (
	"slices"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/alloc"
	"github.com/flotilla-ipfs/flotilla/health"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// An allocation that names a peer which is not a member (one removed while
// its pins were being moved, or one from another cluster's imported state)
// is repaired by the leader within the repair interval, even when the pin
// has as many allocations as its maximum.
func TestAllocationsToNonMembersAreRepaired(t *testing.T) {
	peers := newTestCluster(t, 3)
	leader := leaderOf(t, peers)
	ghost := "12D3KooWGhostGhostGhostGhostGhostGhostGhostGhostGhos"
	pin := storage.Pin{Cid: testCid(500), Mode: storage.Recursive, ReplicationFactorMin: 1, ReplicationFactorMax: 1,
		Allocations: []string{ghost}, Timestamp: time.Now().UTC()}
	if _, err := leader.node.submit(ctx(t), []storage.Op{{Kind: storage.OpPin, Pin: pin}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pin to be allocated to a member and pinned there", func() bool {
		got, err := leader.node.Get(ctx(t), pin.Cid)
		if err != nil || len(got.Allocations) != 1 || got.Allocations[0] == ghost {
			return false
		}
		return len(holders(peers, pin)) == 1
	})
}

// A dead peer's pins that cannot be placed at first (too few healthy peers
// for their minimum) are placed once peers are available again, within the
// same leader term.
func TestDeadPeersPinsArePlacedOnceTheyCanBe(t *testing.T) {
	peers := newTestCluster(t, 3)
	leader := leaderOf(t, peers)
	var victim, other *testPeer
	for _, p := range peers {
		switch {
		case p == leader:
		case victim == nil:
			victim = p
		default:
			other = p
		}
	}
	pin, err := leader.node.Pin(ctx(t), storage.Pin{Cid: testCid(501), ReplicationFactorMin: 2, ReplicationFactorMax: 2,
		UserAllocations: []string{victim.id, other.id}})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pin on the victim", func() bool { return victim.up.has(pin.Cid) })
	// The other peer's IPFS stops answering: it is no candidate, so the
	// victim's pin has nowhere to go when the victim dies.
	other.up.setFreeSpaceErr(errIPFSDown)
	eventually(t, "the other peer to be no candidate", func() bool {
		for _, c := range leader.node.candidates(nil) {
			if c.ID == other.id {
				return false
			}
		}
		return true
	})
	victim.stop()
	// Under load leadership may move to the other live peer: count the
	// passes of both.
	passes := func() int64 { return leader.node.deadPeerPasses.Load() + other.node.deadPeerPasses.Load() }
	tries := passes()
	eventually(t, "the leader to try twice to move the victim's pin", func() bool { return passes() >= tries+2 })
	if got, _ := leader.node.Get(ctx(t), pin.Cid); !got.AllocatedTo(victim.id) {
		t.Fatalf("the pin moved with too few peers: %v", got.Allocations)
	}
	var unplaced []map[string]any
	eventually(t, "a leader's warning that the victim's pin could not move", func() bool {
		unplaced = append(leader.logs.Find(unplacedLine, map[string]any{"peer": victim.id}),
			other.logs.Find(unplacedLine, map[string]any{"peer": victim.id})...)
		return len(unplaced) > 0
	})
	if !isDuration(unplaced[0]["retry_in"]) {
		t.Fatalf("%v: want retry_in as a duration", unplaced[0])
	}
	if unplaced[0]["pins"] == nil {
		t.Fatalf("%v: want the number of pins moved so far", unplaced[0])
	}
	if unplaced[0]["peer_name"] == nil {
		t.Fatalf("%v: want the dead peer's name, as its other lines give", unplaced[0])
	}
	other.up.setFreeSpaceErr(nil)
	eventually(t, "the pin moved to the leader and the other peer", func() bool {
		got, err := leader.node.Get(ctx(t), pin.Cid)
		if err != nil {
			return false
		}
		return len(got.Allocations) == 2 && got.AllocatedTo(leader.id) && got.AllocatedTo(other.id) && leader.up.has(pin.Cid)
	})
}

// A peer that comes back within the repin delay keeps its pins: nothing is
// moved while it is down, and nothing after it returns.
func TestRepinDelayIsRespected(t *testing.T) {
	peers := newTestClusterWith(t, 3, time.Minute)
	leader := leaderOf(t, peers)
	victim := peers[slices.IndexFunc(peers, func(p *testPeer) bool { return p != leader })]
	pin, err := leader.node.Pin(ctx(t), storage.Pin{Cid: testCid(502), ReplicationFactorMin: 1, ReplicationFactorMax: 1,
		UserAllocations: []string{victim.id}})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pin on the victim", func() bool { return victim.up.has(pin.Cid) })
	other := peers[slices.IndexFunc(peers, func(p *testPeer) bool { return p != leader && p != victim })]
	victim.stop()
	// Under load leadership may move to the other live peer: look at both.
	eventually(t, "an alert for the dead victim", func() bool {
		return slices.ContainsFunc(append(leader.node.Alerts(), other.node.Alerts()...), func(a health.Alert) bool { return a.Peer == victim.id })
	})
	victim.start()
	eventually(t, "the victim healthy again", func() bool {
		return slices.ContainsFunc(leader.node.candidates(nil), func(c alloc.Candidate) bool { return c.ID == victim.id })
	})
	got, err := leader.node.Get(ctx(t), pin.Cid)
	if err != nil || !slices.Equal(got.Allocations, []string{victim.id}) {
		t.Fatalf("allocations %v, %v: the pin moved within the repin delay", got.Allocations, err)
	}
	if n := leader.node.deadPeerPasses.Load() + other.node.deadPeerPasses.Load(); n != 0 {
		t.Fatalf("%d passes moved a dead peer's pins within the repin delay", n)
	}
}

// A committed pin whose minimum exceeds the members (imported from a bigger
// cluster, allocated to its peers) is placed on every member there is,
// rather than left on no one, and the leader says once per pass how many
// pins are short of their minimum. A member that joins later gets it too.
func TestPinsAboveTheClusterSizeArePlacedOnWhatThereIs(t *testing.T) {
	peers := newTestCluster(t, 2)
	leader := leaderOf(t, peers)
	ghosts := []string{
		"12D3KooWGhostGhostGhostGhostGhostGhostGhostGhostGho1",
		"12D3KooWGhostGhostGhostGhostGhostGhostGhostGhostGho2",
	}
	pin := storage.Pin{Cid: testCid(503), Mode: storage.Recursive, ReplicationFactorMin: 3, ReplicationFactorMax: 3,
		Allocations: ghosts, Timestamp: time.Now().UTC()}
	if _, err := leader.node.submit(ctx(t), []storage.Op{{Kind: storage.OpPin, Pin: pin}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pin on both members' IPFS", func() bool { return len(holders(peers, pin)) == 2 })
	short := map[string]any{"pins": float64(1), "example_cid": pin.Cid.String()}
	eventually(t, "a leader's warning of pins short of their minimum", func() bool {
		for _, p := range peers {
			if len(p.logs.Find(shortOfMinimumLine, short)) > 0 {
				return true
			}
		}
		return false
	})
	third := newTestPeer(t, peers[0].addr)
	eventually(t, "the joiner receives the pin", func() bool { return third.up.has(pin.Cid) })
}

// A cluster too small for its pins stays so for days: the warning comes
// when the number of pins short of their minimum changes, and otherwise
// once every shortWarningEvery, not at every repair pass.
func TestTheWarningOfPinsShortOfTheirMinimumIsNotRepeatedEveryPass(t *testing.T) {
	var w shortWarning
	start := time.Now()
	steps := []struct {
		pins  int
		after time.Duration
		want  bool
	}{
		{0, 0, false},
		{3, time.Second, true},
		{3, 30 * time.Second, false},
		{3, time.Minute, false},
		{4, 90 * time.Second, true},
		{4, 90*time.Second + shortWarningEvery, true},
		{0, 2 * shortWarningEvery, false},
		{4, 2*shortWarningEvery + time.Second, true},
	}
	for i, s := range steps {
		if got := w.due(s.pins, start.Add(s.after)); got != s.want {
			t.Fatalf("step %d (%d pins after %v): warned %v, want %v", i, s.pins, s.after, got, s.want)
		}
	}
}
