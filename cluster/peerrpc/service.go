// Package peerrpc is the RPC between Flotilla peers: one service that a peer
// serves on its cluster port, and one client that calls it on other peers.
// It is plain HTTP/1.1 over connections the cluster port has already
// authenticated: the standard library brings keep-alive pooling, streaming
// and timeouts, and the handshake has proven every caller knows the cluster
// secret, or the follower secret, which buys reads only (caller.go).
package peerrpc

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"
	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/health"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

const (
	// maxBody bounds a request body: a pin batch is at most a few MiB.
	maxBody = 64 << 20
	// maxSmallBody bounds the bodies that carry one small object.
	maxSmallBody = 1 << 20
	// MaxStatusBatch bounds the CIDs of one status call.
	MaxStatusBatch = 1000
)

// Local is what the service needs of the peer it runs on. Each method
// answers for this peer alone; fan-out across peers is the caller's job.
type Local interface {
	// Apply commits a batch of pin operations through this peer's group
	// commit and returns the Raft index that carried them. It fails with
	// raft.ErrNotLeader unless this peer leads.
	Apply(ctx context.Context, ops []storage.Op) (uint64, error)
	// Join makes p a member, forwarding to the leader when this peer is
	// not; proof may be nil, which only a member's call may be.
	Join(ctx context.Context, p storage.Peer, proof *JoinProof) error
	// Remove takes the peer id out of the cluster; only the leader does.
	Remove(ctx context.Context, id string) error
	// AcceptMetrics records another peer's heartbeat. It fails with
	// types.ErrRemoved when this peer leads and the sender is no member.
	AcceptMetrics(ms []health.Metric) error
	// ID describes this peer.
	ID(ctx context.Context) types.ID
	// Recover queues a failed pin or unpin of c again on this peer.
	Recover(ctx context.Context, c cid.Cid)
	// RecoverAll queues every failed operation again, and tells fn of the
	// CIDs a batch at a time, as it goes.
	RecoverAll(ctx context.Context, fn func([]cid.Cid) error) error
	// RepoStat reports this peer's IPFS repo size.
	RepoStat(ctx context.Context) (types.RepoStat, error)
	// RepoGC collects garbage on this peer's IPFS node.
	RepoGC(ctx context.Context) types.RepoGC
	// Statuses reports this peer's status of each CID, in order.
	Statuses(cids []cid.Cid) []types.PinStatus
	// CheckedStatuses is Statuses with each pinned status checked against
	// the peer's IPFS node (unexpectedly_unpinned when it lost the pin).
	CheckedStatuses(ctx context.Context, cids []cid.Cid) []types.PinStatus
	// WaitSettled returns once this peer's status of c is pinned or
	// failed, or ctx ends.
	WaitSettled(ctx context.Context, c cid.Cid)
	// FullMember reports whether id is a member that is not a follower.
	FullMember(id string) bool
	// LocalStatuses streams this peer's status of every CID it knows of,
	// in CID order.
	LocalStatuses(ctx context.Context, fn func(c cid.Cid, st types.PinStatus) error) error
	// PassCommitOn has this peer, when it leads, tell its followers of its
	// last commit soon: a follower waits to apply it.
	PassCommitOn()
	// WaitApplied returns once this peer applied the Raft entry at index:
	// a status asked for after a write that another peer acknowledged at
	// its commit must include that write.
	WaitApplied(ctx context.Context, index uint64) error
}

// readAfterHeader carries the Raft index a status request must reflect
// (Client.Statuses, Client.StatusStream). A peer of an older build ignores
// it and answers at once, as it always did.
const readAfterHeader = "Flotilla-Read-After"

// waitReadAfter waits for the index r asks for. It answers the error, and
// returns false, when this peer cannot reach it.
func (s *service) waitReadAfter(w http.ResponseWriter, r *http.Request) bool {
	index, set, ok := headerUint(w, r, readAfterHeader, 64)
	if !set || !ok {
		return ok
	}
	if err := s.local.WaitApplied(r.Context(), index); err != nil {
		writeError(w, err)
		return false
	}
	return true
}

// headerUint reads the number r's header name carries, if set. It answers
// a malformed one, and reports ok false then.
func headerUint(w http.ResponseWriter, r *http.Request, name string, bits int) (v uint64, set, ok bool) {
	h := r.Header.Get(name)
	if h == "" {
		return 0, false, true
	}
	v, err := strconv.ParseUint(h, 10, bits)
	if err != nil {
		writeBadRequest(w, name+": "+err.Error())
		return 0, true, false
	}
	return v, true, true
}

// joinRequest is the body of a join: the new member's description, and
// its proof of the ID it claims.
type joinRequest struct {
	Peer  storage.Peer `json:"peer"`
	Proof *JoinProof   `json:"proof,omitempty"`
}

// JoinProof is the joiner's signature, made with the key of the peer ID it
// claims, of that ID, the address it joins from, and when. Every follower
// holds the one follower secret: this is what keeps one follower from
// taking another's ID.
type JoinProof struct {
	Time      int64  `json:"time"` // Unix seconds
	Signature []byte `json:"signature"`
	// FollowerSecretMAC, from a member, lets the leader compare the
	// member's follower secret with its own without either sending it.
	FollowerSecretMAC []byte `json:"follower_secret_mac,omitempty"`
}

type removeRequest struct {
	ID string `json:"id"`
}

type applyReply struct {
	Index uint64 `json:"index"`
}

// NewService returns the peer RPC handler, to be served on the cluster
// port's RPC listener.
func NewService(local Local) http.Handler {
	s := &service{local: local}
	r := chi.NewRouter()
	// Followers read, join as followers and heartbeat for themselves;
	// everything else changes the cluster or a peer's IPFS node.
	r.Post("/v1/join", s.join)
	r.Post("/v1/metrics", s.metrics)
	r.Get("/v1/id", s.id)
	r.Get("/v1/repostat", s.repoStat)
	r.Post("/v1/statuses", s.statuses)
	members := r.With(membersOnly)
	members.Post("/v1/apply", s.apply)
	members.Post("/v1/commit/pass-on", s.passCommitOn)
	members.Post("/v1/remove", s.remove)
	members.Post("/v1/recover", s.recoverAll)
	members.Post("/v1/recover/{cid}", s.recover)
	members.Post("/v1/repogc", s.repoGC)
	r.Get("/v1/statuses/all", s.statusStream)
	return r
}

type service struct {
	local Local
}

func (s *service) apply(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, err)
		return
	}
	cmd, err := storage.DecodeCommand(body)
	if err != nil || cmd.Type != storage.CmdPinBatch {
		writeError(w, fmt.Errorf("apply: want a pin batch: %v", err))
		return
	}
	idx, err := s.local.Apply(r.Context(), cmd.Ops)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, applyReply{Index: idx})
}

func (s *service) join(w http.ResponseWriter, r *http.Request) {
	var req joinRequest
	if err := decodeSmall(r, &req); err != nil || req.Peer.ID == "" || req.Peer.ClusterAddr == "" {
		writeBadRequest(w, fmt.Sprintf("join: bad request: %v", err))
		return
	}
	if callerOf(r.Context()) != CallerMember {
		// Whatever it says of itself, a follower joins as a follower.
		req.Peer.Follower = true
	}
	reply(w, s.local.Join(r.Context(), req.Peer, req.Proof))
}

func (s *service) metrics(w http.ResponseWriter, r *http.Request) {
	var ms []health.Metric
	if err := decodeSmall(r, &ms); err != nil {
		writeBadRequest(w, err.Error())
		return
	}
	if err := s.followerMetrics(r, ms); err != nil {
		writeError(w, err)
		return
	}
	reply(w, s.local.AcceptMetrics(ms))
}

func (s *service) remove(w http.ResponseWriter, r *http.Request) {
	var req removeRequest
	if err := decodeSmall(r, &req); err != nil || req.ID == "" {
		writeBadRequest(w, "remove: bad request")
		return
	}
	reply(w, s.local.Remove(r.Context(), req.ID))
}

func (s *service) id(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.local.ID(r.Context()))
}

func (s *service) recover(w http.ResponseWriter, r *http.Request) {
	c, err := cid.Decode(chi.URLParam(r, "cid"))
	if err != nil {
		writeBadRequest(w, err.Error())
		return
	}
	s.local.Recover(r.Context(), c)
	writeJSON(w, http.StatusOK, struct{}{})
}

// recoverAll streams what the peer queues again as it goes, one JSON list
// of CIDs per line and per batch of the peer's, so that neither side holds
// them all. A failure midway cuts the response, which the client sees. A
// client of an older build reads the first line only: a list, as it expects.
func (s *service) recoverAll(w http.ResponseWriter, r *http.Request) {
	started := false
	enc := json.NewEncoder(w)
	err := s.local.RecoverAll(r.Context(), func(cids []cid.Cid) error {
		if !started {
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		strs := make([]string, len(cids))
		for i, c := range cids {
			strs[i] = c.String()
		}
		if err := enc.Encode(strs); err != nil {
			return err
		}
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		return nil
	})
	switch {
	case err != nil && !started:
		writeError(w, err)
	case err != nil:
		panic(http.ErrAbortHandler)
	case !started:
		writeJSON(w, http.StatusOK, []string{})
	}
}

func (s *service) passCommitOn(w http.ResponseWriter, _ *http.Request) {
	s.local.PassCommitOn()
	reply(w, nil)
}

func (s *service) repoStat(w http.ResponseWriter, r *http.Request) {
	rs, err := s.local.RepoStat(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rs)
}

func (s *service) repoGC(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.local.RepoGC(r.Context()))
}

func (s *service) statuses(w http.ResponseWriter, r *http.Request) {
	if !s.waitReadAfter(w, r) {
		return
	}
	var strs []string
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&strs); err != nil || len(strs) > MaxStatusBatch {
		writeBadRequest(w, fmt.Sprintf("statuses: want a JSON list of at most %d CIDs", MaxStatusBatch))
		return
	}
	cids := make([]cid.Cid, len(strs))
	for i, str := range strs {
		c, err := cid.Decode(str)
		if err != nil {
			writeBadRequest(w, err.Error())
			return
		}
		cids[i] = c
	}
	if !s.waitSettled(w, r, cids) {
		return
	}
	if r.Header.Get(checkIPFSHeader) != "" {
		writeJSON(w, http.StatusOK, s.local.CheckedStatuses(r.Context(), cids))
		return
	}
	writeJSON(w, http.StatusOK, s.local.Statuses(cids))
}

func decodeSmall(r *http.Request, v any) error {
	return json.NewDecoder(io.LimitReader(r.Body, maxSmallBody)).Decode(v)
}

func reply(w http.ResponseWriter, err error) {
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
