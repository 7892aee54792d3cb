package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/hashicorp/raft"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// Peer RPC is plain HTTP/1.1 over authenticated cluster-port connections:
// the standard library brings keep-alive pooling, streaming and timeouts,
// and the handshake has already proven every caller knows the secret.

const maxRPCBody = 64 << 20

type rpcError struct {
	Error     string `json:"error"`
	NotLeader bool   `json:"not_leader,omitempty"`
	// NotMember tells a caller that the leader no longer counts it in.
	NotMember bool `json:"not_member,omitempty"`
}

type applyReply struct {
	Index uint64 `json:"index"`
}

func (n *Node) rpcHandler() http.Handler {
	r := chi.NewRouter()
	r.Post("/v1/apply", n.rpcApply)
	r.Post("/v1/join", n.rpcJoin)
	r.Post("/v1/metrics", n.rpcMetrics)
	r.Post("/v1/remove", n.rpcRemove)
	r.Get("/v1/id", n.rpcID)
	r.Post("/v1/recover", n.rpcRecoverAll)
	r.Post("/v1/recover/{cid}", n.rpcRecover)
	r.Get("/v1/repostat", n.rpcRepoStat)
	r.Post("/v1/repogc", n.rpcRepoGC)
	r.Post("/v1/statuses", n.rpcStatuses)
	return r
}

func writeRPC(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (n *Node) rpcFail(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	notLeader := errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost)
	if notLeader {
		code = http.StatusConflict
	}
	writeRPC(w, code, rpcError{Error: err.Error(), NotLeader: notLeader})
}

func (n *Node) rpcApply(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRPCBody))
	if err != nil {
		n.rpcFail(w, err)
		return
	}
	cmd, err := storage.DecodeCommand(body)
	if err != nil || cmd.Type != storage.CmdPinBatch {
		n.rpcFail(w, fmt.Errorf("apply: want a pin batch: %v", err))
		return
	}
	if n.rp.raft.State() != raft.Leader {
		n.rpcFail(w, raft.ErrNotLeader)
		return
	}
	idx, err := n.batch.submit(r.Context(), cmd.Ops)
	if err != nil {
		n.rpcFail(w, err)
		return
	}
	writeRPC(w, http.StatusOK, applyReply{Index: idx})
}

// peerClient calls other peers' RPC over authenticated connections.
type peerClient struct {
	http *http.Client
}

func newPeerClient(port *clusterPort) *peerClient {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return port.dial(ctx, addr, channelRPC)
		},
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 5 * time.Minute,
	}
	return &peerClient{http: &http.Client{Transport: tr}}
}

func (c *peerClient) call(ctx context.Context, method, addr, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", errPeerUnreachable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e rpcError
		_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&e)
		if e.NotLeader {
			return raft.ErrNotLeader
		}
		if e.NotMember {
			return types.ErrRemoved
		}
		if e.Error == "" {
			e.Error = resp.Status
		}
		return errors.New(e.Error)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// forward sends ops to the leader's group commit and returns the index
// that carried them.
func (c *peerClient) forward(ctx context.Context, leader string, ops []storage.Op) (uint64, error) {
	data, err := storage.EncodeCommand(storage.Command{Type: storage.CmdPinBatch, Ops: ops})
	if err != nil {
		return 0, err
	}
	var reply applyReply
	if err := c.call(ctx, http.MethodPost, leader, "/v1/apply", data, &reply); err != nil {
		return 0, err
	}
	return reply.Index, nil
}
