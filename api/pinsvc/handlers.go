package pinsvc

import (
	"context"
	"errors"
	"net/http"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// add is POST /pins. Pinning a CID the cluster already holds updates that
// pin (same requestid) with the request's name, origins and meta.
func (s *server) add(w http.ResponseWriter, r *http.Request) {
	p, sentCid, err := decodePin(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	existing, err := s.cluster.Get(r.Context(), p.Cid)
	switch {
	case err == nil:
		keepPlacement(&p, existing)
	case !errors.Is(err, storage.ErrNotFound):
		s.fail(w, r, err)
		return
	}
	s.commit(w, r, p, sentCid)
}

// replace is POST /pins/{requestid}: the new pin is committed before the old
// one is removed, and records the old CID as the one it updates, so that
// blocks the two DAGs share need not be fetched twice. A failure to remove
// the old pin is reported, and the whole call can simply be repeated.
func (s *server) replace(w http.ResponseWriter, r *http.Request) {
	oldCid, err := parseRequestID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	old, err := s.cluster.Get(r.Context(), oldCid)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, sentCid, err := decodePin(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	keepPlacement(&p, old)
	if p.Cid.Equals(old.Cid) {
		s.commit(w, r, p, sentCid)
		return
	}
	p.PinUpdate = old.Cid
	committed, err := s.cluster.Pin(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.cluster.Unpin(r.Context(), old.Cid); err != nil && !errors.Is(err, storage.ErrNotFound) {
		s.fail(w, r, err)
		return
	}
	s.accepted(r.Context(), w, committed, sentCid)
}

// keepPlacement carries over where an existing pin lives: its replication
// factors and user allocations are the operator's choice, which a pinning
// service client, who cannot even express them, must not reset.
func keepPlacement(p *storage.Pin, from storage.Pin) {
	p.ReplicationFactorMin = from.ReplicationFactorMin
	p.ReplicationFactorMax = from.ReplicationFactorMax
	p.UserAllocations = from.UserAllocations
}

func (s *server) commit(w http.ResponseWriter, r *http.Request, p storage.Pin, sentCid string) {
	committed, err := s.cluster.Pin(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.accepted(r.Context(), w, committed, sentCid)
}

// accepted answers a Pin body with pin.cid as the client spelled it: the
// spec's PinStatus.pin holds the original Pin, and users paste what Kubo
// prints back into `ipfs pin remote rm --cid`. The cluster stores the CID,
// not its spelling, so later GETs and lists give the canonical form.
func (s *server) accepted(ctx context.Context, w http.ResponseWriter, p storage.Pin, sentCid string) {
	ps := s.statusOf(ctx, p, "", "")
	ps.Pin.Cid = sentCid
	writeJSON(w, http.StatusAccepted, ps)
}

// get is GET /pins/{requestid}. The cluster answers from this peer's state,
// which already holds every pin committed through it, so a client polling
// right after POST /pins finds its request.
func (s *server) get(w http.ResponseWriter, r *http.Request) {
	c, err := parseRequestID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.cluster.Get(r.Context(), c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.statusOf(r.Context(), p, "", ""))
}

// remove is DELETE /pins/{requestid}. The unpin is committed before the 202,
// so the request is gone from GET and from lists at once, even though the
// IPFS nodes drop the content later.
func (s *server) remove(w http.ResponseWriter, r *http.Request) {
	c, err := parseRequestID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.cluster.Unpin(r.Context(), c); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
