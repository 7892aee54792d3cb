// Package raftstoretest writes a peer's Raft log as a build before the WAL
// left it, for tests of the move.
package raftstoretest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/flotilla-ipfs/flotilla/cluster/raftstore"
)

// AsOlderBuild replaces the WAL in a stopped peer's raft folder with
// raft.db (raft-boltdb), holding the same entries and stable store, and
// fails unless the log held entries.
func AsOlderBuild(t testing.TB, raftDir string) {
	t.Helper()
	src, err := raftstore.OpenStopped(raftDir, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(raftDir, raftstore.BoltFile)})
	if err != nil {
		t.Fatal(err)
	}
	n, err := raftstore.Copy(dst, src)
	if err = errors.Join(err, dst.Close(), src.Close()); err != nil || n == 0 {
		t.Fatalf("copied %d entries into raft.db: %v", n, err)
	}
	if err := os.RemoveAll(filepath.Join(raftDir, raftstore.WALDir)); err != nil {
		t.Fatal(err)
	}
}

// Moved fails unless the raft folder holds the WAL and raft.db set aside.
func Moved(t testing.TB, raftDir string) {
	t.Helper()
	for name, want := range map[string]bool{raftstore.WALDir: true, raftstore.MovedBoltFile: true, raftstore.BoltFile: false} {
		if _, err := os.Stat(filepath.Join(raftDir, name)); (err == nil) != want {
			t.Fatalf("raft/%s: %v, want it there: %v", name, err, want)
		}
	}
}
