package cluster

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	n, err := New(cfg)
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
