package cluster

import (
	"errors"
	"strconv"
)

var (
	// errPeerUnreachable marks a call to another peer that got no answer.
	// For a write forwarded to the leader, the leader may have changed, so
	// the write is retried.
	errPeerUnreachable = errors.New("the peer did not answer")
)

func parseUint(s string) uint64 {
	v, _ := strconv.ParseUint(s, 10, 64)
	return v
}
