package pinsvc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/flotilla-ipfs/flotilla/alloc"
	"github.com/flotilla-ipfs/flotilla/internal/httpguard"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// kind classifies the errors this package finds in a request itself.
type kind int

const (
	badRequest kind = iota
	unauthorized
	notFound
	methodNotAllowed
	unsupportedMedia
)

type requestError struct {
	kind kind
	msg  string
}

func (e *requestError) Error() string { return e.msg }

// errBodyCut is a body whose read the listener's deadline ended
// (internal/slowclient). The listener answers it, with a 408 that says
// which limit cut it: the read's own error would show the socket's
// addresses, and any answer written here would stop the listener's.
var errBodyCut = errors.New("the request's body was cut by the listener's deadline")

func errBadRequest(msg string) error   { return &requestError{badRequest, msg} }
func errUnauthorized(msg string) error { return &requestError{unauthorized, msg} }
func errNotFound(msg string) error     { return &requestError{notFound, msg} }
func errMethod(msg string) error       { return &requestError{methodNotAllowed, msg} }
func errMediaType(msg string) error    { return &requestError{unsupportedMedia, msg} }

// notReady is the peer's reason for not serving yet, for GET /health.
type notReady struct{ err error }

func (e *notReady) Error() string { return e.err.Error() }
func (e *notReady) Unwrap() error { return e.err }

// failureFor is the one place where errors become HTTP statuses and the
// spec's machine-readable reasons.
func failureFor(err error) (int, string) {
	var re *requestError
	var tooBig *http.MaxBytesError
	var peers *alloc.NotEnoughPeersError
	var refused *httpguard.Refusal
	var starting *notReady
	switch {
	case errors.As(err, &refused):
		return http.StatusForbidden, "FORBIDDEN"
	case errors.As(err, &starting):
		return http.StatusServiceUnavailable, "NOT_READY"
	case errors.As(err, &re):
		switch re.kind {
		case unauthorized:
			return http.StatusUnauthorized, "UNAUTHORIZED"
		case notFound:
			return http.StatusNotFound, "NOT_FOUND"
		case methodNotAllowed:
			return http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED"
		case unsupportedMedia:
			return http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE"
		}
		return http.StatusBadRequest, "BAD_REQUEST"
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE"
	case errors.Is(err, storage.ErrNotFound):
		return http.StatusNotFound, "NOT_FOUND"
	case errors.As(err, &peers):
		// The replication factors are the operator's, not the client's:
		// the service cannot take the pin now, which is not the client's
		// fault and may pass when peers come back.
		return http.StatusServiceUnavailable, "NOT_ENOUGH_PEERS"
	case errors.Is(err, types.ErrNoLeader):
		return http.StatusServiceUnavailable, "NO_LEADER"
	case errors.Is(err, types.ErrReadOnlyFollower):
		return http.StatusForbidden, "READ_ONLY"
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, "TIMEOUT"
	case errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable, "CANCELED"
	}
	return http.StatusInternalServerError, "INTERNAL_SERVER_ERROR"
}

// failure is the spec's Failure object.
type failure struct {
	Error failureError `json:"error"`
}

type failureError struct {
	Reason  string `json:"reason"`
	Details string `json:"details,omitempty"`
}

// ErrorJSON is the spec's Failure body for an answer given outside the
// API's handlers: the daemon's listener turning a connection away, or
// cutting a body that came too slowly.
func ErrorJSON(reason, details string) []byte {
	b, _ := json.Marshal(failure{Error: failureError{Reason: reason, Details: details}})
	return append(b, '\n')
}

func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errBodyCut) {
		return
	}
	code, reason := failureFor(err)
	switch code {
	case http.StatusForbidden:
		if errors.As(err, new(*httpguard.Refusal)) {
			s.refused(httpguard.RefusedBrowser)
		}
	case http.StatusUnauthorized:
		s.refused(httpguard.RefusedCredentials)
	}
	ev := s.log.Debug()
	if code >= 500 {
		ev = s.log.Error()
	}
	ev.Err(err).Str("method", r.Method).Str("path", r.URL.Path).Int("status", code).Msg("pinning service request failed")
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="flotilla pinning service"`)
	}
	writeJSON(w, code, failure{Error: failureError{Reason: reason, Details: err.Error()}})
}

// writeJSON always labels the body as JSON: Kubo decodes nothing, errors
// included, without that content type.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
