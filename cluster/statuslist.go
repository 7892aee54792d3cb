package cluster

import (
	"context"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// listPage is how many pins, or tracker records, one read transaction of a
// listing covers.
const listPage = 1024

// pinStatus is what this peer reports for a CID, given whether it is in the
// pinset and allocated here, and its tracker's record (nil: none). Every
// status this peer gives, one CID or a listing, comes from here.
func (n *Node) pinStatus(pinned, allocated bool, st *storage.LocalStatus, now time.Time) types.PinStatus {
	// A read-only follower holds every pin, allocated or not.
	allocated = allocated || n.follower()
	out := types.PinStatus{PeerName: n.cfg.Name, IPFSPeerID: n.ipfsPeerID(), Timestamp: now}
	if st != nil {
		out.Status, out.Error, out.AttemptCount, out.Timestamp = string(st.Status), st.Error, st.AttemptCount, st.Timestamp
	}
	switch {
	case !pinned:
		if st == nil {
			out.Status = types.StatusUnpinned
		}
	case !allocated:
		// Still unpinning here what was moved elsewhere is worth telling.
		if st == nil || (st.Status != storage.StatusUnpinning && st.Status != storage.StatusUnpinQueued && st.Status != storage.StatusUnpinError) {
			out.Status, out.Error = types.StatusRemote, ""
		}
	case st == nil:
		out.Status = string(storage.StatusPinQueued)
	}
	return out
}

// pager reads an ordered store a page at a time, one read transaction per
// page, and hands out its items one by one.
type pager[T any] struct {
	read  func(after cid.Cid, limit int, fn func(T) error) (cid.Cid, error)
	page  []T
	i     int
	after cid.Cid
	done  bool
}

// peek is the current item, nil at the end. It stays valid until the
// next call to peek after next.
func (p *pager[T]) peek() (*T, error) {
	if p.i < len(p.page) {
		return &p.page[p.i], nil
	}
	if p.done {
		return nil, nil
	}
	p.page, p.i = p.page[:0], 0
	last, err := p.read(p.after, listPage, func(v T) error {
		p.page = append(p.page, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	p.after, p.done = last, len(p.page) < listPage
	if len(p.page) == 0 {
		return nil, nil
	}
	return &p.page[0], nil
}

func (p *pager[T]) next() { p.i++ }

// allocationPager reads of each pin whether it is allocated here.
func (n *Node) allocationPager() *pager[storage.PinAllocation] {
	return &pager[storage.PinAllocation]{read: func(after cid.Cid, limit int, fn func(storage.PinAllocation) error) (cid.Cid, error) {
		return n.state.AllocationsFrom(after, limit, n.cfg.ID, fn)
	}}
}

func (n *Node) recordPager() *pager[storage.LocalStatus] {
	return &pager[storage.LocalStatus]{read: func(after cid.Cid, limit int, fn func(storage.LocalStatus) error) (cid.Cid, error) {
		return n.status.ForEachWithStatus(nil, after, limit, fn)
	}}
}

// streamLocalStatuses streams this peer's status of every CID it knows of, in
// CID order: the pins of its pinset and the CIDs its tracker still holds a
// record of (an unpin in progress). It merges the two files as it reads
// them, a page of each at a time, for another peer's status listing.
func (n *Node) streamLocalStatuses(ctx context.Context, fn func(c cid.Cid, st types.PinStatus) error) error {
	pins, records := n.allocationPager(), n.recordPager()
	var now time.Time
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if i%listPage == 0 {
			// One "now" per page: the listing then writes it once.
			now = time.Now().UTC()
		}
		pin, err := pins.peek()
		if err != nil {
			return err
		}
		rec, err := records.peek()
		if err != nil {
			return err
		}
		switch {
		case pin == nil && rec == nil:
			return nil
		case rec == nil || pin != nil && pin.Cid.KeyString() < rec.Cid.KeyString():
			err = fn(pin.Cid, n.pinStatus(true, pin.Allocated, nil, now))
			pins.next()
		case pin == nil || rec.Cid.KeyString() < pin.Cid.KeyString():
			err = fn(rec.Cid, n.pinStatus(false, false, rec, now))
			records.next()
		default:
			err = fn(pin.Cid, n.pinStatus(true, pin.Allocated, rec, now))
			pins.next()
			records.next()
		}
		if err != nil {
			return err
		}
	}
}

// localSource is this peer's own statuses in a listing: the tracker's
// records merged with the pins the listing reads anyway.
type localSource struct {
	n       *Node
	records *pager[storage.LocalStatus]
}

func (s *localSource) fill(_ context.Context, pins []storage.Pin, out []types.PinStatus) []types.PinStatus {
	now := time.Now().UTC()
	for i := range pins {
		out = append(out, s.status(&pins[i], now))
	}
	return out
}

// status moves the records on to pin's CID, past those of CIDs that are
// not in the pinset, and reports the pin with its record if it has one.
func (s *localSource) status(pin *storage.Pin, now time.Time) types.PinStatus {
	key := pin.Cid.KeyString()
	for {
		rec, err := s.records.peek()
		if err != nil {
			// The listing goes on; this peer's entry says why it is blank.
			return clusterError(s.n.self(), err, now)
		}
		if rec == nil || rec.Cid.KeyString() > key {
			return s.n.pinStatus(true, pin.AllocatedTo(s.n.cfg.ID), nil, now)
		}
		s.records.next()
		if rec.Cid.KeyString() == key {
			return s.n.pinStatus(true, pin.AllocatedTo(s.n.cfg.ID), rec, now)
		}
	}
}

func (s *localSource) close() {}

// clusterError is a peer's entry when its status could not be had.
func clusterError(p storage.Peer, err error, now time.Time) types.PinStatus {
	return types.PinStatus{PeerName: p.Name, IPFSPeerID: p.IPFSID, Status: types.StatusClusterError, Error: err.Error(), Timestamp: now}
}
