package cluster

import (
	"context"

	"github.com/flotilla-ipfs/flotilla/cluster/tracker"
)

// IPFS is everything a peer needs from the IPFS node behind it. The daemon
// passes *ipfs.Client, checked against this interface at compile time.
type IPFS interface {
	// tracker.IPFS is what the pin tracker needs: pin, unpin, pin ls,
	// is-pinned and pin update.
	tracker.IPFS
	// IPFSID is the node's peer ID and the addresses it is reached at.
	IPFSID(ctx context.Context) (id string, addresses []string, err error)
	// FreeSpace is what the node may still store, for allocation.
	FreeSpace(ctx context.Context) (uint64, error)
	// RepoTotals is the node's repo size, limit and object count.
	RepoTotals(ctx context.Context) (size, max, objects uint64, err error)
	// RepoGC collects the node's garbage, calling fn for each removed key
	// or error line.
	RepoGC(ctx context.Context, fn func(key, errMsg string) error) error
}
