package cluster

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/health"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// newTestCluster starts n peers: the first bootstraps, the others join
// through it.
func newTestCluster(t testing.TB, n int) []*testPeer {
	t.Helper()
	return newTestClusterWith(t, n, time.Second)
}

func newTestClusterWith(t testing.TB, n int, repinDelay time.Duration) []*testPeer {
	t.Helper()
	first := newTestPeerWith(t, repinDelay)
	peers := []*testPeer{first}
	for i := 1; i < n; i++ {
		peers = append(peers, newTestPeerWith(t, repinDelay, first.addr))
	}
	eventually(t, "every peer in every peer's peer set", func() bool {
		for _, p := range peers {
			ps, _ := p.node.state.Peers()
			if len(ps) != n {
				return false
			}
		}
		return true
	})
	eventually(t, "every peer's heartbeat known to every peer", func() bool {
		for _, p := range peers {
			if len(p.node.candidates(nil)) != n {
				return false
			}
		}
		return true
	})
	return peers
}

// leaderOf waits for one of peers to lead: on a loaded machine an election
// may be under way when a test asks.
func leaderOf(t testing.TB, peers []*testPeer) *testPeer {
	t.Helper()
	var leader *testPeer
	eventually(t, "a leader", func() bool {
		leader = currentLeader(peers)
		return leader != nil
	})
	return leader
}

// followerOf is a peer of peers other than leader.
func followerOf(peers []*testPeer, leader *testPeer) *testPeer {
	for _, p := range peers {
		if p != leader {
			return p
		}
	}
	return nil
}

func currentLeader(peers []*testPeer) *testPeer {
	for _, p := range peers {
		if p.node != nil && p.node.RaftInfo().State == "leader" {
			return p
		}
	}
	return nil
}

func holders(peers []*testPeer, pin storage.Pin) []string {
	var out []string
	for _, p := range peers {
		if p.up.has(pin.Cid) {
			out = append(out, p.id)
		}
	}
	slices.Sort(out)
	return out
}

func TestFollowerWriteReplicatesByFactorAndReadsItsWrite(t *testing.T) {
	peers := newTestCluster(t, 3)
	var follower *testPeer
	for _, p := range peers {
		if p.node.RaftInfo().State == "follower" {
			follower = p
		}
	}
	c := testCid(11)
	pin, err := follower.node.Pin(ctx(t), storage.Pin{Cid: c, ReplicationFactorMin: 2, ReplicationFactorMax: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Read-your-writes: the follower's own copy has it the moment Pin returns.
	if _, err := follower.node.Get(ctx(t), c); err != nil {
		t.Fatalf("follower cannot read its own write: %v", err)
	}
	if err := follower.node.WaitPinned(ctx(t), c, nil); err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(pin.Allocations)
	slices.Sort(want)
	eventually(t, "exactly the two allocated peers hold it", func() bool { return slices.Equal(holders(peers, pin), want) })
	if len(want) != 2 {
		t.Fatalf("allocations %v", want)
	}
	if _, err := follower.node.Pin(ctx(t), storage.Pin{Cid: testCid(12), ReplicationFactorMin: 4, ReplicationFactorMax: 4}); err == nil ||
		err.Error() != "not enough peers to allocate CID. Needed at least: 4. Wanted at most: 4. Available candidates: 3" {
		t.Fatalf("over-replication error = %v", err)
	}
}

func TestDeadPeerPinsMoveAndReturningPeerCleansUp(t *testing.T) {
	peers := newTestCluster(t, 3)
	leader := leaderOf(t, peers)
	victim := peers[slices.IndexFunc(peers, func(p *testPeer) bool { return p != leader })]
	// The victim is chosen first and holds half the pins by user
	// allocation, so that the test never depends on where placement puts
	// the others.
	var moved []storage.Pin
	for i := 0; i < 20; i++ {
		p := storage.Pin{Cid: testCid(200 + i), ReplicationFactorMin: 1, ReplicationFactorMax: 1}
		if i%2 == 0 {
			p.UserAllocations = []string{victim.id}
		}
		pin, err := leader.node.Pin(ctx(t), p)
		if err != nil {
			t.Fatal(err)
		}
		if pin.Allocations[0] == victim.id {
			moved = append(moved, pin)
		}
	}
	if len(moved) < 10 {
		t.Fatalf("only %d pins on the victim, though 10 were allocated to it by the user", len(moved))
	}
	eventually(t, "victim pinned its share", func() bool {
		for _, pin := range moved {
			if !victim.up.has(pin.Cid) {
				return false
			}
		}
		return true
	})
	victimName := victim.node.cfg.Name
	victim.stop()
	eventually(t, "dead peer's pins re-allocated and pinned elsewhere", func() bool {
		for _, pin := range moved {
			cur, err := leader.node.Get(ctx(t), pin.Cid)
			if err != nil || slices.Contains(cur.Allocations, victim.id) {
				return false
			}
			holder := peers[slices.IndexFunc(peers, func(p *testPeer) bool { return p.id == cur.Allocations[0] })]
			if !holder.up.has(pin.Cid) {
				return false
			}
		}
		return true
	})
	victimAlert := func() (health.Alert, bool) {
		alerts := leader.node.Alerts()
		i := slices.IndexFunc(alerts, func(a health.Alert) bool { return a.Peer == victim.id })
		if i < 0 {
			return health.Alert{}, false
		}
		return alerts[i], true
	}
	if a, ok := victimAlert(); !ok || !a.Active || a.ClearedAt != nil || a.Peername != victimName {
		t.Fatalf("the dead peer's alert = %+v, %v; want one active, with its name", a, ok)
	}
	victim.start()
	eventually(t, "the alert cleared once the peer's heartbeat is back", func() bool {
		a, ok := victimAlert()
		return ok && !a.Active && a.ClearedAt != nil
	})
	eventually(t, "returning peer unpins what moved away", func() bool {
		for _, pin := range moved {
			if victim.up.has(pin.Cid) {
				return false
			}
		}
		return true
	})
}

func TestTopUpAfterJoin(t *testing.T) {
	peers := newTestCluster(t, 1)
	pin, err := peers[0].node.Pin(ctx(t), storage.Pin{Cid: testCid(300), ReplicationFactorMin: 1, ReplicationFactorMax: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(pin.Allocations) != 1 {
		t.Fatalf("allocations %v", pin.Allocations)
	}
	second := newTestPeer(t, peers[0].addr)
	eventually(t, "the joiner receives the under-replicated pin", func() bool { return second.up.has(pin.Cid) })
}

func TestExpiredPinsAreUnpinned(t *testing.T) {
	p := newTestPeer(t)
	c := testCid(400)
	if _, err := p.node.Pin(ctx(t), storage.Pin{Cid: c, ExpireAt: time.Now().Add(300 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	keep := testCid(401)
	if _, err := p.node.Pin(ctx(t), storage.Pin{Cid: keep}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the expired pin to leave the pinset and the IPFS node", func() bool {
		_, err := p.node.Get(ctx(t), c)
		return err != nil && !p.up.has(c)
	})
	if _, err := p.node.Get(ctx(t), keep); err != nil {
		t.Fatal("a pin without expiry was removed")
	}
}

func TestLeaveOnShutdownRemovesThePeer(t *testing.T) {
	peers := newTestCluster(t, 3)
	var leaver *testPeer
	for _, p := range peers {
		if p.node.RaftInfo().State != "leader" {
			leaver = p
			break
		}
	}
	leaver.node.cfg.Membership.LeaveOnShutdown = true
	leaver.stop()
	for _, p := range peers {
		if p == leaver {
			continue
		}
		eventually(t, "the leaver gone from the peer set and Raft", func() bool {
			ps, _ := p.node.state.Peers()
			return len(ps) == 2 && !p.node.inRaft(leaver.id)
		})
	}
}

// Concurrent writes through a follower go to the leader together, a few
// peer RPCs for many writes, and each is readable through the follower
// once it returns.
func TestConcurrentPinsThroughAFollowerShareForwards(t *testing.T) {
	peers := newTestCluster(t, 3)
	leader := leaderOf(t, peers)
	follower := peers[slices.IndexFunc(peers, func(p *testPeer) bool { return p != leader })]
	var forwards, ops atomic.Int64
	follower.node.forward.onBatch = func(n int) { forwards.Add(1); ops.Add(int64(n)) }
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := testCid(7000 + i)
			if _, err := follower.node.Pin(ctx(t), storage.Pin{Cid: c}); err != nil {
				errs <- err
				return
			}
			if _, err := follower.node.Get(ctx(t), c); err != nil {
				errs <- fmt.Errorf("a pin that returned is not readable through the follower: %w", err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if count, _ := follower.node.state.Count(); count != n {
		t.Fatalf("the follower's pinset has %d pins, want %d", count, n)
	}
	// A retry after a leader change sends its ops again; a follower
	// elected meanwhile commits the rest itself.
	if forwards.Load() >= n/2 {
		t.Fatalf("%d pins went to the leader in %d peer RPCs: the follower is not grouping them", n, forwards.Load())
	}
	t.Logf("%d concurrent pins through a follower: %d ops in %d forwards", n, ops.Load(), forwards.Load())
}
