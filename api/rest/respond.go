package rest

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/flotilla-ipfs/flotilla/cluster"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// apiError is ipfs-cluster's error body.
type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// statusFor maps the core's sentinel errors to HTTP statuses, in one place.
func statusFor(err error) int {
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, cluster.ErrNoLeader):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, apiError{Code: code, Message: err.Error()})
}

// stream writes ndjson as ipfs-cluster does: 200 and a flush per item once
// the first item is out, 204 when there is none, an error before the first
// item as a normal error response, and a later one in the X-Stream-Error
// trailer.
type stream struct {
	w       http.ResponseWriter
	enc     *json.Encoder
	started bool
}

func newStream(w http.ResponseWriter) *stream {
	w.Header().Set("Trailer", "X-Stream-Error")
	return &stream{w: w, enc: json.NewEncoder(w)}
}

func (s *stream) send(v any) error {
	if !s.started {
		s.w.Header().Set("Content-Type", "application/json")
		s.w.WriteHeader(http.StatusOK)
		s.started = true
	}
	if err := s.enc.Encode(v); err != nil {
		return err
	}
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
	return nil
}

func (s *stream) finish(err error) {
	switch {
	case !s.started && err != nil:
		writeError(s.w, statusFor(err), err)
	case !s.started:
		s.w.WriteHeader(http.StatusNoContent)
	case err != nil:
		s.w.Header().Set("X-Stream-Error", err.Error())
	default:
		s.w.Header().Set("X-Stream-Error", "")
	}
}
