package cluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// A kept state.db with a wiped raft folder must not start: the new log's
// indexes would be at or below what the state applied, and every pin
// committed from then on would be acknowledged and skipped.
func TestAWipedRaftFolderRefusesToStart(t *testing.T) {
	p := newTestPeer(t)
	for i := range 5 {
		if _, err := p.node.Pin(ctx(t), storage.Pin{Cid: testCid(i), Mode: storage.Recursive}); err != nil {
			t.Fatal(err)
		}
	}
	p.stop()
	if err := os.RemoveAll(filepath.Join(p.dir, "raft")); err != nil {
		t.Fatal(err)
	}
	cfg := p.config()
	n, err := New(context.Background(), cfg)
	if err == nil {
		n.Close()
		t.Fatal("a peer whose raft folder was wiped started")
	}
	cfg.Port.Listener.Close()
	if !errors.Is(err, ErrStateAheadOfLog) || !strings.Contains(err.Error(), "--bootstrap") {
		t.Fatalf("start error = %v, want one that says the state is ahead of the log and what to do", err)
	}
}

// Whatever gets a proposal an index the state has already passed, the
// proposer is told it failed, never that it applied.
func TestAnEntryTheStateSkipsIsNotAcknowledged(t *testing.T) {
	p := newTestPeer(t)
	if _, err := p.node.Pin(ctx(t), storage.Pin{Cid: testCid(1), Mode: storage.Recursive}); err != nil {
		t.Fatal(err)
	}
	// Push the state's applied index far past the log, as a state.db kept
	// from a longer history would be.
	if _, err := p.node.state.Apply(1<<40, storage.Command{Type: storage.CmdPinBatch}); err != nil {
		t.Fatal(err)
	}
	_, err := p.node.Pin(ctx(t), storage.Pin{Cid: testCid(2), Mode: storage.Recursive})
	if !errors.Is(err, storage.ErrAlreadyApplied) {
		t.Fatalf("a pin whose entry the state skipped returned %v, want ErrAlreadyApplied", err)
	}
	if _, err := p.node.Get(ctx(t), testCid(2)); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the skipped pin is in the pinset: %v", err)
	}
}

// A crash of the machine may tear the state file, whose commits skip fsync
// (storage/state_unsynced.go). The peer sets it aside and rebuilds the
// state from the Raft snapshot and log: every pin is back, and none was
// unpinned on the way.
func TestAStateTornByAMachineCrashIsRebuiltFromSnapshotAndLog(t *testing.T) {
	p := newTestPeer(t)
	before, after := testCid(601), testCid(602)
	pinAroundASnapshot(t, p, before, after)
	p.stop()

	path := tearState(t, p)
	p.start()
	for _, c := range []cid.Cid{before, after} {
		if _, err := p.node.Get(ctx(t), c); err != nil {
			t.Fatalf("pin %s after the rebuild: %v", c, err)
		}
	}
	if torn, _ := filepath.Glob(path + ".torn-*"); len(torn) == 0 {
		t.Fatal("the torn state file was not kept aside")
	}
	assertPinnedAndNoneUnpinned(t, p, 2)
}

// A read-only follower commits nothing after its start to learn where
// the cluster is: its tracker waits until the rebuilt state holds what its
// log held, or it would unpin the pins after the snapshot on its node.
func TestAFollowersTornStateIsRebuiltWithoutUnpinning(t *testing.T) {
	peers := newTestCluster(t, 2)
	f := startFollowerPeer(t, peers[0].addr)
	before, after := testCid(611), testCid(612)
	if _, err := peers[0].node.Pin(ctx(t), storage.Pin{Cid: before}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the follower holds the first pin", func() bool { return f.up.has(before) })
	if err := f.node.rp.raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	if _, err := peers[0].node.Pin(ctx(t), storage.Pin{Cid: after}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the follower holds both pins", func() bool { return f.up.has(after) })
	// It restarts while its cluster has no leader: it learns nothing until
	// the stopped member is back, and its tracker must wait that long.
	f.stop()
	peers[1].stop()
	eventually(t, "no leader left", func() bool { return peers[0].node.rp.raft.State() != raft.Leader })
	tearState(t, f)
	n, err := New(context.Background(), f.config()) // not f.start: no leader, so never ready
	if err != nil {
		t.Fatal(err)
	}
	f.node = n
	peers[1].start()
	eventually(t, "both pins in the follower's rebuilt state", func() bool {
		_, err1 := f.node.Get(ctx(t), before)
		_, err2 := f.node.Get(ctx(t), after)
		return err1 == nil && err2 == nil
	})
	assertPinnedAndNoneUnpinned(t, f, 2)
}

// tearState leaves in p's data folder what a power cut can: a state file
// that is no state at all, and the marker of the boot in which it took
// commits without fsync. It returns the state file's path.
func tearState(t *testing.T, p *testPeer) string {
	t.Helper()
	path := filepath.Join(p.dir, "state.db")
	if err := os.WriteFile(path, make([]byte, 16384), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".unsynced-boot", []byte("a-boot-before-this-one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A follower that comes back at another address while its state does not
// hold its own record (rebuilt here; likewise when it stopped before it
// applied its join) goes by its Raft entry, and tells the cluster.
func TestAFollowerBackElsewhereWithoutItsRecordTellsTheCluster(t *testing.T) {
	peers := newTestCluster(t, 2)
	f := startFollowerPeer(t, peers[0].addr)
	// A follower is ready once it hears of a leader, which can be before
	// any entry reached it: this test is of one that holds its Raft entry.
	eventually(t, "the follower holds its own Raft entry", func() bool {
		_, ok := suffrage(f, f.id)
		return ok
	})
	f.stop()
	tearState(t, f) // no snapshot on f: its state starts empty
	f.addr = ""
	f.start()
	leader := leaderOf(t, peers)
	waitRecordedAt(t, leader, f)
}
