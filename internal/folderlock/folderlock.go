// Package folderlock keeps two processes from writing one peer's data
// folder at once: the daemon holds the folder's lock while it runs, and the
// offline state tools while they work. The files' own locks are not
// enough: a peer that has never run has no file to lock yet, and an import
// into it would be swapped under a daemon started meanwhile.
package folderlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrHeld means another process holds the folder's lock.
var ErrHeld = errors.New("another flotilla process uses this data folder")

// fileName is the lock's file inside the folder. Its content means
// nothing; the lock is the kernel's, and goes with the process that holds
// it, however that process ends.
const fileName = "flotilla.lock"

// Lock takes dir's lock without waiting, creating dir if need be, and
// returns its release. It is for those that write the folder.
func Lock(dir string) (release func() error, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return lock(dir, os.O_RDWR|os.O_CREATE)
}

// LockIfPresent is Lock for those that only read the folder: it creates
// nothing, and a folder without a lock's file, which no daemon or import
// ever used, needs no lock.
func LockIfPresent(dir string) (release func() error, err error) {
	release, err = lock(dir, os.O_RDWR)
	if errors.Is(err, os.ErrNotExist) {
		return func() error { return nil }, nil
	}
	return release, err
}

func lock(dir string, flag int) (release func() error, err error) {
	f, err := os.OpenFile(filepath.Join(dir, fileName), flag, 0o600)
	if err != nil {
		return nil, err
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return f.Close, nil
}
