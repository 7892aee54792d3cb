package cluster

import (
	"context"
	"errors"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/cluster/tracker"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// An upload through the proxy (add, block/put, dag/put, dag/import) is
// stored on this peer's IPFS node, while its cluster pin may be allocated
// to other peers. Until one of them holds it, this node has the only copy:
// Protect pins it here, as Flotilla's own protected pin, before the cluster
// pin is committed, and the release loop lets the tracker unpin it once an
// allocated peer reports the pin held. A GC, Kubo's own or the cluster's,
// keeps pinned content, so the upload survives both.

const (
	// releaseInterval paces the release loop.
	releaseInterval = 2 * time.Second
	// protectCommitWait bounds a protection whose cluster pin was never
	// committed (the upload's client went away, the commit failed): it is
	// released after this long.
	protectCommitWait = 5 * time.Minute
	// releaseBatch is how many protected CIDs one round asks peers about
	// at once.
	releaseBatch = 256
)

// Protect keeps the uploaded roots cids on this peer's IPFS node until an
// allocated peer holds them. Call it before the cluster pins are committed.
// A root that the node already pins (the user's pin, or the cluster's) or
// that the tracker already tracks is left alone; a failure leaves the root
// unprotected, as it was before, and is only logged.
func (n *Node) Protect(ctx context.Context, cids []cid.Cid) {
	if n.follower() {
		// Nothing that reaches a follower is ever pinned by the cluster.
		return
	}
	for _, c := range cids {
		if err := n.tracker.Protect(ctx, c); err != nil && !errors.Is(err, tracker.ErrNotProtected) {
			n.log.Debug().Err(err).Str("cid", c.String()).Msg("upload left unprotected")
		}
	}
}

// releaseLoop releases, every releaseInterval, the protections whose work
// is done, until ctx ends.
func (n *Node) releaseLoop(ctx context.Context) {
	every(ctx, releaseInterval, func(time.Time) {
		if err := n.releaseProtected(ctx); err != nil && ctx.Err() == nil {
			n.log.Warn().Err(err).Msg("release protected uploads")
		}
	})
}

// releaseProtected releases every protection that is no longer needed: its
// pin is allocated here (the tracker's pin takes over), an allocated peer
// reports it pinned, or its pin never came within protectCommitWait. A pin
// that left the pinset took its protection with it already.
func (n *Node) releaseProtected(ctx context.Context) error {
	now := time.Now()
	byPeer := map[string][]cid.Cid{}
	pending := 0
	err := n.tracker.ForEachProtected(ctx, func(st storage.LocalStatus) bool {
		pin, err := n.state.Get(st.Cid)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			if now.Sub(st.Timestamp) > protectCommitWait {
				n.tracker.Release(st.Cid)
			}
		case err != nil:
			n.log.Error().Err(err).Msg("read pinset")
		case n.holds(pin):
			n.tracker.Release(st.Cid)
		default:
			for _, a := range pin.Allocations {
				byPeer[a] = append(byPeer[a], st.Cid)
			}
			if pending++; pending >= releaseBatch {
				n.releaseHeld(ctx, byPeer)
				byPeer, pending = map[string][]cid.Cid{}, 0
			}
		}
		return ctx.Err() == nil
	})
	n.releaseHeld(ctx, byPeer)
	return err
}

// releaseHeld asks each peer about the protected CIDs allocated to it, and
// releases those it reports pinned.
func (n *Node) releaseHeld(ctx context.Context, byPeer map[string][]cid.Cid) {
	if len(byPeer) == 0 {
		return
	}
	for _, p := range n.members() {
		cids := byPeer[p.ID]
		if len(cids) == 0 || p.ID == n.cfg.ID {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, perPeerTimeout)
		sts, err := n.peerStatuses(pctx, p, cids, false)
		cancel()
		if err != nil {
			n.log.Debug().Err(err).Str("peer", p.ID).Msg("ask a peer whether it holds protected uploads")
			continue
		}
		for i, st := range sts {
			if i < len(cids) && st.Status == string(storage.StatusPinned) && n.tracker.Release(cids[i]) {
				n.log.Debug().Str("cid", cids[i].String()).Str("peer", p.ID).Msg("allocated peer holds the upload")
			}
		}
	}
}
