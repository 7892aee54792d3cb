package cluster

import (
	"context"
	"slices"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// reallocate re-places pins and commits the changes in batches, each move
// conditional on the version it read. With a dead peer it moves that peer's
// pins elsewhere; with "" it repairs allocations that name non-members and
// tops up pins with fewer allocations than their maximum. It returns how
// many pins it committed new allocations for, and how many it could not
// place: pins of the dead peer left without a new home, or pins that
// still name a non-member.
func (n *Node) reallocate(ctx context.Context, dead string) (moved, unplaced int, err error) {
	// Duties and peer removal may ask at once; one at a time keeps each
	// pass from writing back what another just changed.
	n.reallocMu.Lock()
	defer n.reallocMu.Unlock()
	member := n.memberSet()
	var batch []storage.Op
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := n.submit(ctx, batch)
		if err == nil {
			moved += len(batch)
		}
		batch = nil
		return err
	}
	var after cid.Cid
	for {
		var page []storage.Pin
		last, err := n.state.ForEachFrom(after, 512, func(p storage.Pin) error {
			page = append(page, p)
			return nil
		})
		if err != nil {
			return moved, unplaced, err
		}
		for _, p := range page {
			allocs, ok, placed := n.replace(p, dead, member)
			if !placed {
				unplaced++
			}
			if !ok {
				continue
			}
			read := p.Timestamp
			p.Allocations = allocs
			batch = append(batch, storage.Op{Kind: storage.OpPin, Pin: p, Expect: &read})
			if len(batch) >= reallocBatch {
				if err := flush(); err != nil {
					return moved, unplaced, err
				}
			}
		}
		if len(page) == 0 || !last.Defined() {
			break
		}
		after = last
	}
	err = flush() // before moved is read: it counts this last batch
	return moved, unplaced, err
}

// replace computes p's new allocations: without the dead peer, or (dead
// == "") without non-members and topped up to the maximum. It reports
// whether they changed, and whether p is placed to the pass's satisfaction.
func (n *Node) replace(p storage.Pin, dead string, member map[string]bool) (allocs []string, changed, placed bool) {
	if p.Everywhere() {
		return nil, false, true
	}
	if dead != "" {
		if !slices.Contains(p.Allocations, dead) {
			return nil, false, true
		}
		current := slices.DeleteFunc(slices.Clone(p.Allocations), func(id string) bool { return id == dead })
		allocs, err := n.allocate(p, current, []string{dead})
		if err != nil {
			return nil, false, false
		}
		return allocs, !slices.Equal(allocs, p.Allocations), true
	}
	// Members keep their allocations, even while down within the repin
	// delay: moving those is repinDeadPeers' job.
	kept := slices.DeleteFunc(slices.Clone(p.Allocations), func(id string) bool { return !member[id] })
	if len(kept) == len(p.Allocations) && len(kept) >= p.ReplicationFactorMax {
		return nil, false, true
	}
	extra := p
	extra.ReplicationFactorMin = max(0, p.ReplicationFactorMin-len(kept))
	extra.ReplicationFactorMax = p.ReplicationFactorMax - len(kept)
	more, err := n.allocate(extra, nil, kept)
	if err != nil {
		more = nil
	}
	allocs = append(kept, more...)
	if len(allocs) == 0 {
		// Nowhere to go yet: leave the pin as it is and try again later.
		return nil, false, false
	}
	return allocs, !slices.Equal(allocs, p.Allocations), true
}

// memberSet is the shared peer set, by ID.
func (n *Node) memberSet() map[string]bool {
	out := map[string]bool{}
	for _, p := range n.members() {
		out[p.ID] = true
	}
	return out
}
