package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/flotilla-ipfs/flotilla/internal/durable"
)

// The state file is derived data: the Raft log holds every committed entry,
// a snapshot holds every entry before the log, and a start replays the log
// past the state's applied index. So the FSM's commits need not wait for the
// disk. They are written without fsync (bbolt's NoSync) and reach the disk
// when the kernel writes them back, or at Close. On a disk where an fsync
// flushes the whole device, this takes two flushes per peer per batch out of
// the queue that Raft's own log appends wait in.
//
// A process that crashes leaves its writes in the page cache, where every
// commit is whole. A machine that crashes (power, kernel) may leave a file
// whose meta page points at pages that never reached the disk: without
// fsync, nothing orders bbolt's writes. So before its first commit without
// fsync, a State writes a marker beside the file with the ID of the
// machine's boot. A clean Close flushes the file and removes the marker. At
// open, a marker of another boot means the file may be torn: OpenState
// refuses it with ErrStateUnsynced, and the peer sets it aside
// (SetStateAside) and rebuilds the state from its last Raft snapshot and log.
//
// Where the system has no boot ID, every commit is fsynced as before.

// ErrStateUnsynced means the machine restarted while the state file held
// commits not yet on disk: the file may be torn, and is not read.
var ErrStateUnsynced = errors.New("the machine restarted while the state file had writes not yet on disk")

// unsyncedSuffix names the marker beside the state file.
const unsyncedSuffix = ".unsynced-boot"

// bootIDFile is Linux's ID of the running boot, new at every boot.
const bootIDFile = "/proc/sys/kernel/random/boot_id"

// currentBoot returns the running boot's ID, or "" where there is none.
func currentBoot() string {
	b, err := os.ReadFile(bootIDFile)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// CheckUnsynced fails with ErrStateUnsynced when the marker beside the
// state file at path comes from another boot than this one. It reads only
// the marker, never the file.
func CheckUnsynced(path string) error {
	b, err := os.ReadFile(path + unsyncedSuffix)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", path+unsyncedSuffix, err)
	}
	written := strings.TrimSpace(string(b))
	if boot := currentBoot(); boot != "" && written == boot {
		return nil // a crash of the process only: the page cache kept it all
	}
	return fmt.Errorf("%s: %w (written in boot %s)", path, ErrStateUnsynced, written)
}

// markUnsynced records, durably, that the file at path takes commits
// without fsync in boot.
func markUnsynced(path, boot string) error {
	if err := durable.WriteFile(path+unsyncedSuffix, []byte(boot+"\n"), 0o600); err != nil {
		return fmt.Errorf("mark %s unsynced: %w", path, err)
	}
	return nil
}

// ClearUnsynced removes the marker beside the state file at path, which is
// now wholly on disk (a clean Close, or a whole file renamed into place),
// and makes that durable.
func ClearUnsynced(path string) error {
	if err := os.Remove(path + unsyncedSuffix); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return durable.SyncDir(filepath.Dir(path))
}

// SetStateAside renames a state file that OpenState refused with
// ErrStateUnsynced, and its marker, out of the way, so that the next
// OpenState starts an empty state to rebuild. It returns the new name; the
// file is kept for inspection, never read again.
func SetStateAside(path string) (string, error) {
	aside := fmt.Sprintf("%s.torn-%s", path, time.Now().UTC().Format("20060102T150405Z"))
	if err := os.Rename(path, aside); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("set %s aside: %w", path, err)
	}
	if err := os.Rename(path+unsyncedSuffix, aside+unsyncedSuffix); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("set %s aside: %w", path+unsyncedSuffix, err)
	}
	return aside, durable.SyncDir(filepath.Dir(path))
}
