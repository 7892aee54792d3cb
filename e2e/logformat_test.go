package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/flotilla-ipfs/flotilla/cluster/raftstore/raftstoretest"
)

// A data folder that a build before the WAL left (its Raft log in
// raft/raft.db) starts with this binary: the log moves into raft/wal once,
// and every pin is still there, across that start and the next.
func TestADataFolderOfAnOlderBuildKeepsItsPins(t *testing.T) {
	k, p := onePeer(t)
	var roots []string
	for i := range 5 {
		file := writeFile(t, []byte(strings.Repeat("older build ", i+1)))
		roots = append(roots, strings.TrimSpace(k.run("--api", p.proxyAPI(), "add", "-Q", file)))
	}
	p.stop()
	raftDir := filepath.Join(p.home, "data", "raft")
	raftstoretest.AsOlderBuild(t, raftDir)

	p.start()
	raftstoretest.Moved(t, raftDir)
	hasAll := func(when string) {
		t.Helper()
		ls := k.run("--api", p.proxyAPI(), "pin", "ls", "--type=recursive")
		for _, root := range roots {
			if !strings.Contains(ls, root) {
				t.Fatalf("%s, pin %s is gone:\n%s", when, root, ls)
			}
		}
	}
	hasAll("after the log moved")
	roots = append(roots, strings.TrimSpace(k.run("--api", p.proxyAPI(), "add", "-Q", writeFile(t, []byte("after the move")))))
	p.kill()
	p.start()
	hasAll("after a crash once the log moved")
}
