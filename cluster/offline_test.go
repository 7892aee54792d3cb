package cluster

// Tests of the offline state tools against a real peer: what the daemon makes
// of a folder after an import, and what export makes of a folder the daemon
// left. The offline package's own tests cover the rest without a Node.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/cluster/offline"
	"github.com/flotilla-ipfs/flotilla/cluster/offline/offlinetest"
	"github.com/flotilla-ipfs/flotilla/storage"
)

func TestImportedPinsetSurvivesRestart(t *testing.T) {
	p := newTestPeer(t)
	old := []cid.Cid{testCid(1), testCid(2)}
	// One old pin in a snapshot, one in the log after it: a start that
	// restored the old snapshot, or replayed the log over the import,
	// would bring them back.
	for i, c := range old {
		if _, err := p.node.Pin(ctx(t), storage.Pin{Cid: c, Name: "old"}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := p.node.rp.raft.Snapshot().Error(); err != nil {
				t.Fatal(err)
			}
		}
	}
	eventually(t, "old pins upstream", func() bool { return p.up.has(old[0]) && p.up.has(old[1]) })
	p.stop()

	imported := []storage.Pin{
		{Cid: testCid(3), Name: "new", ReplicationFactorMin: -1, ReplicationFactorMax: -1, Timestamp: time.Unix(1700000000, 0).UTC()},
		{Cid: testCid(4), Mode: storage.Direct, ReplicationFactorMin: -1, ReplicationFactorMax: -1, Metadata: map[string]string{"a": "b"}},
	}
	if n, err := offline.PinCount(p.dir); err != nil || n != 2 {
		t.Fatalf("pin count before import: %d %v", n, err)
	}
	if _, err := offline.Import(p.dir, p.id, p.addr, offlinetest.NDJSON(t, imported)); err != nil {
		t.Fatal(err)
	}

	p.start()
	offlinetest.SamePins(t, listPins(t, p.node), imported)
	for _, c := range old {
		if _, err := p.node.Get(ctx(t), c); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("old pin %s is back: %v", c, err)
		}
	}
	eventually(t, "the upstream to hold the imported pinset", func() bool {
		return p.up.has(testCid(3)) && p.up.has(testCid(4)) && !p.up.has(old[0]) && !p.up.has(old[1])
	})

	// The log goes on after the import's snapshot, and a second restart
	// replays it on top.
	if _, err := p.node.Pin(ctx(t), storage.Pin{Cid: testCid(5)}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.node.Unpin(ctx(t), testCid(4)); err != nil {
		t.Fatal(err)
	}
	want := listPins(t, p.node)
	p.stop()
	offlinetest.SamePins(t, offlinetest.Export(t, p.dir), want)
	p.start()
	offlinetest.SamePins(t, listPins(t, p.node), want)
	if got := offlinetest.CIDs(want); len(got) != 2 || !slices.Contains(got, testCid(5).String()) {
		t.Fatalf("pinset after restart %v", got)
	}
}

func TestImportOnFreshHomeStartsAOneVoterCluster(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := &testPeer{t: t, dir: filepath.Join(t.TempDir(), "data"), id: offlinetest.PeerID(t), addr: addr, up: newMemUpstream()}
	want := offlinetest.FullPins(3)
	for i := range want {
		// Allocations name this peer, so that its tracker pins them.
		want[i].Allocations = []string{p.id}
		want[i].PinUpdate = cid.Undef
	}
	if _, err := offline.Import(p.dir, p.id, p.addr, offlinetest.NDJSON(t, want)); err != nil {
		t.Fatal(err)
	}
	p.start()
	t.Cleanup(p.stop)
	offlinetest.SamePins(t, listPins(t, p.node), want)
	if info := p.node.RaftInfo(); info.State != "leader" || !info.Voter {
		t.Fatalf("raft %+v", info)
	}
	eventually(t, "imported pins upstream", func() bool {
		return p.up.has(want[0].Cid) && p.up.has(want[1].Cid) && p.up.has(want[2].Cid)
	})
	if _, err := p.node.Pin(ctx(t), storage.Pin{Cid: testCid(9)}); err != nil {
		t.Fatal(err)
	}
}

// TestExportReplaysTheLog stops a peer with entries in its log after its
// last snapshot, and state.db current, behind, older than the snapshot or
// gone: export gives the same pinset in every case, and leaves state.db as
// it was.
func TestExportReplaysTheLog(t *testing.T) {
	p := newTestPeer(t)
	pin := func(i int) {
		t.Helper()
		if _, err := p.node.Pin(ctx(t), storage.Pin{Cid: testCid(i), Name: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	save := func() []byte {
		t.Helper()
		var b bytes.Buffer
		if err := p.node.state.WriteSnapshot(&b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	pin(1)
	beforeSnapshot := save()
	pin(2)
	if err := p.node.rp.raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	atSnapshot := save()
	pin(3)
	if _, err := p.node.Unpin(ctx(t), testCid(1)); err != nil {
		t.Fatal(err)
	}
	want := listPins(t, p.node)
	if got := offlinetest.CIDs(want); len(got) != 2 {
		t.Fatalf("pinset %v", got)
	}
	current := save()
	p.stop()

	statePath := filepath.Join(p.dir, "state.db")
	for _, tc := range []struct {
		name  string
		state []byte // nil: no state.db
	}{
		{"current", current},
		{"behind the log", atSnapshot},
		{"older than the snapshot", beforeSnapshot},
		{"missing", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(statePath)
			if tc.state != nil {
				if err := os.WriteFile(statePath, tc.state, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			offlinetest.SamePins(t, offlinetest.Export(t, p.dir), want)
			if n, err := offline.PinCount(p.dir); err != nil || n != len(want) {
				t.Fatalf("count %d %v", n, err)
			}
			if tc.state == nil {
				if _, err := os.Stat(statePath); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("export created state.db: %v", err)
				}
				return
			}
			orig := filepath.Join(t.TempDir(), "orig.db")
			if err := os.WriteFile(orig, tc.state, 0o600); err != nil {
				t.Fatal(err)
			}
			if got, want := offlinetest.StateSummary(t, statePath), offlinetest.StateSummary(t, orig); got != want {
				t.Fatalf("export moved state.db from %s to %s", want, got)
			}
		})
	}
	// A state file that a crash of the machine may have torn is read as
	// missing, and left where it is for the daemon to set aside.
	t.Run("torn by a crash of the machine", func(t *testing.T) {
		tearState(t, p)
		offlinetest.SamePins(t, offlinetest.Export(t, p.dir), want)
		if b, err := os.ReadFile(statePath); err != nil || !bytes.Equal(b, make([]byte, len(b))) || len(b) == 0 {
			t.Fatalf("export touched the torn state file: %v", err)
		}
	})
	// The daemon agrees: it restores the snapshot and replays the same log.
	p.start()
	offlinetest.SamePins(t, listPins(t, p.node), want)
}

func TestOfflineRefusesARunningPeer(t *testing.T) {
	p := newTestPeer(t)
	if _, err := p.node.Pin(ctx(t), storage.Pin{Cid: testCid(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := offline.Export(p.dir, io.Discard); !errors.Is(err, offline.ErrPeerRunning) {
		t.Fatalf("export on a running peer: %v", err)
	}
	if _, err := offline.Import(p.dir, p.id, p.addr, offlinetest.NDJSON(t, offlinetest.FullPins(1))); !errors.Is(err, offline.ErrPeerRunning) {
		t.Fatalf("import on a running peer: %v", err)
	}
	if _, err := p.node.Get(ctx(t), testCid(1)); err != nil {
		t.Fatalf("the running peer lost its pin: %v", err)
	}
}

// listPins lists the pinset once the node applied its whole log: a
// restarted leader replays the entries after its snapshot only once it has
// committed a new one.
func listPins(t *testing.T, n *Node) []storage.Pin {
	t.Helper()
	if err := n.rp.raft.Barrier(10 * time.Second).Error(); err != nil {
		t.Fatal(err)
	}
	var out []storage.Pin
	if err := n.List(ctx(t), func(p storage.Pin) error { out = append(out, p); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}
