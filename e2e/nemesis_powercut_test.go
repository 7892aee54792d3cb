package e2e

import (
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/flotilla-ipfs/flotilla/internal/powercut"
)

// Power cuts: each peer's home lies on a file system of its own
// (internal/powercut) that forgets, when the nemesis cuts the power, every
// write its daemon had not fsynced, as a machine that loses power does; a
// kill -9 alone loses nothing the kernel took. The peer then starts in a
// new boot (its own /proc/sys/kernel/random/boot_id, bind-mounted in a
// mount namespace of its own), as a machine does after a power cut: that
// is what tells it that its state file, written without fsync, may be torn
// (storage/state_unsynced.go). The Kubos' repos are not on the cut disks:
// Kubo's own durability is Kubo's.
//
// They need root and FUSE; FLOTILLA_NEMESIS_POWERCUTS=0 leaves them out.

const envNemesisPowerCuts = "FLOTILLA_NEMESIS_POWERCUTS"

// peerDisk is a peer's power-cut disk and the boot its daemon runs in.
type peerDisk struct {
	fs       *powercut.FS
	bootFile string
	boots    int
}

// powerCutsOn says whether the nemesis cuts power: when asked to, or
// unless asked not to where a power-cut file system can be mounted (root,
// FUSE).
func powerCutsOn(t *testing.T) bool {
	asked := false
	switch v := strings.TrimSpace(os.Getenv(envNemesisPowerCuts)); v {
	case "0", "false":
		return false
	case "1", "true":
		asked = true
	case "":
	default:
		t.Fatalf("%s=%q: want 1 or 0", envNemesisPowerCuts, v)
	}
	fs, err := powercut.Mount(t.TempDir(), t.TempDir())
	if err == nil {
		err = fs.Unmount()
	}
	switch {
	case err != nil && asked:
		t.Fatalf("%s=1, but: %v", envNemesisPowerCuts, err)
	case err != nil:
		t.Logf("no power cuts: %v", err)
	}
	return err == nil
}

// peerDisk mounts peer i's power-cut disk and returns the binary to run the
// peer with (flotilla, in the boot of its disk) and the environment that
// puts its home there; with power cuts off, flotillaBin and nothing.
func (w *nemesisWorld) peerDisk(i int, flotillaBin string) (string, []string) {
	if !w.cfg.powerCuts {
		return flotillaBin, nil
	}
	t := w.t
	dir := t.TempDir()
	backing, mnt := filepath.Join(dir, "disk"), filepath.Join(dir, "mnt")
	for _, d := range []string{backing, mnt} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	fs, err := powercut.Mount(backing, mnt)
	if err != nil {
		t.Fatalf("mount peer%d's power-cut disk: %v", i, err)
	}
	// Registered before the peer's own cleanups, so it runs after them.
	t.Cleanup(func() {
		if err := fs.Unmount(); err != nil {
			_ = syscall.Unmount(mnt, syscall.MNT_DETACH)
		}
	})
	d := &peerDisk{fs: fs, bootFile: filepath.Join(dir, "boot_id")}
	d.newBoot(t, i)
	w.disks = append(w.disks, d)
	wrapper := filepath.Join(dir, "flotilla-in-boot")
	script := "#!/bin/sh\n# flotilla in the boot its disk has seen last\n" +
		`exec unshare -m sh -c 'mount --bind "$0" /proc/sys/kernel/random/boot_id && exec "$@"' "$POWERCUT_BOOT_ID_FILE" ` +
		flotillaBin + ` "$@"` + "\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return wrapper, []string{"FLOTILLA_PATH=" + filepath.Join(mnt, "flotilla"), "POWERCUT_BOOT_ID_FILE=" + d.bootFile}
}

// newBoot gives the disk's machine the ID of a boot it has not had.
func (d *peerDisk) newBoot(t *testing.T, i int) {
	d.boots++
	id := fmt.Sprintf("00000000-0000-4000-8000-%06d%06d", i, d.boots)
	if err := os.WriteFile(d.bootFile, []byte(id+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// cutPower kills peer i and cuts its disk's power: its unsynced writes are
// lost, and it will start in a new boot. It returns how many writes were
// lost.
func (w *nemesisWorld) cutPower(i int) int {
	p, d := w.peers[i], w.disks[i]
	if p.cmd != nil {
		p.kill()
	}
	lost, err := d.fs.Cut()
	if err != nil {
		w.t.Fatalf("cut peer%d's power: %v", i, err)
	}
	d.newBoot(w.t, i)
	return lost
}

// powerCutPeer cuts one peer's power; it comes back in a new boot.
func powerCutPeer(w *nemesisWorld, rng *mrand.Rand) (string, func(), bool) {
	if w.disks == nil {
		return "", nil, false
	}
	i := rng.IntN(len(w.peers))
	rebuilt := w.rebuilds(i)
	lost := w.cutPower(i)
	return fmt.Sprintf("power cut peer%d (%d unsynced writes lost)", i, lost), func() {
		w.peers[i].start()
		w.checkRebuilt(i, rebuilt)
	}, true
}

// stateSetAside is what a peer logs when it starts in a new boot with
// writes of its state file that may not have reached the disk.
const stateSetAside = "the machine restarted before the state file was wholly on disk"

// rebuilds counts the times peer i set its state file aside.
func (w *nemesisWorld) rebuilds(i int) int {
	if w.peers[i].logs == nil {
		return 0
	}
	return strings.Count(w.peers[i].logs.String(), stateSetAside)
}

// checkRebuilt fails the test unless peer i, started again after a power
// cut, took its state file for torn: the cut must look like one to the
// daemon, or the test proves nothing about its recovery.
func (w *nemesisWorld) checkRebuilt(i, before int) {
	if w.rebuilds(i) <= before {
		w.t.Errorf("peer%d started after a power cut without setting its state file aside: it did not see a new boot", i)
	}
}

// powerCutAll cuts every peer's power at once, a data centre's outage:
// every write acknowledged before it was on a majority's disks.
func powerCutAll(w *nemesisWorld, _ *mrand.Rand) (string, func(), bool) {
	if w.disks == nil {
		return "", nil, false
	}
	lost, rebuilt := 0, make([]int, len(w.peers))
	for i := range w.peers {
		rebuilt[i] = w.rebuilds(i)
		lost += w.cutPower(i)
	}
	return fmt.Sprintf("power cut of every peer (%d unsynced writes lost)", lost), func() {
		w.startAll()
		for i := range w.peers {
			w.checkRebuilt(i, rebuilt[i])
		}
	}, true
}

// startAll starts every peer at once: none answers /health before the
// others are up to elect a leader.
func (w *nemesisWorld) startAll() {
	for _, p := range w.peers {
		p.startUnready()
	}
	for _, p := range w.peers {
		p.waitReady()
	}
}
