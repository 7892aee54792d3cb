package powercut

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/internal/testkit"
)

// mounted mounts a power-cut file system for the test, or skips where FUSE
// is not there to be mounted (not root, no /dev/fuse).
func mounted(t *testing.T) (*FS, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting FUSE needs root")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("no /dev/fuse")
	}
	backing, mnt := t.TempDir(), t.TempDir()
	f, err := Mount(backing, mnt)
	if err != nil {
		t.Skipf("cannot mount FUSE here: %v", err)
	}
	t.Cleanup(func() { _ = f.Unmount() })
	return f, backing
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestACutKeepsWhatWasSyncedAndLosesTheRest(t *testing.T) {
	f, backing := mounted(t)
	synced := filepath.Join(f.Mountpoint(), "synced")
	file, err := os.Create(synced)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := file.Write([]byte("durable")); err != nil {
		t.Fatal(err)
	}
	if err := file.Sync(); err != nil {
		t.Fatal(err)
	}
	// Overwritten in place, then grown, then cut short: none of it synced.
	if _, err := file.WriteAt([]byte("DUR"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := file.WriteAt([]byte(" and more"), 7); err != nil {
		t.Fatal(err)
	}
	if err := file.Truncate(4); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, synced); !bytes.Equal(got, []byte("DURa")) {
		t.Fatalf("before the cut, the file reads %q, not what was written", got)
	}
	file.Close()

	never := filepath.Join(f.Mountpoint(), "never-synced")
	if err := os.WriteFile(never, []byte("lost"), 0o600); err != nil {
		t.Fatal(err)
	}

	lost, err := f.Cut()
	if err != nil {
		t.Fatal(err)
	}
	if lost == 0 {
		t.Error("the cut reports no lost write")
	}
	if got := readFile(t, synced); !bytes.Equal(got, []byte("durable")) {
		t.Errorf("after the cut, the synced file reads %q, want what its fsync saw", got)
	}
	if got := readFile(t, never); len(got) != 0 {
		t.Errorf("after the cut, a file never synced still holds %q", got)
	}
	// The mount serves again, over the backing folder as the cut left it.
	if got := readFile(t, filepath.Join(backing, "synced")); !bytes.Equal(got, []byte("durable")) {
		t.Errorf("the backing file reads %q", got)
	}
}

func TestAnUnmountKeepsEveryWrite(t *testing.T) {
	f, backing := mounted(t)
	if err := os.WriteFile(filepath.Join(f.Mountpoint(), "a"), []byte("kept"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.Unmount(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(backing, "a")); !bytes.Equal(got, []byte("kept")) {
		t.Errorf("after a clean unmount the file reads %q", got)
	}
}

// A daemon under test runs in a mount namespace of its own (for a boot ID
// of its own), which holds a copy of every mount there was when it began:
// a cut of another peer's disk must still end.
func TestACutEndsWhileAnotherMountNamespaceLives(t *testing.T) {
	f, _ := mounted(t)
	other := exec.Command("unshare", "-m", "sleep", "60")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Process.Kill(); _ = other.Wait() })
	testkit.Eventually(t, "the other namespace to hold the mount", func() bool {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/mounts", other.Process.Pid))
		return err == nil && strings.Contains(string(b), f.Mountpoint())
	})
	cut := make(chan error, 1)
	go func() { _, err := f.Cut(); cut <- err }()
	select {
	case err := <-cut:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the cut waits on the other namespace's copy of the mount")
	}
}
