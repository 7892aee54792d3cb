package types

import (
	"errors"
)

var (
	// ErrNoLeader means no leader could be found in time: a majority of the
	// voters is unreachable from this peer, or an election is under way.
	ErrNoLeader = errors.New("no leader: the cluster cannot commit right now (is a majority of its voters reachable?)")
	// ErrRemoved means the cluster removed this peer: it no longer takes
	// part, and should be stopped (or started again with --bootstrap to join again).
	ErrRemoved = errors.New("this peer was removed from the cluster")
	// ErrUnknownPeer means the peer is not a member of this cluster.
	ErrUnknownPeer = errors.New("not a member of this cluster")
	// ErrOnlyVoter means a request to remove the cluster's only voter, the
	// peer of a 1-peer cluster among others: no peer could lead after it.
	ErrOnlyVoter = errors.New("cannot remove the only voter of the cluster (the peer of a 1-peer cluster cannot remove itself): no other peer could lead it")
	// ErrReadOnlyFollower means a read-only follower asked for a change.
	// Its own fronts say so, and every member refuses a write that comes
	// from a connection that proved the follower secret; either way the
	// follower's user reads it.
	ErrReadOnlyFollower = errors.New("this peer is a read-only follower of its cluster: it mirrors the pinset and cannot change it; send writes to a full peer of the cluster")
)
