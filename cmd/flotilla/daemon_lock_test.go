package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	env := []string{
		"FLOTILLA_PATH=" + home,
		"FLOTILLA_CLUSTER_LISTEN=127.0.0.1:0", "FLOTILLA_API_LISTEN=127.0.0.1:0",
		"FLOTILLA_PROXY_LISTEN=127.0.0.1:0", "FLOTILLA_PINSVC_LISTEN=127.0.0.1:0",
		"FLOTILLA_IPFS_API=http://127.0.0.1:1",
	}
	stderr, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	// Bounded, so that a daemon that starts anyway ends and fails the test.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := Run(ctx, []string{"daemon", "--init"}, Env{Stdout: &strings.Builder{}, Stderr: stderr, Environ: env})
	out, _ := os.ReadFile(stderr.Name())
	if code == 0 || !strings.Contains(string(out), "another flotilla process uses this data folder") {
		t.Fatalf("a daemon on a held folder: exit %d, stderr:\n%s", code, out)
	}
}
