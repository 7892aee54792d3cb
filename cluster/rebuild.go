package cluster

import (
	"context"
	"errors"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// The state file takes its commits without fsync (storage/state_unsynced.go),
// so a crash of the machine can tear it. The peer then sets it aside and
// starts from an empty state, which Raft fills from the last snapshot and the
// log. Until the log has replayed, that state is behind the local status:
// the tracker's first reconcile would take the pins not replayed yet for
// unpinned, and unpin them on IPFS. So the tracker waits for the replay. The
// same holds for a state that was lost or damaged in any other way and that
// Raft restores from its snapshot at the start.

// openState opens the state file, or sets it aside when a crash of the
// machine may have torn it.
func (n *Node) openState(path string) (*storage.State, error) {
	st, err := storage.OpenState(path)
	if !errors.Is(err, storage.ErrStateUnsynced) {
		return st, err
	}
	aside, err := storage.SetStateAside(path)
	if err != nil {
		return nil, err
	}
	n.log.Warn().Str("set_aside", aside).
		Msg("the machine restarted before the state file was wholly on disk; rebuilding it from the Raft snapshot and log")
	n.stateBehind = true
	return storage.OpenState(path)
}

// runTracker runs the tracker, once a state that started behind holds
// every entry committed before this start (for a member, the entry that
// its sync after the start commits comes after all of them) and every
// entry this peer's log held (what a read-only follower, which commits
// nothing, goes by). In a partition that wait lasts until a leader is
// reached; a tracker acting on the older pinset meanwhile would undo pins
// that the cluster holds.
func (n *Node) runTracker(ctx context.Context) {
	if n.stateBehind {
		select {
		case <-n.synced:
		case <-ctx.Done():
			return
		}
		if n.applied.Wait(ctx, max(n.acked.Get(), n.logEndAtStart)) != nil {
			return
		}
		n.log.Info().Uint64("applied_index", n.applied.Get()).Msg("the state caught up after its rebuild; the tracker starts")
	}
	n.tracker.Run(ctx)
}
