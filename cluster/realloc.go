package cluster

import (
	"context"
	"slices"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// reallocate re-places pins and commits the changes in batches, each move
// conditional on the version it read. With a dead peer it moves that peer's
// pins elsewhere; with "" it repairs allocations that name non-members and
// tops up pins with fewer allocations than their maximum, and says in one
// line how many pins it left on fewer members than their minimum. It
// returns how many pins it committed new allocations for, and how many it
// could not place: pins of the dead peer left without a new home, or pins
// that still name a non-member.
func (n *Node) reallocate(ctx context.Context, dead string) (moved, unplaced int, err error) {
	// Duties and peer removal may ask at once; one at a time keeps each
	// pass from writing back what another just changed.
	n.reallocMu.Lock()
	defer n.reallocMu.Unlock()
	member := n.memberSet()
	var short shortOfMinimum
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
			if dead == "" {
				short.note(p, allocs, ok, member)
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
	if err == nil && dead == "" && n.shortWarned.due(short.pins, time.Now()) {
		n.log.Warn().Int("pins", short.pins).Str("example_cid", short.example.String()).Int("members", n.peerCount()).
			Msg(shortOfMinimumLine)
	}
	return moved, unplaced, err
}

const shortOfMinimumLine = "some pins are allocated to fewer members than their replication_factor_min: " +
	"each is on every member the leader could place it on, and goes to more as members join; " +
	"add peers or lower their minimum"

// shortOfMinimum counts the pins a repair pass leaves allocated to fewer
// members than their minimum, so that the pass says so in one line rather
// than one per pin.
type shortOfMinimum struct {
	pins    int
	example cid.Cid
}

// shortWarning keeps the warning of pins short of their minimum to one
// line when their number changes and one every shortWarningEvery
// otherwise: a cluster too small for its pins stays so for days, and a
// line every repair pass (30 s) would bury what else the log says.
type shortWarning struct {
	pins int
	at   time.Time
}

const shortWarningEvery = 10 * time.Minute

// due reports whether a pass that left pins short of their minimum should
// say so now, and records it when it should.
func (w *shortWarning) due(pins int, now time.Time) bool {
	if pins == w.pins && (pins == 0 || now.Sub(w.at) < shortWarningEvery) {
		return false
	}
	w.pins, w.at = pins, now
	return pins > 0
}

// note counts p when its allocations after the pass (allocs when changed)
// name fewer members than its minimum.
func (s *shortOfMinimum) note(p storage.Pin, allocs []string, changed bool, member map[string]bool) {
	if p.Everywhere() {
		return
	}
	if !changed {
		allocs = p.Allocations
	}
	held := 0
	for _, id := range allocs {
		if member[id] {
			held++
		}
	}
	if held < p.ReplicationFactorMin {
		s.pins++
		if !s.example.Defined() {
			s.example = p.Cid
		}
	}
}

// replace computes p's new allocations: without the dead peer, or (dead
// == "") without non-members and topped up to the maximum. It reports
// whether they changed, and whether p is placed to the pass's satisfaction.
//
// The repair (dead == "") places a pin on the healthy peers there are even
// when they are fewer than its minimum: a new pin is refused for that, but
// this one is committed already, and refusing it would leave it on no
// member at all (a state imported from a bigger cluster names that
// cluster's peers). A dead peer's pin stays on the dead peer instead until
// it can move whole: the peer may come back.
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
	extra.ReplicationFactorMin = 0 // best effort: never a NotEnoughPeersError
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
