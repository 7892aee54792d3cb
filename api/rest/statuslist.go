package rest

import (
	"context"
	"net/http"

	"github.com/flotilla-ipfs/flotilla/internal/linewriter"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// statusListing is GET /pins of the whole pinset. The cluster merges every
// peer's statuses, each read in CID order, with the pinset; the lines go
// out in large writes.
func (a *API) statusListing(ctx context.Context, w http.ResponseWriter, filter types.StatusFilter, local bool) {
	s := newStream(w)
	var enc gpiEncoder
	err := a.cluster.ListStatus(ctx, local, func(p storage.Pin, pm types.PeerMap) error {
		pm, keep := filter.Apply(pm)
		if !keep {
			return nil
		}
		line, err := enc.encode(p, pm)
		if err != nil {
			return err
		}
		return s.sendLine(line)
	})
	s.finish(err)
}

// sendLine adds an encoded line to the stream. Lines go out a chunk at a
// time, or soon after when no more come.
func (s *stream) sendLine(line []byte) error {
	if !s.started {
		s.w.WriteHeader(http.StatusOK)
		s.started = true
	}
	if s.lines == nil {
		s.lines = linewriter.New(s.w, func() error {
			if f, ok := s.w.(http.Flusher); ok {
				f.Flush()
			}
			return nil
		})
	}
	_, err := s.lines.Write(line)
	return err
}
