package cluster

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/cluster/peerrpc"
	"github.com/flotilla-ipfs/flotilla/cluster/raftstore"
	"github.com/flotilla-ipfs/flotilla/cluster/transport"
	"github.com/flotilla-ipfs/flotilla/internal/config"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// startFollowerPeer starts a read-only follower of the cluster at via.
func startFollowerPeer(t *testing.T, via string) *testPeer {
	t.Helper()
	return startPeer(t, &testPeer{follower: true}, via)
}

// startPeer starts p, a testPeer with its options set, joining through
// via.
func startPeer(t *testing.T, p *testPeer, via ...string) *testPeer {
	t.Helper()
	p.t, p.dir, p.up, p.repinDelay = t, t.TempDir(), newMemUpstream(), time.Second
	p.id, p.key = newPeerIdentity(t)
	p.start(via...)
	t.Cleanup(func() { p.stop() })
	return p
}

// suffrage is the Raft suffrage of id in p's configuration.
func suffrage(p *testPeer, id string) (raft.ServerSuffrage, bool) {
	cf := p.node.rp.raft.GetConfiguration()
	if cf.Error() != nil {
		return 0, false
	}
	for _, s := range cf.Configuration().Servers {
		if string(s.ID) == id {
			return s.Suffrage, true
		}
	}
	return 0, false
}

func TestAFollowerMirrorsEveryPinAndIsNeverAllocated(t *testing.T) {
	peers := newTestCluster(t, 2)
	f := startFollowerPeer(t, peers[1].addr)
	eventually(t, "the follower recorded as one, and a non-voter", func() bool {
		rec, err := peers[0].node.state.Peer(f.id)
		s, ok := suffrage(peers[0], f.id)
		return err == nil && rec.Follower && ok && s == raft.Nonvoter
	})

	var pins []storage.Pin
	for i := range 4 {
		p, err := peers[i%2].node.Pin(ctx(t), storage.Pin{Cid: testCid(100 + i), ReplicationFactorMin: 1, ReplicationFactorMax: 1})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(p.Allocations, f.id) {
			t.Fatalf("a pin was allocated to the follower: %v", p.Allocations)
		}
		pins = append(pins, p)
	}
	everywhere, err := peers[0].node.Pin(ctx(t), storage.Pin{Cid: testCid(200)})
	if err != nil {
		t.Fatal(err)
	}
	pins = append(pins, everywhere)
	eventually(t, "every pin on the follower's IPFS node", func() bool {
		for _, p := range pins {
			if !f.up.has(p.Cid) || f.node.LocalStatus(p.Cid).Status != "pinned" {
				return false
			}
		}
		return true
	})
	if got := len(peers[0].node.candidates(nil)); got != 2 {
		t.Fatalf("%d allocation candidates, want the two full peers", got)
	}

	// Writes through the follower are refused there, and nothing commits.
	before, _ := peers[0].node.state.Count()
	if _, err := f.node.Pin(ctx(t), storage.Pin{Cid: testCid(300)}); !errors.Is(err, types.ErrReadOnlyFollower) {
		t.Fatalf("a pin through the follower = %v", err)
	}
	if _, err := f.node.Unpin(ctx(t), pins[0].Cid); !errors.Is(err, types.ErrReadOnlyFollower) {
		t.Fatalf("an unpin through the follower = %v", err)
	}
	if err := f.node.RemovePeer(ctx(t), peers[1].id); !errors.Is(err, types.ErrReadOnlyFollower) {
		t.Fatalf("a peer removal through the follower = %v", err)
	}
	if after, _ := peers[0].node.state.Count(); after != before {
		t.Fatalf("the pinset went from %d to %d pins", before, after)
	}

	roles := map[string]string{}
	for _, id := range peers[0].node.Peers(ctx(t)) {
		roles[id.ID] = id.Role
	}
	if roles[f.id] != types.RoleFollower || f.node.ID(ctx(t)).Role != types.RoleFollower {
		t.Fatalf("roles %v; the follower says %q", roles, f.node.ID(ctx(t)).Role)
	}
}

// The leader, not the follower's code, refuses a write sent with the
// follower secret: here a client that is not a Node at all.
func TestTheLeaderRefusesAForgedWriteWithTheFollowerSecret(t *testing.T) {
	peers := newTestCluster(t, 2)
	f := startFollowerPeer(t, peers[0].addr)
	leader := leaderOf(t, peers)
	client, ln := followerSecretClient(t)
	before, _ := leader.node.state.Count()
	_, err := client.Apply(ctx(t), leader.addr, []storage.Op{{Kind: storage.OpPin, Pin: storage.Pin{Cid: testCid(1), Timestamp: time.Now()}}})
	if !errors.Is(err, types.ErrReadOnlyFollower) {
		t.Fatalf("a forged apply = %v, want the read-only refusal", err)
	}
	// A join that claims to be a voter's is a follower's join, and may not
	// take a member's place.
	err = joinRefused(t, client, leader.addr, storage.Peer{ID: peers[1].id, ClusterAddr: ln.Addr().String()}, nil)
	if !errors.Is(err, types.ErrReadOnlyFollower) {
		t.Fatalf("a follower's join as a member = %v", err)
	}
	if err := client.Remove(ctx(t), leader.addr, peers[1].id); !errors.Is(err, types.ErrReadOnlyFollower) {
		t.Fatalf("a forged remove = %v", err)
	}
	rec, err := leader.node.state.Peer(peers[1].id)
	if err != nil || rec.Follower || rec.ClusterAddr != peers[1].addr {
		t.Fatalf("the member's record became %+v, %v", rec, err)
	}
	// Nor a live follower's place.
	err = joinRefused(t, client, leader.addr, storage.Peer{ID: f.id, ClusterAddr: ln.Addr().String()}, nil)
	if !errors.Is(err, types.ErrReadOnlyFollower) {
		t.Fatalf("a join in a live follower's place = %v", err)
	}
	if rec, err := leader.node.state.Peer(f.id); err != nil || rec.ClusterAddr != f.addr {
		t.Fatalf("the follower's record became %+v, %v", rec, err)
	}
	if after, _ := leader.node.state.Count(); after != before {
		t.Fatalf("the pinset went from %d to %d pins", before, after)
	}
}

// followerSecretClient is a peer RPC client that holds the follower secret
// and is no Node at all, and the listener of its cluster port.
func followerSecretClient(t *testing.T) (*peerrpc.Client, net.Listener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port, err := transport.New(transport.Config{Listener: ln, FollowerSecret: testFollowerSecret, Follower: true, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { port.Close() })
	return peerrpc.NewClient(port.DialRPC), ln
}

// joinRefused sends a join, again while the cluster has no leader (a loaded
// machine may cost it one), and returns the answer.
func joinRefused(t *testing.T, client *peerrpc.Client, addr string, p storage.Peer, proof *peerrpc.JoinProof) error {
	t.Helper()
	var err error
	eventually(t, "an answer from a leader", func() bool {
		err = client.Join(ctx(t), addr, p, proof)
		return !errors.Is(err, types.ErrNoLeader)
	})
	return err
}

func TestAFollowerIsNeverPromoted(t *testing.T) {
	first := startPeer(t, &testPeer{voters: 2})
	second := startPeer(t, &testPeer{voters: 2}, first.addr)
	f := startFollowerPeer(t, first.addr)
	spare := startPeer(t, &testPeer{voters: 2}, first.addr)
	eventually(t, "the spare and the follower heard of as non-voters, and healthy", func() bool {
		s1, ok1 := suffrage(first, spare.id)
		s2, ok2 := suffrage(first, f.id)
		now := time.Now()
		return ok1 && ok2 && s1 == raft.Nonvoter && s2 == raft.Nonvoter &&
			first.node.monitor.Healthy(spare.id, now) && first.node.monitor.Healthy(f.id, now)
	})
	// One voter goes: the promotion duty fills its place from the
	// non-voters, of which the follower comes first in the configuration.
	// Through the leader, whichever of the two voters leads now: a loaded
	// machine may have moved leadership.
	leader, gone := first, second
	if leaderOf(t, []*testPeer{first, second}) == second {
		leader, gone = second, first
	}
	if err := leader.node.RemovePeer(ctx(t), gone.id); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the spare promoted", func() bool {
		s, ok := suffrage(leader, spare.id)
		return ok && s == raft.Voter
	})
	if s, _ := suffrage(leader, f.id); s != raft.Nonvoter {
		t.Fatal("the follower was promoted")
	}
}

func TestAFollowerRestartsWithoutFollowAndCatchesUp(t *testing.T) {
	peers := newTestCluster(t, 2)
	f := startFollowerPeer(t, peers[0].addr)
	f.stop()
	p, err := peers[0].node.Pin(ctx(t), storage.Pin{Cid: testCid(7), ReplicationFactorMin: 1, ReplicationFactorMax: 1})
	if err != nil {
		t.Fatal(err)
	}
	f.start() // no --follow: the data folder remembers
	eventually(t, "the pin made while the follower was down on its node", func() bool {
		return f.up.has(p.Cid)
	})

	// Again from another address: the follower tells its cluster.
	f.stop()
	f.addr = ""
	p, err = peers[0].node.Pin(ctx(t), storage.Pin{Cid: testCid(8), ReplicationFactorMin: 1, ReplicationFactorMax: 1})
	if err != nil {
		t.Fatal(err)
	}
	f.start()
	eventually(t, "the pin made while the follower moved on its node", func() bool {
		return f.up.has(p.Cid)
	})
}

func TestAFollowerNeedsItsClusterOnItsFirstStart(t *testing.T) {
	p := &testPeer{t: t, dir: t.TempDir(), up: newMemUpstream(), follower: true}
	p.id, p.key = newPeerIdentity(t)
	_, err := New(context.Background(), p.config())
	if err == nil || !strings.Contains(err.Error(), "--follow") {
		t.Fatalf("a follower's first start without a cluster = %v", err)
	}
	full := newTestPeer(t)
	full.stop()
	full.follower = true
	if _, err := New(context.Background(), full.config(full.addr)); !errors.Is(err, ErrNotFollowerHome) {
		t.Fatalf("following from a full peer's home = %v", err)
	}
}

// newPeerIdentity makes a peer ID and its key.
func newPeerIdentity(t testing.TB) (string, crypto.PrivKey) {
	t.Helper()
	ident, err := config.NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	key, err := ident.Key()
	if err != nil {
		t.Fatal(err)
	}
	return ident.ID, key
}

// A follower that stopped after the leader's first heartbeat, before any
// entry reached it, holds a Raft term but no configuration: back at another
// address, it joins again from the addresses it followed, as on its first
// start, and is not left waiting for a leader that sends to its old address.
func TestAFollowerThatNeverReceivedAnEntryRejoinsFromElsewhere(t *testing.T) {
	peers := newTestCluster(t, 2)
	f := startFollowerPeer(t, peers[0].addr)
	f.stop()
	keepOnlyTheTerm(t, f)
	tearState(t, f)
	f.addr = ""
	f.start()
	leader := leaderOf(t, peers)
	waitRecordedAt(t, leader, f)
}

// waitRecordedAt waits until leader records the follower f at its
// current address.
func waitRecordedAt(t *testing.T, leader, f *testPeer) {
	t.Helper()
	eventually(t, "the follower recorded at its new address", func() bool {
		rec, err := leader.node.state.Peer(f.id)
		return err == nil && rec.ClusterAddr == f.addr && rec.Follower
	})
}

// keepOnlyTheTerm empties the stopped peer p's Raft log, keeping the term it
// had heard of.
func keepOnlyTheTerm(t *testing.T, p *testPeer) {
	t.Helper()
	dir := filepath.Join(p.dir, "raft")
	old, err := raftstore.OpenStopped(dir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	term, err := old.GetUint64([]byte("CurrentTerm"))
	old.Close()
	if err != nil || term == 0 {
		t.Fatalf("the follower heard of no term (%d, %v)", term, err)
	}
	if err := os.RemoveAll(filepath.Join(dir, raftstore.WALDir)); err != nil {
		t.Fatal(err)
	}
	fresh, err := raftstore.Open(dir, hclog.NewNullLogger(), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if err := fresh.SetUint64([]byte("CurrentTerm"), term); err != nil {
		t.Fatal(err)
	}
}
