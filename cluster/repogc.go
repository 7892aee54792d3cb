package cluster

import (
	"context"
	"net/http"
	"sync"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// RepoGCKey is one line of a peer's garbage collection: a removed CID, or
// an error.
type RepoGCKey struct {
	Key   *string `json:"key"`
	Error string  `json:"error,omitempty"`
}

// RepoGCResult is one peer's garbage collection, ipfs-cluster's RepoGC.
type RepoGCResult struct {
	Peer     string      `json:"peer"`
	Peername string      `json:"peername"`
	Keys     []RepoGCKey `json:"keys"`
	Error    string      `json:"error,omitempty"`
}

// RepoGarbageCollector is implemented by an upstream that can collect its
// garbage, streaming what it removes.
type RepoGarbageCollector interface {
	RepoGC(ctx context.Context, fn func(key, errMsg string) error) error
}

// RepoGC collects garbage on every peer's IPFS node, in parallel. Pins of
// the cluster are pinned on the nodes, so the collector never removes them.
func (n *Node) RepoGC(ctx context.Context) map[string]RepoGCResult {
	var mu sync.Mutex
	out := map[string]RepoGCResult{}
	n.fanOut(ctx, func(ctx context.Context, p storage.Peer) {
		var res RepoGCResult
		if p.ID == n.cfg.ID {
			res = n.localRepoGC(ctx)
		} else if err := n.client.call(ctx, http.MethodPost, p.ClusterAddr, "/v1/repogc", nil, &res); err != nil {
			res = RepoGCResult{Peer: p.ID, Peername: p.Name, Error: err.Error()}
		}
		if res.Keys == nil {
			res.Keys = []RepoGCKey{}
		}
		mu.Lock()
		out[p.ID] = res
		mu.Unlock()
	})
	return out
}

func (n *Node) localRepoGC(ctx context.Context) RepoGCResult {
	res := RepoGCResult{Peer: n.cfg.ID, Peername: n.cfg.Name, Keys: []RepoGCKey{}}
	gc, ok := n.cfg.IPFS.(RepoGarbageCollector)
	if !ok {
		res.Error = "this peer's IPFS client cannot collect garbage"
		return res
	}
	err := gc.RepoGC(ctx, func(key, errMsg string) error {
		k := RepoGCKey{Error: errMsg}
		if key != "" {
			k.Key = &key
		}
		res.Keys = append(res.Keys, k)
		return nil
	})
	if err != nil {
		res.Error = err.Error()
	}
	return res
}

func (n *Node) rpcRepoGC(w http.ResponseWriter, r *http.Request) {
	writeRPC(w, http.StatusOK, n.localRepoGC(r.Context()))
}
