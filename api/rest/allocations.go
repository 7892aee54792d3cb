package rest

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// pinTypes are ipfs-cluster's pin types. Flotilla has no sharding, so
// every pin is a "pin"; the others are accepted and match nothing.
var pinTypes = map[string]bool{"pin": true, "meta-pin": false, "clusterdag-pin": false, "shard-pin": false}

// allocations is GET /allocations: the pinset as ndjson Pin objects.
func (a *API) allocations(w http.ResponseWriter, r *http.Request) {
	// As in ipfs-cluster, unknown names are skipped unless nothing else
	// is left.
	wantPins, known := false, false
	for name := range strings.SplitSeq(r.URL.Query().Get("filter"), ",") {
		isPin, ok := pinTypes[name]
		if name == "" || name == "all" {
			isPin, ok = true, true
		}
		wantPins = wantPins || isPin
		known = known || ok
	}
	if !known {
		fail(w, errBadRequest("invalid filter value"))
		return
	}
	s := newStream(w)
	if !wantPins {
		s.finish(nil)
		return
	}
	s.finish(a.cluster.List(r.Context(), func(p storage.Pin) error { return s.send(p) }))
}

// allocation is GET /allocations/{cid}: one pin, 404 when absent.
func (a *API) allocation(w http.ResponseWriter, r *http.Request) {
	c, ok := parseCid(w, chi.URLParam(r, "cid"))
	if !ok {
		return
	}
	p, err := a.cluster.Get(r.Context(), c)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}
