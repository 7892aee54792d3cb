// Package rest is the admin REST API, with ipfs-cluster's routes and JSON so
// that its clients and users can switch to Flotilla unchanged.
package rest

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/ipfs/go-cid"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/cluster"
	"github.com/flotilla-ipfs/flotilla/internal/version"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// Cluster is what the admin API needs from the peer.
type Cluster interface {
	ID(ctx context.Context) cluster.IDInfo
	Get(ctx context.Context, c cid.Cid) (storage.Pin, error)
	List(ctx context.Context, fn func(storage.Pin) error) error
	PeerMap(ctx context.Context, c cid.Cid) map[string]cluster.PinStatus
}

// Readiness reports nil when the peer can serve requests.
type Readiness func() error

// API is the admin REST API handler.
type API struct {
	cluster Cluster
	ready   Readiness
	log     zerolog.Logger
	router  chi.Router
}

// New builds the API's routes.
func New(c Cluster, ready Readiness, log zerolog.Logger) *API {
	a := &API{cluster: c, ready: ready, log: log}
	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, errors.New("not found"))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, errors.New("method not allowed"))
	})
	r.Get("/health", a.health)
	r.Get("/id", a.id)
	r.Get("/version", a.version)
	r.Get("/pins", a.statusAll)
	r.Get("/pins/{cid}", a.status)
	r.Get("/allocations", a.allocations)
	r.Get("/allocations/{cid}", a.allocation)
	a.router = r
	return a
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.router.ServeHTTP(w, r) }

func (a *API) health(w http.ResponseWriter, _ *http.Request) {
	if err := a.ready(); err != nil {
		writeError(w, http.StatusServiceUnavailable, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) id(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.cluster.ID(r.Context()))
}

func (a *API) version(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"version": version.Version})
}

// globalPinInfo is ipfs-cluster's GlobalPinInfo.
type globalPinInfo struct {
	Cid         string                       `json:"cid"`
	Name        string                       `json:"name"`
	Allocations []string                     `json:"allocations"`
	Origins     []string                     `json:"origins"`
	Created     time.Time                    `json:"created"`
	Metadata    map[string]string            `json:"metadata"`
	PeerMap     map[string]cluster.PinStatus `json:"peer_map"`
}

func (a *API) pinInfo(ctx context.Context, p storage.Pin) globalPinInfo {
	g := globalPinInfo{
		Cid:         p.Cid.String(),
		Name:        p.Name,
		Allocations: nonNil(p.Allocations),
		Origins:     nonNil(p.Origins),
		Created:     p.Timestamp.UTC(),
		Metadata:    p.Metadata,
		PeerMap:     a.cluster.PeerMap(ctx, p.Cid),
	}
	return g
}

func (a *API) status(w http.ResponseWriter, r *http.Request) {
	c, ok := parseCid(w, chi.URLParam(r, "cid"))
	if !ok {
		return
	}
	p, err := a.cluster.Get(r.Context(), c)
	if errors.Is(err, storage.ErrNotFound) {
		// ipfs-cluster answers an unknown CID with every peer "unpinned".
		p, err = storage.Pin{Cid: c}, nil
	}
	if err != nil {
		writeError(w, statusFor(err), err)
		return
	}
	writeJSON(w, http.StatusOK, a.pinInfo(r.Context(), p))
}

func (a *API) statusAll(w http.ResponseWriter, r *http.Request) {
	s := newStream(w)
	err := a.cluster.List(r.Context(), func(p storage.Pin) error {
		return s.send(a.pinInfo(r.Context(), p))
	})
	s.finish(err)
}

func (a *API) allocations(w http.ResponseWriter, r *http.Request) {
	s := newStream(w)
	s.finish(a.cluster.List(r.Context(), func(p storage.Pin) error { return s.send(p) }))
}

func (a *API) allocation(w http.ResponseWriter, r *http.Request) {
	c, ok := parseCid(w, chi.URLParam(r, "cid"))
	if !ok {
		return
	}
	p, err := a.cluster.Get(r.Context(), c)
	if err != nil {
		writeError(w, statusFor(err), err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func parseCid(w http.ResponseWriter, s string) (cid.Cid, bool) {
	c, err := cid.Decode(s)
	if err != nil {
		writeError(w, http.StatusBadRequest, errors.New("error decoding Cid: "+err.Error()))
		return cid.Undef, false
	}
	return c, true
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
