package cluster

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/flotilla-ipfs/flotilla/cluster/raftstore/raftstoretest"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// A cluster of one whose log an older build wrote keeps its pins and its
// term: the next election counts on from the term in raft.db, never from
// zero, which would put entries of lower terms after higher ones.
func TestAnOlderBuildsPeerKeepsItsPinsAndTerm(t *testing.T) {
	p := newTestPeer(t)
	for i := range 3 {
		if _, err := p.node.Pin(ctx(t), storage.Pin{Cid: testCid(i)}); err != nil {
			t.Fatal(err)
		}
		// Each start is an election: a term of its own.
		p.stop()
		p.start()
	}
	term := p.node.RaftInfo().Term
	p.stop()
	raftstoretest.AsOlderBuild(t, filepath.Join(p.dir, "raft"))
	p.start()
	raftstoretest.Moved(t, filepath.Join(p.dir, "raft"))
	eventually(t, "the peer leads again", func() bool { return p.node.RaftInfo().State == "leader" })
	if got := p.node.RaftInfo().Term; got <= term {
		t.Fatalf("term %d after the move, want above %d", got, term)
	}
	for i := range 3 {
		if _, err := p.node.Get(ctx(t), testCid(i)); err != nil {
			t.Fatalf("pin %d after the move: %v", i, err)
		}
	}
	if _, err := p.node.Pin(ctx(t), storage.Pin{Cid: testCid(3)}); err != nil {
		t.Fatal(err)
	}
	p.stop()
	p.start()
	if n, err := p.node.PinCount(); err != nil || n != 4 {
		t.Fatalf("%d pins after another restart (%v), want 4", n, err)
	}
}

// A member of three whose log an older build wrote rejoins as itself:
// the leader's appends match the moved log, so it catches up on what was
// committed while it was down, and takes writes again.
func TestAnOlderBuildsMemberCatchesUpFromItsMovedLog(t *testing.T) {
	peers := newTestCluster(t, 3)
	leader := leaderOf(t, peers)
	old := peers[slices.IndexFunc(peers, func(p *testPeer) bool { return p != leader })]
	pinThrough := func(p *testPeer, from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			if _, err := p.node.Pin(ctx(t), storage.Pin{Cid: testCid(i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	pinThrough(old, 0, 10)
	old.stop()
	raftstoretest.AsOlderBuild(t, filepath.Join(old.dir, "raft"))
	pinThrough(leader, 10, 20)
	old.start()
	raftstoretest.Moved(t, filepath.Join(old.dir, "raft"))
	eventually(t, "the moved peer applied what was committed while it was down", func() bool {
		n, err := old.node.PinCount()
		return err == nil && n == 20
	})
	if info := old.node.RaftInfo(); !info.Voter {
		t.Fatalf("the moved peer is no longer a voter: %+v", info)
	}
	pinThrough(old, 20, 21)
	if _, err := old.node.Get(ctx(t), testCid(20)); err != nil {
		t.Fatalf("a pin through the moved peer, read back there: %v", err)
	}
	eventually(t, "every peer applied the pin through the moved peer", func() bool {
		for _, p := range peers {
			if n, err := p.node.PinCount(); err != nil || n != 21 {
				return false
			}
		}
		return true
	})
}
