package rest

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/ipfs/boxo/path"
	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// pin is POST /pins/{cid}: it answers the pin as committed.
func (a *API) pin(w http.ResponseWriter, r *http.Request) {
	c, ok := parseCid(w, chi.URLParam(r, "cid"))
	if !ok {
		return
	}
	a.commitPin(w, r, c)
}

// unpin is DELETE /pins/{cid}: it answers the pin as it was.
func (a *API) unpin(w http.ResponseWriter, r *http.Request) {
	c, ok := parseCid(w, chi.URLParam(r, "cid"))
	if !ok {
		return
	}
	a.commitUnpin(w, r, c)
}

func (a *API) pinPath(w http.ResponseWriter, r *http.Request) {
	c, err := a.resolvePath(r)
	if err != nil {
		fail(w, err)
		return
	}
	a.commitPin(w, r, c)
}

func (a *API) unpinPath(w http.ResponseWriter, r *http.Request) {
	c, err := a.resolvePath(r)
	if err != nil {
		fail(w, err)
		return
	}
	a.commitUnpin(w, r, c)
}

func (a *API) commitPin(w http.ResponseWriter, r *http.Request, c cid.Cid) {
	opts, err := pinOptionsFromQuery(r.URL.Query(), a.cfg.Now())
	if err != nil {
		fail(w, err)
		return
	}
	p, err := a.pinRequest(r.Context(), c, opts)
	if err != nil {
		fail(w, err)
		return
	}
	out, err := a.cluster.Pin(r.Context(), p)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) commitUnpin(w http.ResponseWriter, r *http.Request, c cid.Cid) {
	p, err := a.cluster.Unpin(r.Context(), c)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// pinRequest is the pin to commit. With pin-update it starts from the pin
// being replaced, as ipfs-cluster's PinUpdate does, so that the new CID
// keeps its name, mode, replication, user allocations, metadata and expiry
// unless the request gives new ones.
func (a *API) pinRequest(ctx context.Context, c cid.Cid, opts storage.Pin) (storage.Pin, error) {
	opts.Cid = c
	if !opts.PinUpdate.Defined() || opts.PinUpdate.Equals(c) {
		opts.PinUpdate = cid.Undef
		return opts, nil
	}
	old, err := a.cluster.Get(ctx, opts.PinUpdate)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return opts, errBadRequest("pin-update: " + opts.PinUpdate.String() + " is not part of the pinset")
		}
		return opts, err
	}
	p := old
	p.Cid, p.PinUpdate = c, opts.PinUpdate
	p.Allocations, p.Timestamp = nil, opts.Timestamp
	// ipfs-cluster's clients send mode=recursive with every pin, updates
	// included, so only direct can be told from no mode at all.
	if opts.Mode == storage.Direct {
		p.Mode = storage.Direct
	}
	if opts.Name != "" {
		p.Name = opts.Name
	}
	if opts.ReplicationFactorMin != 0 {
		p.ReplicationFactorMin = opts.ReplicationFactorMin
	}
	if opts.ReplicationFactorMax != 0 {
		p.ReplicationFactorMax = opts.ReplicationFactorMax
	}
	if len(opts.UserAllocations) > 0 {
		p.UserAllocations = opts.UserAllocations
	}
	if len(opts.Origins) > 0 {
		p.Origins = opts.Origins
	}
	if len(opts.Metadata) > 0 {
		p.Metadata = opts.Metadata
	}
	if !opts.ExpireAt.IsZero() {
		p.ExpireAt = opts.ExpireAt
	}
	return p, nil
}

// resolvePath turns /pins/{ipfs|ipns|ipld}/<path> into a CID. The path is
// read from the unescaped URL path, so that names with escaped characters
// reach the resolver as they are.
func (a *API) resolvePath(r *http.Request) (cid.Cid, error) {
	raw := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/pins"), "/")
	p, err := path.NewPath(raw)
	if err != nil {
		return cid.Undef, errBadRequest("error parsing path: " + err.Error())
	}
	if ip, err := path.NewImmutablePath(p); err == nil && len(ip.Segments()) == 2 {
		// A bare /ipfs/<cid> needs no round trip to the IPFS node.
		return ip.RootCid(), nil
	}
	if a.cfg.Resolver == nil {
		return cid.Undef, errors.New("cannot resolve " + p.String() + ": no IPFS node to resolve paths is configured")
	}
	return a.cfg.Resolver.Resolve(r.Context(), p.String())
}
