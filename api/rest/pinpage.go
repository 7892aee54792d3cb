package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

const (
	defaultPinPage = 50
	maxPinPage     = 500
	// searchBudget bounds the pins one search request reads: a name that
	// matches nothing in a million pins is searched a page of the pinset
	// at a time, each answering at once, instead of in one long scan.
	searchBudget = 20000
	// pinPageStatusWait bounds how long a page waits for the peers'
	// statuses: a peer that does not answer shows an error on a page that
	// refreshes every few seconds, rather than holding it.
	pinPageStatusWait = 5 * time.Second
)

// pinPage is GET /ui/pins: one page of the pinset for the status page.
type pinPage struct {
	// Total is the size of the whole pinset.
	Total int       `json:"total"`
	Pins  []pagePin `json:"pins"`
	// Next is the `after` of the following page; "" when this is the last.
	Next string `json:"next"`
	// Scanned is how many pins were read to fill the page; a search reads
	// at most searchBudget.
	Scanned int `json:"scanned"`
}

// pagePin is a pin, its replication and every peer's status of it.
type pagePin struct {
	types.GlobalPinInfo
	ReplicationFactorMin int `json:"replication_factor_min"`
	ReplicationFactorMax int `json:"replication_factor_max"`
}

var errPageFull = errors.New("page full")

// pinPage answers a page of pins in CID order, after the CID `after`, of
// `limit` pins. With `q`, a CID is looked up, and any other text is
// searched for in names (any case) and CIDs: up to searchBudget pins are
// read, and Next says where to go on.
func (a *API) pinPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := defaultPinPage
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPinPage {
			fail(w, errBadRequest(fmt.Sprintf("limit must be a number from 1 to %d", maxPinPage)))
			return
		}
		limit = n
	}
	after := cid.Undef
	if s := q.Get("after"); s != "" {
		var ok bool
		if after, ok = parseCid(w, s); !ok {
			return
		}
	}
	total, err := a.cluster.PinCount()
	if err != nil {
		fail(w, err)
		return
	}
	page := pinPage{Total: total}
	var pins []storage.Pin
	search := strings.TrimSpace(q.Get("q"))
	if c, err := cid.Decode(search); err == nil {
		pins, err = a.lookUp(r.Context(), c)
		page.Scanned = len(pins)
		if err != nil {
			fail(w, err)
			return
		}
	} else {
		var next cid.Cid
		pins, next, page.Scanned, err = a.scanPins(r.Context(), after, limit, matcher(search))
		if err != nil {
			fail(w, err)
			return
		}
		if next.Defined() {
			page.Next = next.String()
		}
	}
	page.Pins = a.withStatuses(r.Context(), pins)
	writeJSON(w, http.StatusOK, page)
}

// lookUp is the page of the one pin c, or an empty page.
func (a *API) lookUp(ctx context.Context, c cid.Cid) ([]storage.Pin, error) {
	p, err := a.cluster.Get(ctx, c)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []storage.Pin{p}, nil
}

// matcher passes every pin for an empty search, else those whose name has
// text in any case or whose CID has it.
func matcher(text string) func(storage.Pin) bool {
	if text == "" {
		return func(storage.Pin) bool { return true }
	}
	lower := strings.ToLower(text)
	return func(p storage.Pin) bool {
		return strings.Contains(strings.ToLower(p.Name), lower) || strings.Contains(p.Cid.String(), text)
	}
}

// scanPins reads pins after `after` until limit of them match, the
// search budget is spent, or the pinset ends; next is where a following
// page starts, cid.Undef at the end.
func (a *API) scanPins(ctx context.Context, after cid.Cid, limit int, match func(storage.Pin) bool) (
	pins []storage.Pin, next cid.Cid, scanned int, err error) {
	last, err := a.cluster.ListFrom(ctx, after, func(p storage.Pin) error {
		// Stopping at the pin after the page, rather than at its last,
		// tells a full last page from one with more after it.
		if len(pins) == limit || scanned == searchBudget {
			return errPageFull
		}
		scanned++
		if match(p) {
			pins = append(pins, p)
		}
		return nil
	})
	switch {
	case errors.Is(err, errPageFull):
		return pins, last, scanned, nil
	case err != nil:
		return nil, cid.Undef, 0, err
	}
	return pins, cid.Undef, scanned, nil
}

// withStatuses asks every peer for its statuses of the page's pins, one
// request per peer.
func (a *API) withStatuses(ctx context.Context, pins []storage.Pin) []pagePin {
	out := make([]pagePin, len(pins))
	if len(pins) == 0 {
		return out
	}
	cids := make([]cid.Cid, len(pins))
	for i, p := range pins {
		cids[i] = p.Cid
	}
	ctx, cancel := context.WithTimeout(ctx, pinPageStatusWait)
	defer cancel()
	for i, pm := range a.cluster.PeerMaps(ctx, cids) {
		out[i] = pagePin{
			GlobalPinInfo:        types.NewGlobalPinInfo(pins[i], pm),
			ReplicationFactorMin: pins[i].ReplicationFactorMin,
			ReplicationFactorMax: pins[i].ReplicationFactorMax,
		}
	}
	return out
}
