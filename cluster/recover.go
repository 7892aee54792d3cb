package cluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// RecoverAll retries every failed operation on every peer, and tells fn of
// each CID queued again, once however many peers queued it. Every peer
// answers in batches in CID order, and the batches are merged as they
// come: the memory held is a batch or two per peer, not the failures. A
// peer that does not answer, or stays silent for perPeerTimeout, is left
// out, as a fan-out leaves it out; an error from fn stops it all.
func (n *Node) RecoverAll(ctx context.Context, fn func(cid.Cid) error) error {
	ctx, cancel := context.WithCancel(ctx)
	peers := n.actedOn()
	streams := make([]chan []cid.Cid, len(peers))
	var wg sync.WaitGroup
	for i, p := range peers {
		streams[i] = make(chan []cid.Cid, 1)
		wg.Add(1)
		go func(out chan<- []cid.Cid, p storage.Peer) {
			defer wg.Done()
			defer close(out)
			err := n.recoverOn(ctx, p, func(batch []cid.Cid) error {
				select {
				case out <- batch:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
			if err != nil && ctx.Err() == nil {
				n.log.Warn().Err(err).Str("peer", p.ID).Msg("recover on a peer failed; its failures were not all queued again")
			}
		}(streams[i], p)
	}
	err := mergeSorted(streams, fn)
	cancel()
	wg.Wait()
	return err
}

// recoverOn runs RecoverAll on peer p. A remote peer that sends nothing
// for perPeerTimeout while it is waited for is given up; the time fn
// takes to pass a batch on is not the peer's.
func (n *Node) recoverOn(ctx context.Context, p storage.Peer, fn func([]cid.Cid) error) error {
	if p.ID == n.cfg.ID {
		return n.tracker.RecoverAll(ctx, fn)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	silent := time.AfterFunc(perPeerTimeout, func() {
		cancel(fmt.Errorf("peer %s sent nothing for %s", p.ID, perPeerTimeout))
	})
	defer silent.Stop()
	err := n.client.RecoverAll(ctx, p.ClusterAddr, func(batch []cid.Cid) error {
		silent.Stop()
		defer silent.Reset(perPeerTimeout)
		return fn(batch)
	})
	if cause := context.Cause(ctx); err != nil && cause != nil {
		return cause
	}
	return err
}

// mergeSorted merges streams of CID batches, each in CID order, into one
// in CID order, and calls fn once per CID: equal CIDs of several streams
// come out together, and all but the first are dropped. A stream out of
// order loses nothing, but may repeat a CID. It returns once every stream
// is closed, or with fn's error.
func mergeSorted(streams []chan []cid.Cid, fn func(cid.Cid) error) error {
	heads := make([][]cid.Cid, len(streams))
	open := make([]bool, len(streams))
	for i := range open {
		open[i] = true
	}
	last := ""
	for {
		best := -1
		for i := range streams {
			for open[i] && len(heads[i]) == 0 {
				heads[i], open[i] = <-streams[i]
			}
			if len(heads[i]) > 0 && (best < 0 || heads[i][0].KeyString() < heads[best][0].KeyString()) {
				best = i
			}
		}
		if best < 0 {
			return nil
		}
		c := heads[best][0]
		heads[best] = heads[best][1:]
		if c.KeyString() == last {
			continue
		}
		last = c.KeyString()
		if err := fn(c); err != nil {
			return err
		}
	}
}

// RetryFailed queues every failed pin and unpin of this peer again, now:
// for when its IPFS node answers again after an outage, so that what failed
// meanwhile does not wait out its back-off.
func (n *Node) RetryFailed(ctx context.Context) error {
	return n.tracker.RecoverAll(ctx, func([]cid.Cid) error { return nil })
}
