package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/cluster/peerrpc"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// statusSource is one peer's column of a status listing: its status of
// each pin of a page, in order. It never fails: a peer that cannot answer
// reports cluster_error, as PeerMaps does.
type statusSource interface {
	fill(ctx context.Context, pins []storage.Pin, out []types.PinStatus) []types.PinStatus
	close()
}

// ListStatus streams the pinset in CID order, each pin with every peer's
// status of it (this peer's alone when local). Every other peer streams
// its own statuses in CID order once, over peer RPC, and the streams are
// merged with the pinset as this peer reads it a page at a time: the
// listing costs one pass over each peer's files, and memory bounded by a
// few pages per peer, whatever the size of the pinset. A peer that does
// not answer, or stops answering, reports cluster_error from then on. fn
// must not keep pm, which is reused for the next pin.
//
// The next page is read and merged while fn writes out the last one.
func (n *Node) ListStatus(ctx context.Context, local bool, fn func(p storage.Pin, pm types.PeerMap) error) error {
	if err := n.caughtUp(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	peers := []storage.Peer{n.self()}
	if !local {
		peers = n.members()
	}
	sources := make([]statusSource, len(peers))
	for i, p := range peers {
		if p.ID == n.cfg.ID {
			sources[i] = &localSource{n: n, records: n.recordPager()}
		} else {
			sources[i] = n.streamFrom(ctx, p)
		}
		defer sources[i].close()
	}
	free, full := make(chan *statusPage, pagesAhead), make(chan *statusPage, pagesAhead)
	for range pagesAhead {
		free <- &statusPage{columns: make([][]types.PinStatus, len(peers))}
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(full)
		n.readStatusPages(ctx, sources, free, full)
	}()
	defer wg.Wait()
	defer cancel() // before the wait: the reader may be blocked on a page

	pm := make(types.PeerMap, len(peers))
	for page := range full {
		if page.err != nil {
			return page.err
		}
		for j := range page.pins {
			if err := ctx.Err(); err != nil {
				return err
			}
			clear(pm)
			for i, p := range peers {
				pm[p.ID] = page.columns[i][j]
			}
			if err := fn(page.pins[j], pm); err != nil {
				return err
			}
		}
		free <- page
	}
	return ctx.Err()
}

// pagesAhead is how many pages of a listing are in hand at once: one being
// written out, one being read.
const pagesAhead = 2

// statusPage is a page of a status listing: pins, and each peer's status
// of each.
type statusPage struct {
	pins    []storage.Pin
	columns [][]types.PinStatus
	err     error
}

// readStatusPages reads the pinset a page at a time, fills each page's
// columns from the sources, and hands it over, until the pinset ends, it
// fails (the page carries the error), or ctx ends.
func (n *Node) readStatusPages(ctx context.Context, sources []statusSource, free <-chan *statusPage, full chan<- *statusPage) {
	after := cid.Undef
	for {
		var page *statusPage
		select {
		case page = <-free:
		case <-ctx.Done():
			return
		}
		page.pins = page.pins[:0]
		last, err := n.state.ForEachFrom(after, listPage, func(p storage.Pin) error {
			page.pins = append(page.pins, p)
			return nil
		})
		if err == nil {
			for i, s := range sources {
				page.columns[i] = s.fill(ctx, page.pins, page.columns[i][:0])
			}
		}
		page.err = err
		full <- page // never blocks: there are only pagesAhead pages
		if err != nil || len(page.pins) < listPage {
			return
		}
		after = last
	}
}

// chunkQueue is how many chunks of a peer's stream are read ahead of the
// listing.
const chunkQueue = 4

// remoteSource merges another peer's status stream into a listing. The
// stream is read ahead in its own goroutine; the listing waits at most
// perPeerTimeout for each chunk.
type remoteSource struct {
	peer     storage.Peer
	chunks   chan []peerrpc.StatusEntry
	streamed error // why the stream ended, once chunks is closed
	cancel   context.CancelFunc
	timer    *time.Timer

	n      *Node
	cur    []peerrpc.StatusEntry
	ended  bool
	failed error
	// batches takes over for a peer of an older build, which has no
	// stream.
	batches *batchSource
}

func (n *Node) streamFrom(ctx context.Context, p storage.Peer) *remoteSource {
	ctx, cancel := context.WithCancel(ctx)
	s := &remoteSource{n: n, peer: p, chunks: make(chan []peerrpc.StatusEntry, chunkQueue), cancel: cancel, timer: time.NewTimer(time.Hour)}
	s.timer.Stop()
	go func() {
		err := n.client.StatusStream(ctx, p.ClusterAddr, n.acked.Get(), func(chunk []peerrpc.StatusEntry) error {
			select {
			case s.chunks <- chunk:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		s.streamed = err
		close(s.chunks)
	}()
	return s
}

func (s *remoteSource) close() { s.cancel() }

func (s *remoteSource) fill(ctx context.Context, pins []storage.Pin, out []types.PinStatus) []types.PinStatus {
	now := time.Now().UTC()
	for i := range pins {
		st := s.status(ctx, pins[i].Cid.KeyString(), now)
		if s.batches != nil {
			return s.batches.fill(ctx, pins[i:], out)
		}
		out = append(out, st)
	}
	return out
}

// status moves the stream on to key, past the CIDs the listing does not
// have, and reports the peer's status of key. A CID missing from the
// stream is one the peer has neither pinned nor tracked: unpinned there.
func (s *remoteSource) status(ctx context.Context, key string, now time.Time) types.PinStatus {
	for s.failed == nil && !s.ended && s.batches == nil {
		if len(s.cur) == 0 {
			s.receive(ctx)
			continue
		}
		e := &s.cur[0]
		if e.Key > key {
			break
		}
		s.cur = s.cur[1:]
		if e.Key == key {
			return e.Status
		}
	}
	if s.failed != nil {
		return clusterError(s.peer, s.failed, now)
	}
	return types.PinStatus{PeerName: s.peer.Name, IPFSPeerID: s.peer.IPFSID, Status: types.StatusUnpinned, Timestamp: now}
}

// receive waits for the next chunk. Only the time spent waiting on the
// peer counts against perPeerTimeout, not the listing's own pace.
func (s *remoteSource) receive(ctx context.Context) {
	s.timer.Reset(perPeerTimeout)
	defer s.timer.Stop()
	select {
	case chunk, ok := <-s.chunks:
		switch {
		case ok:
			s.cur = chunk
		case errors.Is(s.streamed, peerrpc.ErrNoSuchCall):
			s.batches = &batchSource{n: s.n, peer: s.peer}
		case s.streamed != nil:
			s.failed = s.streamed
		default:
			s.ended = true
		}
	case <-s.timer.C:
		s.failed = fmt.Errorf("%w: no status from %s in %s", peerrpc.ErrUnreachable, s.peer.ClusterAddr, perPeerTimeout)
		s.cancel()
	case <-ctx.Done():
		s.failed = ctx.Err()
	}
}

// batchSource asks a peer of an older build for each page of a listing
// with one /v1/statuses call per MaxStatusBatch CIDs, as PeerMaps does.
type batchSource struct {
	n    *Node
	peer storage.Peer
}

func (s *batchSource) fill(ctx context.Context, pins []storage.Pin, out []types.PinStatus) []types.PinStatus {
	cids := make([]cid.Cid, len(pins))
	for i := range pins {
		cids[i] = pins[i].Cid
	}
	ctx, cancel := context.WithTimeout(ctx, perPeerTimeout)
	defer cancel()
	sts, err := s.n.client.Statuses(ctx, s.peer.ClusterAddr, s.n.acked.Get(), cids)
	if err != nil {
		now := time.Now().UTC()
		for range pins {
			out = append(out, clusterError(s.peer, err, now))
		}
		return out
	}
	return append(out, sts...)
}

func (s *batchSource) close() {}
