package storage

import (
	"errors"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrInUse means another process holds a bbolt file (a running daemon).
var ErrInUse = errors.New("the file is in use by another process")

// CheckFree fails with ErrInUse when another process still holds the
// bbolt file at path after timeout; a missing file is free. It is for the
// callers that open a file without a timeout of their own, on which bbolt
// would wait for ever. The check and that open are two steps: a process
// that takes the file between them makes the open wait until it lets go.
func CheckFree(path string, timeout time.Duration) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, ReadOnly: true})
	if errors.Is(err, bolt.ErrTimeout) {
		return fmt.Errorf("%s: %w", path, ErrInUse)
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	return db.Close()
}
