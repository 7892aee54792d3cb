package peerrpc

import (
	"errors"
	"net/http"

	"github.com/hashicorp/raft"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// ErrUnreachable marks a call to another peer that got no answer. For a
// write forwarded to the leader, the leader may have changed, so the write
// is retried.
var ErrUnreachable = errors.New("the peer did not answer")

// ErrNoSuchCall is the answer of a peer of an older build to a call it
// does not have.
var ErrNoSuchCall = errors.New("the peer has no such call")

// wireError is the body of every failed call. Code carries the identity of
// the sentinel errors across the wire, so that a caller can still tell
// "not found" or "not the leader" with errors.Is.
type wireError struct {
	Error string `json:"error"`
	Code  string `json:"code,omitempty"`
}

// sentinels are the errors whose identity crosses the wire, and the status
// each is answered with. The table is the one place where an error becomes
// a code and a code becomes an error again.
var sentinels = []struct {
	code   string
	err    error
	status int
}{
	{"not_leader", raft.ErrNotLeader, http.StatusConflict},
	{"not_leader", raft.ErrLeadershipLost, http.StatusConflict},
	{"removed", types.ErrRemoved, http.StatusGone},
	{"no_leader", types.ErrNoLeader, http.StatusServiceUnavailable},
	{"unknown_peer", types.ErrUnknownPeer, http.StatusNotFound},
	{"not_found", storage.ErrNotFound, http.StatusNotFound},
	{"read_only", types.ErrReadOnlyFollower, http.StatusForbidden},
	{"only_voter", types.ErrOnlyVoter, http.StatusConflict},
}

func writeError(w http.ResponseWriter, err error) {
	out, status := wireError{Error: err.Error()}, http.StatusInternalServerError
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			out.Code, status = s.code, s.status
			break
		}
	}
	writeJSON(w, status, out)
}

func writeBadRequest(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusBadRequest, wireError{Error: msg})
}

// asError turns a failed call's body back into an error that wraps the
// sentinel it stood for, with the remote message kept.
func (e wireError) asError(status string) error {
	if e.Error == "" {
		e.Error = status
	}
	for _, s := range sentinels {
		if s.code == e.Code {
			if s.err.Error() == e.Error {
				return s.err
			}
			return &remoteError{msg: e.Error, sentinel: s.err}
		}
	}
	return errors.New(e.Error)
}

// remoteError is an error from another peer that stands for a sentinel.
type remoteError struct {
	msg      string
	sentinel error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.sentinel }
