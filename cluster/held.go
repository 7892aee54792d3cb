package cluster

import (
	"context"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// Held tells, for each of cids, whether the IPFS node of at least one peer
// holds it as the cluster pinned it: its status there, checked against the
// node as the status of named CIDs is, reads pinned. A committed pin that
// failed on every peer is not held. The proxy answers pin/ls this way to a
// caller that asks what is held (an outer cluster's tracker, whose IPFS
// node this cluster's proxy is).
func (n *Node) Held(ctx context.Context, cids []cid.Cid) ([]bool, error) {
	maps := n.CheckedPeerMaps(ctx, cids)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	held := make([]bool, len(cids))
	for i, pm := range maps {
		held[i] = anyPinned(pm)
	}
	return held, nil
}

// ListHeld is List restricted to the pins that some peer records as
// pinned. Like every listing it reads the peers' records (ListStatus)
// rather than asking each node about each pin.
func (n *Node) ListHeld(ctx context.Context, fn func(storage.Pin) error) error {
	return n.ListStatus(ctx, false, func(p storage.Pin, pm types.PeerMap) error {
		if !anyPinned(pm) {
			return nil
		}
		return fn(p)
	})
}

func anyPinned(pm map[string]types.PinStatus) bool {
	for _, st := range pm {
		if st.Status == string(storage.StatusPinned) {
			return true
		}
	}
	return false
}
