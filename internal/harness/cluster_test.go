package harness

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

func testCid(i int) cid.Cid {
	mh, _ := multihash.Sum([]byte(fmt.Sprintf("harness %d", i)), multihash.SHA2_256, -1)
	return cid.NewCidV1(cid.Raw, mh)
}

func timeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func hasPin(p *Peer, c cid.Cid) bool {
	_, err := p.Node.Get(context.Background(), c)
	return err == nil
}

func TestRestartedPeerRejoinsAndCatchesUp(t *testing.T) {
	c := New(t, 3, Options{})
	follower := c.Peers[2]
	if c.Leader() == follower {
		follower = c.Peers[1]
	}
	c.Kill(follower)
	for i := 0; i < 10; i++ {
		c.Provide(testCid(i))
		if _, err := c.Peers[0].Node.Pin(timeout(t, 20*time.Second), storage.Pin{Cid: testCid(i)}); err != nil {
			t.Fatal(err)
		}
	}
	c.Restart(follower) // no bootstrap flag: it remembers its cluster
	c.WaitFor("the restarted peer to catch up", func() bool {
		for i := 0; i < 10; i++ {
			if !hasPin(follower, testCid(i)) || !follower.Kubo.IsPinned(testCid(i)) {
				return false
			}
		}
		return true
	})
}

func TestNinePeersFiveVotersAndPromotion(t *testing.T) {
	c := New(t, 9, Options{Voters: 5})
	voters := func() (v, nv []string) {
		for _, p := range c.Alive() {
			if p.Node.RaftInfo().Voter {
				v = append(v, p.ID)
			} else {
				nv = append(nv, p.ID)
			}
		}
		return
	}
	c.WaitFor("5 voters and 4 non-voters", func() bool { v, nv := voters(); return len(v) == 5 && len(nv) == 4 })
	leader := c.WaitLeader()
	var victim, asker *Peer
	for _, p := range c.Peers {
		switch {
		case p != leader && p.Node.RaftInfo().Voter && victim == nil:
			victim = p
		case p != leader && !p.Node.RaftInfo().Voter && asker == nil:
			asker = p
		}
	}
	// Any member may be asked; a non-voter forwards to the leader.
	if err := asker.Node.RemovePeer(timeout(t, 30*time.Second), victim.ID); err != nil {
		t.Fatal(err)
	}
	c.WaitFor("the removed peer to know it", func() bool { return errors.Is(victim.Node.Ready(), types.ErrRemoved) })
	c.Kill(victim)
	c.WaitFor("a non-voter promoted to keep 5 voters", func() bool { v, nv := voters(); return len(v) == 5 && len(nv) == 3 })
	if ids := c.WaitLeader().Node.ID(context.Background()).ClusterPeers; strings.Contains(strings.Join(ids, ","), victim.ID) {
		t.Fatalf("removed peer still in the raft configuration: %v", ids)
	}
	// The cluster still commits with the promoted voter.
	if _, err := asker.Node.Pin(timeout(t, 20*time.Second), storage.Pin{Cid: testCid(99)}); err != nil {
		t.Fatal(err)
	}
}

func TestPartitionedMinorityFailsFastMajorityContinues(t *testing.T) {
	c := New(t, 3, Options{})
	minority := c.WaitLeader()
	c.Cut(minority)
	start := time.Now()
	_, err := minority.Node.Pin(timeout(t, 30*time.Second), storage.Pin{Cid: testCid(1)})
	if !errors.Is(err, types.ErrNoLeader) {
		t.Fatalf("write on the cut-off peer = %v, want ErrNoLeader", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("the minority took %s to fail", d)
	}
	var majority []*Peer
	for _, p := range c.Peers {
		if p != minority {
			majority = append(majority, p)
		}
	}
	c.WaitFor("a majority leader", func() bool { l := c.Leader(); return l != nil && l != minority })
	if _, err := majority[0].Node.Pin(timeout(t, 20*time.Second), storage.Pin{Cid: testCid(2)}); err != nil {
		t.Fatalf("majority write: %v", err)
	}
	c.Heal(minority)
	c.WaitFor("the healed peer to catch up", func() bool { return hasPin(minority, testCid(2)) })
}

func TestLeaderKilledDuringConcurrentPinsLosesNoAcknowledgedPin(t *testing.T) {
	c := New(t, 3, Options{})
	var acked sync.Map
	var next, ackCount atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				alive := c.Alive()
				if len(alive) == 0 {
					continue
				}
				node := alive[w%len(alive)].Node
				ci := testCid(int(next.Add(1)))
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				_, err := node.Pin(ctx, storage.Pin{Cid: ci})
				cancel()
				if err == nil {
					acked.Store(ci, true)
					ackCount.Add(1)
				}
			}
		}(w)
	}
	c.WaitFor("some pins before the failure", func() bool { return ackCount.Load() > 50 })
	old := c.WaitLeader()
	c.Kill(old)
	before := ackCount.Load()
	c.WaitFor("pins acknowledged under a new leader", func() bool {
		l := c.Leader()
		return l != nil && ackCount.Load() > before+50
	})
	close(stop)
	wg.Wait()
	survivors := c.Alive()
	acked.Range(func(k, _ any) bool {
		for _, p := range survivors {
			c.WaitFor("acknowledged pin "+k.(cid.Cid).String()+" on every survivor", func() bool { return hasPin(p, k.(cid.Cid)) })
		}
		return true
	})
	t.Logf("%d pins acknowledged across a leader failure, all present on %d survivors", ackCount.Load(), len(survivors))
}

func TestRemovedPeerJoinsAgainWithBootstrap(t *testing.T) {
	c := New(t, 3, Options{})
	victim := c.Peers[2]
	if c.WaitLeader() == victim {
		victim = c.Peers[1]
	}
	if err := c.Peers[0].Node.RemovePeer(timeout(t, 30*time.Second), victim.ID); err != nil {
		t.Fatal(err)
	}
	c.WaitFor("the removed peer to know it", func() bool { return errors.Is(victim.Node.Ready(), types.ErrRemoved) })
	c.Kill(victim)
	c.Provide(testCid(7))
	if _, err := c.Peers[0].Node.Pin(timeout(t, 20*time.Second), storage.Pin{Cid: testCid(7)}); err != nil {
		t.Fatal(err)
	}
	c.Restart(victim, c.WaitLeader().Addr)
	c.WaitFor("the peer back in the cluster with the pins it missed", func() bool {
		return victim.Node.Ready() == nil && hasPin(victim, testCid(7)) && victim.Kubo.IsPinned(testCid(7))
	})
}

// A leader that goes silent (no answer, no closed connection, as when its
// cable is pulled) must not hold a write through a follower: once the
// follower's Raft no longer names it leader, the forward is given up and
// sent again to the new leader.
func TestAWriteThroughAFollowerOutlivesASilentLeader(t *testing.T) {
	c := New(t, 3, Options{})
	leader := c.WaitLeader()
	var follower *Peer
	for _, p := range c.Peers {
		if p != leader {
			follower = p
			break
		}
	}
	// A first write opens the follower's connection to the leader.
	if _, err := follower.Node.Pin(timeout(t, 20*time.Second), storage.Pin{Cid: testCid(1)}); err != nil {
		t.Fatal(err)
	}
	c.Net.Silence(leader.Addr)
	t.Cleanup(func() { c.Net.Unsilence(leader.Addr) })
	if _, err := follower.Node.Pin(timeout(t, 30*time.Second), storage.Pin{Cid: testCid(2)}); err != nil {
		t.Fatalf("a write through a follower while its leader went silent: %v", err)
	}
	// The silent peer may still think it leads; another one must.
	c.WaitFor("a new leader", func() bool {
		for _, p := range c.Alive() {
			if p.ID != leader.ID && p.Node.RaftInfo().State == "leader" {
				return true
			}
		}
		return false
	})
}
