package offline_test

// The lock and format cases of a stopped peer's folder: a log held by a
// running process, and a log an earlier build wrote (raft.db).

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/flotilla-ipfs/flotilla/cluster/offline"
	"github.com/flotilla-ipfs/flotilla/cluster/offline/offlinetest"
	"github.com/flotilla-ipfs/flotilla/cluster/raftstore"
	"github.com/flotilla-ipfs/flotilla/storage"
)

func TestOfflineRefusesALockedFolder(t *testing.T) {
	entries := []*raft.Log{configuration(1, 1, voters("a")), pinBatch(t, 2, 1, pin(1))}
	for name, locked := range map[string]struct {
		bolt bool
		lock func(f *peerFolder, t *testing.T) io.Closer
	}{
		"state.db": {lock: func(f *peerFolder, t *testing.T) io.Closer {
			st, err := storage.OpenState(f.statePath())
			if err != nil {
				t.Fatal(err)
			}
			return st
		}},
		"raft log":                 {lock: holdLog},
		"an older build's raft.db": {bolt: true, lock: holdLog},
	} {
		t.Run(name, func(t *testing.T) {
			f := newPeerFolder(t)
			f.bolt = locked.bolt
			f.log(entries...)
			f.state(entries...)
			held := locked.lock(f, t)
			if _, err := offline.Export(f.dir, io.Discard); !errors.Is(err, offline.ErrPeerRunning) {
				t.Errorf("export: %v", err)
			}
			if _, err := offline.Import(f.dir, "a", "a:9096", offlinetest.NDJSON(t, pinsOf(9))); !errors.Is(err, offline.ErrPeerRunning) {
				t.Errorf("import: %v", err)
			}
			if err := held.Close(); err != nil {
				t.Fatal(err)
			}
			offlinetest.SamePins(t, offlinetest.Export(t, f.dir), pinsOf(1))
			f.noTempLeft()
		})
	}
}

func holdLog(f *peerFolder, t *testing.T) io.Closer { return f.openLog(t) }

// A peer of an older build, stopped before this build ever started it,
// still exports and imports, and its log stays in its format: the daemon
// moves it at its next start.
func TestOfflineReadsAnOlderBuildsLog(t *testing.T) {
	f := newPeerFolder(t)
	f.bolt = true
	entries := []*raft.Log{
		configuration(1, 1, voters("a")),
		pinBatch(t, 2, 1, pin(1)),
		pinBatch(t, 3, 2, pin(2)),
	}
	f.log(entries...)
	f.state(entries[:2]...)
	offlinetest.SamePins(t, offlinetest.Export(t, f.dir), pinsOf(1, 2))
	if _, err := offline.Import(f.dir, "a", "a:9096", offlinetest.NDJSON(t, pinsOf(3))); err != nil {
		t.Fatal(err)
	}
	offlinetest.SamePins(t, offlinetest.Export(t, f.dir), pinsOf(3))
	if metas, err := f.snapshots().List(); err != nil || len(metas) != 1 || metas[0].Index != 3 || metas[0].Term != 2 {
		t.Fatalf("the import's snapshot is not at the end of raft.db: %+v %v", metas, err)
	}
	if _, err := os.Stat(filepath.Join(f.raftDir(), raftstore.WALDir)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the offline tools moved the log: %v", err)
	}
	f.noTempLeft()
}
