package cluster

import (
	"sync"

	"github.com/hashicorp/raft"
)

// stableAfterShutdown is Raft's stable store (its term and vote), which
// ignores the writes that come after Raft shut down. hashicorp/raft answers
// a heartbeat on the transport's goroutine, outside its main loop, and
// Shutdown does not wait for that goroutine: a heartbeat of a newer term
// that checked for shutdown just before it can still save the term after
// the store closed, and Raft panics on the failed write. A stopped peer
// needs no term: it learns the current one again when it starts, and no
// vote is lost, since votes are cast in the main loop.
type stableAfterShutdown struct {
	raft.StableStore
	mu      sync.RWMutex
	stopped bool
}

var _ raft.StableStore = (*stableAfterShutdown)(nil)

func (s *stableAfterShutdown) Set(key, val []byte) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.stopped {
		return nil
	}
	return s.StableStore.Set(key, val)
}

func (s *stableAfterShutdown) SetUint64(key []byte, val uint64) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.stopped {
		return nil
	}
	return s.StableStore.SetUint64(key, val)
}

// stop makes every later write a no-op, once the writes under way ended:
// the store may close after it.
func (s *stableAfterShutdown) stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
}
