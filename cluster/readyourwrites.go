package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
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
	n.waitStartSync(ctx)
	return n.waitApplied(ctx, n.acked.Get())
}

// A peer that restarts has forgotten which writes it acknowledged, and its
// state may lack some of them: they had committed, but this peer had not
// applied them, or even stored them in its log, when it stopped. After a
// start it commits an empty entry through its leader, whose index comes
// after every entry committed before, and counts it as acknowledged; until
// then (synced) reads wait. A peer that reaches no leader within
// readYourWritesLimit of its start answers reads from what it has, as it
// must to serve anything at all in a partition. A read-only follower
// acknowledges no writes, and has none to wait for.

// waitStartSync waits for the sync after the start, until syncedBy.
func (n *Node) waitStartSync(ctx context.Context) {
	select {
	case <-n.synced:
		return
	default:
	}
	wait := time.Until(n.syncedBy)
	if wait <= 0 {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-n.synced:
	case <-t.C:
	case <-ctx.Done():
	}
}

// syncAfterStart commits the empty entry, retrying until it commits or
// the peer stops. submit retries a lost leader itself; an error it does
// not retry (a leader shutting down answers at once) waits a second, so
// that the loop never spins.
func (n *Node) syncAfterStart(ctx context.Context) {
	defer close(n.synced)
	if n.follower() {
		return
	}
	for {
		if _, err := n.submit(ctx, nil); err == nil {
			return // submit acknowledged its index
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// waitApplied waits, at most readYourWritesLimit, until this peer applied
// the entry at index.
func (n *Node) waitApplied(ctx context.Context, index uint64) error {
	if n.applied.Get() >= index {
		return nil
	}
	if n.rp.raft.State() != raft.Leader {
		n.askToPassCommitOn()
	}
	ctx, cancel := context.WithTimeout(ctx, readYourWritesLimit)
	defer cancel()
	if err := n.applied.Wait(ctx, index); err != nil {
		return fmt.Errorf("this peer has not yet applied index %d, which a write it answered needs (applied %d): %w", index, n.applied.Get(), err)
	}
	return nil
}

// askToPassCommitOn asks the leader, one question at a time, to pass its
// last commit on soon, which this follower waits to apply: it would hear
// of it with the next entry, or after Raft's CommitTimeout (50 to 100 ms)
// when none comes. The leader's own commit nudge then passes it on
// (peerService.PassCommitOn). A read-only follower may not ask: its leader
// refuses it every call that acts.
func (n *Node) askToPassCommitOn() {
	if n.follower() {
		return
	}
	addr, id := n.rp.raft.LeaderWithID()
	if id == "" || !n.askingToPassOn.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer n.askingToPassOn.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), passCommitOnTimeout)
		defer cancel()
		if err := n.client.PassCommitOn(ctx, string(addr)); err != nil {
			n.log.Debug().Err(err).Msg("ask the leader to pass its commit on")
		}
	}()
}

// passCommitOnTimeout bounds a follower's question to its leader: the
// commit comes with the next entry anyway.
const passCommitOnTimeout = 2 * time.Second
