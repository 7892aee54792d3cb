package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/flotilla-ipfs/flotilla/internal/folderlock"
)

// A daemon started while a state import writes a never-run peer's folder
// (which has no file of its own to lock yet) must refuse to start: the
// import would replace its state under it, and its first snapshot would
// lose the import.
func TestADaemonRefusesAFolderAnImportHolds(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	release, err := folderlock.Lock(filepath.Join(home, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	r := runCLI(t, daemonEnv(home), nil, "daemon", "--init")
	if r.code == 0 || !strings.Contains(r.stderr, "another flotilla process uses this data folder") {
		t.Fatalf("a daemon on a held folder: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// daemonEnv is a daemon's environment for a test: its home, every listener
// on a free loopback port, an IPFS node that does not answer, and extra.
func daemonEnv(home string, extra ...string) []string {
	return append([]string{
		"FLOTILLA_PATH=" + home,
		"FLOTILLA_CLUSTER_LISTEN=127.0.0.1:0", "FLOTILLA_API_LISTEN=127.0.0.1:0",
		"FLOTILLA_PROXY_LISTEN=127.0.0.1:0", "FLOTILLA_PINSVC_LISTEN=127.0.0.1:0",
		"FLOTILLA_IPFS_API=http://127.0.0.1:1",
	}, extra...)
}
