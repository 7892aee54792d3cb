package cluster

import (
	"context"
	"fmt"
	"time"
)

// A write returns once its entry committed, not once this peer applied it:
// the apply is a state write and a status write, and on a follower it waits
// for the leader to pass the commit index on. What a client is promised is
// read-your-writes, so every read through this peer first waits until it
// has applied every write it acknowledged (acked). Reads that follow no
// write of their own, or come after the apply, do not wait at all.

// readYourWritesLimit bounds that wait. A peer that cannot apply what it
// acknowledged for this long is cut off from its leader; its reads fail
// rather than answer without the write.
const readYourWritesLimit = 10 * time.Second

// acknowledge records that a write at index returned to its client.
func (n *Node) acknowledge(index uint64) { n.acked.Set(index) }

// caughtUp waits until this peer applied every write it acknowledged.
func (n *Node) caughtUp(ctx context.Context) error {
	return n.waitApplied(ctx, n.acked.Get())
}

// waitApplied waits, at most readYourWritesLimit, until this peer applied
// the entry at index.
func (n *Node) waitApplied(ctx context.Context, index uint64) error {
	if n.applied.Get() >= index {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, readYourWritesLimit)
	defer cancel()
	if err := n.applied.Wait(ctx, index); err != nil {
		return fmt.Errorf("this peer has not yet applied index %d, which a write it answered needs (applied %d): %w", index, n.applied.Get(), err)
	}
	return nil
}
