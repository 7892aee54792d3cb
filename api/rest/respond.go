package rest

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/flotilla-ipfs/flotilla/alloc"
	"github.com/flotilla-ipfs/flotilla/internal/linewriter"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// apiError is ipfs-cluster's error body.
type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// ErrorJSON is the API's error body for an answer given outside its
// handlers: the daemon's listener turning a connection away, or cutting a
// body that came too slowly.
func ErrorJSON(code int, msg string) []byte {
	b, _ := json.Marshal(apiError{Code: code, Message: msg})
	return append(b, '\n')
}

// badRequest marks an error in what the caller sent: a query parameter, a
// path, a CID. It is the one error the handlers make themselves.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func errBadRequest(msg string) error { return &badRequest{msg: msg} }

// statusFor maps errors to HTTP statuses, in one place.
func statusFor(err error) int {
	var bad *badRequest
	var tooBig *http.MaxBytesError
	var notEnough *alloc.NotEnoughPeersError
	switch {
	case errors.As(err, &bad):
		return http.StatusBadRequest
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, storage.ErrNotFound), errors.Is(err, types.ErrUnknownPeer):
		return http.StatusNotFound
	case errors.Is(err, types.ErrReadOnlyFollower):
		return http.StatusForbidden
	case errors.Is(err, types.ErrOnlyVoter):
		return http.StatusConflict
	case errors.Is(err, types.ErrNoLeader):
		return http.StatusServiceUnavailable
	case errors.As(err, &notEnough):
		// ipfs-cluster answers 500 with this message, and its users'
		// scripts look for it.
		return http.StatusInternalServerError
	}
	return http.StatusInternalServerError
}

// ipfs-cluster sends application/json on every answer, errors and 204s
// included.
func setJSON(w http.ResponseWriter) { w.Header().Set("Content-Type", "application/json") }

func writeJSON(w http.ResponseWriter, code int, v any) {
	setJSON(w)
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, apiError{Code: code, Message: err.Error()})
}

// fail answers err with the status statusFor gives it.
func fail(w http.ResponseWriter, err error) { writeError(w, statusFor(err), err) }

// stream writes ndjson as ipfs-cluster does: 200 and a flush per item once
// the first item is out, 204 when there is none, an error before the first
// item as a normal error response, and a later one in the X-Stream-Error
// trailer.
type stream struct {
	w       http.ResponseWriter
	enc     *json.Encoder
	started bool
	// lines gathers what sendLine is given into large writes.
	lines *linewriter.Writer
}

func newStream(w http.ResponseWriter) *stream {
	w.Header().Set("Trailer", "X-Stream-Error")
	setJSON(w)
	return &stream{w: w, enc: json.NewEncoder(w)}
}

func (s *stream) send(v any) error {
	if !s.started {
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
	if s.lines != nil {
		if werr := s.lines.Flush(); err == nil {
			err = werr
		}
	}
	switch {
	case !s.started && err != nil:
		fail(s.w, err)
	case !s.started:
		s.w.WriteHeader(http.StatusNoContent)
	case err != nil:
		s.w.Header().Set("X-Stream-Error", err.Error())
	default:
		// Browsers want the declared trailer present, even empty.
		s.w.Header().Set("X-Stream-Error", "")
	}
}
