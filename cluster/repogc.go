package cluster

import (
	"context"
	"net/http"
	"sync"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// RepoGarbageCollector is implemented by an upstream that can collect its
// garbage, streaming what it removes.
type RepoGarbageCollector interface {
	RepoGC(ctx context.Context, fn func(key, errMsg string) error) error
}

// RepoGC collects garbage on every peer's IPFS node, in parallel. Pins of
// the cluster are pinned on the nodes, so the collector never removes them.
func (n *Node) RepoGC(ctx context.Context) map[string]types.RepoGC {
	var mu sync.Mutex
	out := map[string]types.RepoGC{}
	n.fanOut(ctx, func(ctx context.Context, p storage.Peer) {
		var res types.RepoGC
		if p.ID == n.cfg.ID {
			res = n.localRepoGC(ctx)
		} else if err := n.client.call(ctx, http.MethodPost, p.ClusterAddr, "/v1/repogc", nil, &res); err != nil {
			res = types.RepoGC{Peer: p.ID, Peername: p.Name, Error: err.Error()}
		}
		if res.Keys == nil {
			res.Keys = []types.RepoGCKey{}
		}
		mu.Lock()
		out[p.ID] = res
		mu.Unlock()
	})
	return out
}

func (n *Node) localRepoGC(ctx context.Context) types.RepoGC {
	res := types.RepoGC{Peer: n.cfg.ID, Peername: n.cfg.Name, Keys: []types.RepoGCKey{}}
	gc, ok := n.cfg.IPFS.(RepoGarbageCollector)
	if !ok {
		res.Error = "this peer's IPFS client cannot collect garbage"
		return res
	}
	err := gc.RepoGC(ctx, func(key, errMsg string) error {
		k := types.RepoGCKey{Error: errMsg}
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
