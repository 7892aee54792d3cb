package cluster

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// perPeerTimeout bounds one peer's answer in a fan-out, so that one dead
// peer cannot hold a request.
const perPeerTimeout = 15 * time.Second

// fanOut calls fn for every member in parallel, self included, and returns
// once all have answered or timed out.
func (n *Node) fanOut(ctx context.Context, fn func(ctx context.Context, p storage.Peer)) {
	peers := n.members()
	var wg sync.WaitGroup
	for _, p := range peers {
		wg.Add(1)
		go func(p storage.Peer) {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, perPeerTimeout)
			defer cancel()
			fn(cctx, p)
		}(p)
	}
	wg.Wait()
}

// Peers returns the ID object of every member, ordered as the peer set. A
// peer that does not answer still gets an entry, carrying its error.
func (n *Node) Peers(ctx context.Context) []types.ID {
	peers := n.members()
	out := make([]types.ID, len(peers))
	var wg sync.WaitGroup
	for i, p := range peers {
		wg.Add(1)
		go func(i int, p storage.Peer) {
			defer wg.Done()
			if p.ID == n.cfg.ID {
				out[i] = n.ID(ctx)
				return
			}
			cctx, cancel := context.WithTimeout(ctx, perPeerTimeout)
			defer cancel()
			var info types.ID
			if err := n.client.call(cctx, http.MethodGet, p.ClusterAddr, "/v1/id", nil, &info); err != nil {
				info = types.ID{
					ID: p.ID, Peername: p.Name, Addresses: []string{p.ClusterAddr}, Error: err.Error(),
					ClusterPeers: []string{}, ClusterPeersAddresses: []string{}, IPFS: types.IPFSID{ID: p.IPFSID, Addresses: []string{}},
				}
			}
			out[i] = info
		}(i, p)
	}
	wg.Wait()
	return out
}

func (n *Node) rpcID(w http.ResponseWriter, r *http.Request) {
	writeRPC(w, http.StatusOK, n.ID(r.Context()))
}

// Recover retries a failed pin or unpin of c on every peer that holds it,
// and returns the resulting peer map.
func (n *Node) Recover(ctx context.Context, c cid.Cid) (map[string]types.PinStatus, error) {
	n.fanOut(ctx, func(ctx context.Context, p storage.Peer) {
		if p.ID == n.cfg.ID {
			n.tracker.Recover(c)
			return
		}
		_ = n.client.call(ctx, http.MethodPost, p.ClusterAddr, "/v1/recover/"+c.String(), nil, nil)
	})
	return n.PeerMap(ctx, c), nil
}

// RecoverAll retries every failed operation on every peer and returns the
// CIDs that were queued again.
func (n *Node) RecoverAll(ctx context.Context) ([]cid.Cid, error) {
	var mu sync.Mutex
	seen := map[cid.Cid]bool{}
	var out []cid.Cid
	add := func(cs []cid.Cid) {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range cs {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	n.fanOut(ctx, func(ctx context.Context, p storage.Peer) {
		if p.ID == n.cfg.ID {
			add(n.tracker.RecoverAll())
			return
		}
		var cs []string
		if err := n.client.call(ctx, http.MethodPost, p.ClusterAddr, "/v1/recover", nil, &cs); err == nil {
			var parsed []cid.Cid
			for _, s := range cs {
				if c, err := cid.Decode(s); err == nil {
					parsed = append(parsed, c)
				}
			}
			add(parsed)
		}
	})
	return out, nil
}

func (n *Node) rpcRecover(w http.ResponseWriter, r *http.Request) {
	c, err := cid.Decode(chi.URLParam(r, "cid"))
	if err != nil {
		writeRPC(w, http.StatusBadRequest, rpcError{Error: err.Error()})
		return
	}
	n.tracker.Recover(c)
	writeRPC(w, http.StatusOK, struct{}{})
}

func (n *Node) rpcRecoverAll(w http.ResponseWriter, _ *http.Request) {
	out := []string{}
	for _, c := range n.tracker.RecoverAll() {
		out = append(out, c.String())
	}
	writeRPC(w, http.StatusOK, out)
}
