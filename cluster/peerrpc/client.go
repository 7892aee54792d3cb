package peerrpc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/health"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// Client calls the peer RPC service of other peers. Every method takes the
// cluster address of the peer to call.
type Client struct {
	http *http.Client
}

// NewClient returns a client that opens its connections with dial, which
// must authenticate them (the cluster port's DialRPC).
func NewClient(dial func(ctx context.Context, addr string) (net.Conn, error)) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return dial(ctx, addr)
		},
		// Enough idle connections for a burst of concurrent forwarded
		// writes: a connection costs a TLS handshake and the secret proofs,
		// which one per request would spend again and again.
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 5 * time.Minute,
	}
	return &Client{http: &http.Client{Transport: tr}}
}

// Apply sends ops to the leader's group commit and returns the index that
// carried them.
func (c *Client) Apply(ctx context.Context, leader string, ops []storage.Op) (uint64, error) {
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

// PassCommitOn asks the leader to tell its followers of its last commit
// soon, which this peer waits to apply.
func (c *Client) PassCommitOn(ctx context.Context, leader string) error {
	return c.call(ctx, http.MethodPost, leader, "/v1/commit/pass-on", nil, nil)
}

// Join asks the peer at addr to make p a member, with p's proof of its ID.
func (c *Client) Join(ctx context.Context, addr string, p storage.Peer, proof *JoinProof) error {
	return c.callJSON(ctx, http.MethodPost, addr, "/v1/join", joinRequest{Peer: p, Proof: proof}, nil)
}

// Remove asks the peer at addr (the leader) to take id out of the cluster.
func (c *Client) Remove(ctx context.Context, addr, id string) error {
	return c.callJSON(ctx, http.MethodPost, addr, "/v1/remove", removeRequest{ID: id}, nil)
}

// Metrics delivers a heartbeat. It fails with types.ErrRemoved when the
// leader no longer counts the sender in.
func (c *Client) Metrics(ctx context.Context, addr string, ms []health.Metric) error {
	return c.callJSON(ctx, http.MethodPost, addr, "/v1/metrics", ms, nil)
}

// ID describes the peer at addr.
func (c *Client) ID(ctx context.Context, addr string) (types.ID, error) {
	var out types.ID
	err := c.call(ctx, http.MethodGet, addr, "/v1/id", nil, &out)
	return out, err
}

// Recover queues a failed pin or unpin of cid again on the peer at addr.
func (c *Client) Recover(ctx context.Context, addr string, ci cid.Cid) error {
	return c.call(ctx, http.MethodPost, addr, "/v1/recover/"+ci.String(), nil, nil)
}

// RecoverAll queues every failed operation again on the peer at addr,
// which answers in batches as it goes: fn gets each one. A peer of an
// older build answers one list, which is one batch. A response cut midway
// is an error.
func (c *Client) RecoverAll(ctx context.Context, addr string, fn func([]cid.Cid) error) error {
	return c.stream(ctx, http.MethodPost, addr, "/v1/recover", nil, func(dec *json.Decoder) error {
		for {
			var strs []string
			if err := dec.Decode(&strs); err == io.EOF {
				return nil
			} else if err != nil {
				return fmt.Errorf("%w: recover on %s ended midway: %v", ErrUnreachable, addr, err)
			}
			batch := make([]cid.Cid, 0, len(strs))
			for _, s := range strs {
				if ci, err := cid.Decode(s); err == nil {
					batch = append(batch, ci)
				}
			}
			if len(batch) == 0 {
				continue
			}
			if err := fn(batch); err != nil {
				return err
			}
		}
	})
}

// RepoStat reports the IPFS repo size of the peer at addr.
func (c *Client) RepoStat(ctx context.Context, addr string) (types.RepoStat, error) {
	var out types.RepoStat
	err := c.call(ctx, http.MethodGet, addr, "/v1/repostat", nil, &out)
	return out, err
}

// RepoGC collects garbage on the IPFS node of the peer at addr.
func (c *Client) RepoGC(ctx context.Context, addr string) (types.RepoGC, error) {
	var out types.RepoGC
	err := c.call(ctx, http.MethodPost, addr, "/v1/repogc", nil, &out)
	return out, err
}

// Statuses asks the peer at addr for its status of each CID, in order, in
// calls of at most MaxStatusBatch CIDs, once it applied the entry at index
// after (0: at once).
func (c *Client) Statuses(ctx context.Context, addr string, after uint64, cids []cid.Cid) ([]types.PinStatus, error) {
	return c.statusBatches(ctx, addr, cids, readAfter(after))
}

// CheckedStatuses is Statuses with each pinned status checked against the
// peer's IPFS node. A peer of an older build ignores the header and answers
// its statuses as recorded.
func (c *Client) CheckedStatuses(ctx context.Context, addr string, after uint64, cids []cid.Cid) ([]types.PinStatus, error) {
	return c.statusBatches(ctx, addr, cids, readAfter(after), http.Header{checkIPFSHeader: {"1"}})
}

// checkIPFSHeader asks a status call to check pinned statuses against the
// peer's IPFS node.
const checkIPFSHeader = "Flotilla-Check-IPFS"

// statusBatches asks the statuses of cids in calls of at most
// MaxStatusBatch, each with header.
func (c *Client) statusBatches(ctx context.Context, addr string, cids []cid.Cid, header ...http.Header) ([]types.PinStatus, error) {
	out := make([]types.PinStatus, 0, len(cids))
	for start := 0; start < len(cids); start += MaxStatusBatch {
		sts, err := c.statuses(ctx, addr, cids[start:min(start+MaxStatusBatch, len(cids))], header...)
		if err != nil {
			return nil, err
		}
		out = append(out, sts...)
	}
	return out, nil
}

// statuses is one status call for cids, at most MaxStatusBatch of them.
func (c *Client) statuses(ctx context.Context, addr string, cids []cid.Cid, header ...http.Header) ([]types.PinStatus, error) {
	strs := make([]string, len(cids))
	for i, ci := range cids {
		strs[i] = ci.String()
	}
	var sts []types.PinStatus
	if err := c.callJSON(ctx, http.MethodPost, addr, "/v1/statuses", strs, &sts, header...); err != nil {
		return nil, err
	}
	if len(sts) != len(cids) {
		return nil, fmt.Errorf("%s answered %d statuses for %d CIDs", addr, len(sts), len(cids))
	}
	return sts, nil
}

func (c *Client) callJSON(ctx context.Context, method, addr, path string, in, out any, header ...http.Header) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return c.call(ctx, method, addr, path, body, out, header...)
}

func (c *Client) call(ctx context.Context, method, addr, path string, body []byte, out any, header ...http.Header) error {
	return c.stream(ctx, method, addr, path, body, func(dec *json.Decoder) error {
		if out == nil {
			return nil
		}
		return dec.Decode(out)
	}, header...)
}

// stream makes a call and hands a successful answer's body to read.
func (c *Client) stream(ctx context.Context, method, addr, path string, body []byte, read func(*json.Decoder) error, header ...http.Header) error {
	resp, err := c.open(ctx, method, addr, path, body, header...)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return read(json.NewDecoder(resp.Body))
}

// open makes a call and returns a successful answer, whose body the caller
// closes. A peer of an older build that has no such call answers
// ErrNoSuchCall.
func (c *Client) open(ctx context.Context, method, addr, path string, body []byte, header ...http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for _, h := range header {
		maps.Copy(req.Header, h)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	var e wireError
	_ = json.NewDecoder(io.LimitReader(resp.Body, maxSmallBody)).Decode(&e)
	if resp.StatusCode == http.StatusNotFound && e.Code == "" && e.Error == "" {
		return nil, fmt.Errorf("%w: %s %s", ErrNoSuchCall, method, path)
	}
	return nil, e.asError(resp.Status)
}

// readAfter asks a status call to wait for the entry at index (none for 0).
func readAfter(index uint64) http.Header {
	if index == 0 {
		return nil
	}
	return http.Header{readAfterHeader: {strconv.FormatUint(index, 10)}}
}
