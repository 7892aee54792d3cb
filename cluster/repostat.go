package cluster

import (
	"context"
	"net/http"
	"sync"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// RepoStater is implemented by an upstream that reports its repo size.
type RepoStater interface {
	RepoTotals(ctx context.Context) (size, max, objects uint64, err error)
}

// RepoStat sums every peer's IPFS repo, as ipfs-cluster does for the proxy's
// repo/stat. Peers that do not answer are left out of the sum.
func (n *Node) RepoStat(ctx context.Context) (types.RepoStat, error) {
	var mu sync.Mutex
	var total types.RepoStat
	var firstErr error
	n.fanOut(ctx, func(ctx context.Context, p storage.Peer) {
		var rs types.RepoStat
		var err error
		if p.ID == n.cfg.ID {
			rs, err = n.localRepoStat(ctx)
		} else {
			err = n.client.call(ctx, http.MethodGet, p.ClusterAddr, "/v1/repostat", nil, &rs)
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			n.log.Warn().Err(err).Str("peer", p.ID).Msg("repo/stat of a peer failed; left out of the sum")
			return
		}
		total.RepoSize += rs.RepoSize
		total.StorageMax = saturatingAdd(total.StorageMax, rs.StorageMax)
		total.NumObjects += rs.NumObjects
	})
	if total == (types.RepoStat{}) && firstErr != nil {
		return total, firstErr
	}
	return total, nil
}

func saturatingAdd(a, b uint64) uint64 {
	if a+b < a {
		return ^uint64(0)
	}
	return a + b
}

func (n *Node) localRepoStat(ctx context.Context) (types.RepoStat, error) {
	rs, ok := n.cfg.IPFS.(RepoStater)
	if !ok {
		return types.RepoStat{}, nil
	}
	size, max, objects, err := rs.RepoTotals(ctx)
	return types.RepoStat{RepoSize: size, StorageMax: max, NumObjects: objects}, err
}

func (n *Node) rpcRepoStat(w http.ResponseWriter, r *http.Request) {
	rs, err := n.localRepoStat(r.Context())
	if err != nil {
		n.rpcFail(w, err)
		return
	}
	writeRPC(w, http.StatusOK, rs)
}
