package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// statusConcurrency is how many CIDs a status stream asks the peers about
// at once.
const statusConcurrency = 16

func (a *API) peerMap(ctx context.Context, c cid.Cid, local bool) map[string]types.PinStatus {
	if local {
		return map[string]types.PinStatus{a.cluster.PeerID(): a.cluster.LocalStatus(c)}
	}
	return a.cluster.PeerMap(ctx, c)
}

// getPin reads a pin; a CID that is not pinned reads as a pin with no
// options, because ipfs-cluster reports status for any CID (every peer
// "unpinned") rather than 404.
func (a *API) getPin(ctx context.Context, c cid.Cid) (storage.Pin, error) {
	p, err := a.cluster.Get(ctx, c)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Pin{Cid: c}, nil
	}
	return p, err
}

func isLocal(r *http.Request) bool { return r.URL.Query().Get("local") == "true" }

// status is GET /pins/{cid}.
func (a *API) status(w http.ResponseWriter, r *http.Request) {
	c, ok := parseCid(w, chi.URLParam(r, "cid"))
	if !ok {
		return
	}
	p, err := a.getPin(r.Context(), c)
	if err != nil {
		fail(w, err)
		return
	}
	// One CID's status asks the IPFS nodes, as ipfs-cluster's does, so that
	// a pin removed behind the cluster's back shows (unexpectedly_unpinned).
	var pm map[string]types.PinStatus
	if isLocal(r) {
		pm = map[string]types.PinStatus{a.cluster.PeerID(): a.cluster.CheckedLocalStatus(r.Context(), c)}
	} else {
		pm = a.cluster.CheckedPeerMaps(r.Context(), []cid.Cid{c})[0]
	}
	writeJSON(w, http.StatusOK, types.NewGlobalPinInfo(p, pm))
}

// statusAll is GET /pins: the status of the whole pinset, or of the CIDs
// in `cids`, keeping in each peer map the peers whose status passes
// `filter`, and the CIDs where at least one does.
func (a *API) statusAll(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	filter, err := parseStatusFilter(q.Get("filter"))
	if err != nil {
		fail(w, err)
		return
	}
	var cids []cid.Cid
	for _, s := range splitList(q.Get("cids")) {
		c, err := cid.Decode(s)
		if err != nil {
			writeError(w, http.StatusBadRequest, errors.New("error decoding Cid: "+err.Error()))
			return
		}
		cids = append(cids, c)
	}
	local := isLocal(r)
	if cids == nil {
		a.statusListing(r.Context(), w, filter, local)
		return
	}

	produce := func(yield func(storage.Pin) error) error {
		return a.cluster.List(r.Context(), yield)
	}
	if cids != nil {
		produce = func(yield func(storage.Pin) error) error {
			for _, c := range cids {
				p, err := a.getPin(r.Context(), c)
				if err != nil {
					return err
				}
				if err := yield(p); err != nil {
					return err
				}
			}
			return nil
		}
	}
	if !local {
		a.statusAllBatched(r.Context(), w, filter, produce)
		return
	}
	// This peer's own statuses need no round trip to batch.
	type result struct {
		info types.GlobalPinInfo
		keep bool
	}
	s := newStream(w)
	err = mapOrdered(r.Context(), statusConcurrency, produce,
		func(ctx context.Context, p storage.Pin) result {
			pm, keep := filter.Apply(map[string]types.PinStatus{a.cluster.PeerID(): a.cluster.CheckedLocalStatus(ctx, p.Cid)})
			return result{types.NewGlobalPinInfo(p, pm), keep}
		},
		func(res result) error {
			if !res.keep {
				return nil
			}
			return s.send(res.info)
		})
	s.finish(err)
}

// recover is POST /pins/{cid}/recover. With local=true it still retries
// everywhere (the cluster has no local-only recover) but reports this
// peer's status only.
func (a *API) recover(w http.ResponseWriter, r *http.Request) {
	c, ok := parseCid(w, chi.URLParam(r, "cid"))
	if !ok {
		return
	}
	p, err := a.cluster.Get(r.Context(), c)
	if err != nil {
		fail(w, err)
		return
	}
	pm, err := a.cluster.Recover(r.Context(), c)
	if err != nil {
		fail(w, err)
		return
	}
	if isLocal(r) {
		pm = map[string]types.PinStatus{a.cluster.PeerID(): a.cluster.LocalStatus(c)}
	}
	writeJSON(w, http.StatusOK, types.NewGlobalPinInfo(p, pm))
}

// recoverAll is POST /pins/recover: it streams the status of what was
// queued again as the peers report it, 204 when nothing was. The peers'
// statuses are asked a batch of CIDs at a time, as for GET /pins.
func (a *API) recoverAll(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	recovered := func(yield func(storage.Pin) error) error {
		return a.cluster.RecoverAll(ctx, func(c cid.Cid) error {
			p, err := a.getPin(ctx, c)
			if err != nil {
				p = storage.Pin{Cid: c}
			}
			return yield(p)
		})
	}
	if !isLocal(r) {
		a.statusAllBatched(ctx, w, nil, recovered)
		return
	}
	s := newStream(w)
	s.finish(recovered(func(p storage.Pin) error {
		return s.send(types.NewGlobalPinInfo(p, a.peerMap(ctx, p.Cid, true)))
	}))
}

// parseStatusFilter reads ipfs-cluster's comma list of statuses. As there,
// unknown names beside a known one are skipped, and a list that passes
// nothing (unknown names alone) is an error rather than "everything"; the
// error names the value and the valid names, where ipfs-cluster's says
// "invalid filter value" alone.
func parseStatusFilter(s string) (types.StatusFilter, error) {
	f, _ := types.ParseStatusFilter(s)
	if f != nil && len(f) == 0 {
		return nil, errBadRequest(fmt.Sprintf("invalid filter value %q: want statuses among %s", s, strings.Join(types.StatusFilterNames(), ", ")))
	}
	return f, nil
}

// statusBatch is how many pins one round of status requests covers.
const statusBatch = 256

// statusAllBatched streams GET /pins a batch of pins at a time, asking
// every peer once per batch rather than once per pin.
func (a *API) statusAllBatched(ctx context.Context, w http.ResponseWriter, filter types.StatusFilter,
	produce func(yield func(storage.Pin) error) error) {
	s := newStream(w)
	batch := make([]storage.Pin, 0, statusBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		cids := make([]cid.Cid, len(batch))
		for i, p := range batch {
			cids[i] = p.Cid
		}
		// Named CIDs, as ipfs-cluster's status of them, ask the IPFS nodes.
		for i, pm := range a.cluster.CheckedPeerMaps(ctx, cids) {
			if pm, keep := filter.Apply(pm); keep {
				if err := s.send(types.NewGlobalPinInfo(batch[i], pm)); err != nil {
					return err
				}
			}
		}
		batch = batch[:0]
		return nil
	}
	err := produce(func(p storage.Pin) error {
		batch = append(batch, p)
		if len(batch) == statusBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	s.finish(err)
}
