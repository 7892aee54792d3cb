package cluster

import (
	"testing"

	"github.com/hashicorp/raft"
)

// After Raft shut down, a late heartbeat's term write must not fail (Raft
// panics on it) nor reach the store, which is about to close.
func TestTheStableStoreIgnoresWritesAfterShutdown(t *testing.T) {
	mem := raft.NewInmemStore()
	s := &stableAfterShutdown{StableStore: mem}
	if err := s.SetUint64([]byte("CurrentTerm"), 3); err != nil {
		t.Fatal(err)
	}
	s.stop()
	if err := s.SetUint64([]byte("CurrentTerm"), 4); err != nil {
		t.Fatalf("a term written after the shutdown failed: %v", err)
	}
	if err := s.Set([]byte("LastVoteCand"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if got, _ := mem.GetUint64([]byte("CurrentTerm")); got != 3 {
		t.Fatalf("the store holds term %d, want 3: a write after the shutdown reached it", got)
	}
	if got, _ := mem.Get([]byte("LastVoteCand")); got != nil {
		t.Fatalf("the store holds %q: a write after the shutdown reached it", got)
	}
}
