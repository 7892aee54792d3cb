package pinsvc

import (
	"container/heap"
	"context"
	"errors"
	"net/http"
	"sort"
	"sync"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// statusWorkers bounds how many pins have their peers asked at once while
// a list fills in the statuses of its page.
const statusWorkers = 8

// statusBatch is how many pins one round of status requests covers while a
// list filters by status.
const statusBatch = 256

// entry is a pin that matched, with its status once derived.
type entry struct {
	pin             storage.Pin
	status, details string
}

// newer is the listing order: newest created first, as clients page
// backwards with `before`; the CID breaks ties only to keep the order stable.
func newer(a, b *entry) bool {
	if !a.pin.Timestamp.Equal(b.pin.Timestamp) {
		return a.pin.Timestamp.After(b.pin.Timestamp)
	}
	return a.pin.Cid.KeyString() < b.pin.Cid.KeyString()
}

// top keeps the n first entries in listing order among all those offered:
// a heap rooted at the last one kept, so that memory follows the page size
// rather than the pinset's.
type top struct {
	n int
	h []entry
}

func (t *top) Len() int           { return len(t.h) }
func (t *top) Less(i, j int) bool { return newer(&t.h[j], &t.h[i]) }
func (t *top) Swap(i, j int)      { t.h[i], t.h[j] = t.h[j], t.h[i] }
func (t *top) Push(x any)         { t.h = append(t.h, x.(entry)) }
func (t *top) Pop() any {
	e := t.h[len(t.h)-1]
	t.h = t.h[:len(t.h)-1]
	return e
}

func (t *top) offer(e entry) {
	switch {
	case len(t.h) < t.n:
		heap.Push(t, e)
	case newer(&e, &t.h[0]):
		t.h[0] = e
		heap.Fix(t, 0)
	}
}

func (t *top) sorted() []entry {
	sort.Slice(t.h, func(i, j int) bool { return newer(&t.h[i], &t.h[j]) })
	return t.h
}

// list is GET /pins.
func (s *server) list(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilter(r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	page, count, err := s.scan(ctx, &f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.derive(ctx, page)
	out := pinResults{Count: count, Results: make([]pinStatus, len(page))}
	for i, e := range page {
		out.Results[i] = s.statusOf(ctx, e.pin, e.status, e.details)
	}
	writeJSON(w, http.StatusOK, out)
}

// scan counts every pin that matches f and returns the page: the first
// f.limit in listing order. Pins stream through; only the page is kept.
func (s *server) scan(ctx context.Context, f *filter) ([]entry, int, error) {
	// One entry past the page tells whether the page ends inside a run of
	// equal timestamps (see pageOf).
	t := &top{n: f.limit + 1}
	count := 0
	var mu sync.Mutex
	keep := func(e entry) {
		mu.Lock()
		defer mu.Unlock()
		count++
		t.offer(e)
	}
	var err error
	if f.allStatuses() {
		// Every pin has one of the four statuses: no peer need be asked.
		err = s.each(ctx, f, func(p storage.Pin) error {
			keep(entry{pin: p})
			return nil
		})
	} else {
		err = s.eachWithStatus(ctx, f, keep)
	}
	if err != nil {
		return nil, 0, err
	}
	return pageOf(t.sorted(), f.limit), count, nil
}

// eachWithStatus derives the status of each pin that passes the other
// filters and keeps those whose status the filter wants. Each status asks
// every peer, so the peers are asked about a batch of pins at a time.
func (s *server) eachWithStatus(ctx context.Context, f *filter, keep func(entry)) error {
	batch := make([]storage.Pin, 0, statusBatch)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		cids := make([]cid.Cid, len(batch))
		for i, p := range batch {
			cids[i] = p.Cid
		}
		for i, pm := range s.cluster.PeerMaps(ctx, cids) {
			e := entry{pin: batch[i]}
			e.status, e.details = peerStatus(batch[i], pm)
			if f.statuses[e.status] {
				keep(e)
			}
		}
		batch = batch[:0]
	}
	err := s.each(ctx, f, func(p storage.Pin) error {
		batch = append(batch, p)
		if len(batch) == statusBatch {
			flush()
		}
		return ctx.Err()
	})
	if err == nil {
		flush()
	}
	return err
}

// each calls fn on every pin that passes the filters needing no status. A
// CID filter reads those pins alone instead of the whole pinset.
func (s *server) each(ctx context.Context, f *filter, fn func(storage.Pin) error) error {
	if f.cids == nil {
		return s.cluster.List(ctx, func(p storage.Pin) error {
			if !f.matches(p) {
				return nil
			}
			return fn(p)
		})
	}
	for _, c := range f.cids {
		p, err := s.cluster.Get(ctx, c)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if f.matches(p) {
			if err := fn(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// pageOf cuts the sorted entries to the page. Clients ask for the next page
// with before=<created of the page's last item>, a strict bound, so a page
// that ended inside a run of equal timestamps would make them skip the rest
// of the run: such a run is left for the next page instead. Only a run
// longer than the whole page, which no cursor can split, is cut.
func pageOf(sorted []entry, limit int) []entry {
	if len(sorted) <= limit {
		return sorted
	}
	next := sorted[limit].pin.Timestamp
	end := limit
	for end > 0 && sorted[end-1].pin.Timestamp.Equal(next) {
		end--
	}
	if end == 0 {
		end = limit
	}
	return sorted[:end]
}

// derive fills in the status of the page's entries that have none yet.
func (s *server) derive(ctx context.Context, page []entry) {
	sem := make(chan struct{}, statusWorkers)
	var wg sync.WaitGroup
	for i := range page {
		if page[i].status != "" {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			e := &page[i]
			e.status, e.details = peerStatus(e.pin, s.cluster.PeerMap(ctx, e.pin.Cid))
		})
	}
	wg.Wait()
}
