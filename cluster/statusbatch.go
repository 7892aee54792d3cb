package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// maxStatusBatch bounds the CIDs of one status RPC.
const maxStatusBatch = 1000

// PeerMaps is PeerMap for many CIDs at once: one request per peer for the
// whole batch instead of one per CID, which is what makes a status listing
// of a large pinset take minutes rather than hours. Results are in the
// order of cids.
func (n *Node) PeerMaps(ctx context.Context, cids []cid.Cid) []map[string]types.PinStatus {
	out := make([]map[string]types.PinStatus, len(cids))
	for i := range out {
		out[i] = map[string]types.PinStatus{}
	}
	var mu sync.Mutex
	n.fanOut(ctx, func(ctx context.Context, p storage.Peer) {
		sts, err := n.peerStatuses(ctx, p, cids)
		mu.Lock()
		defer mu.Unlock()
		for i := range cids {
			if err != nil {
				out[i][p.ID] = types.PinStatus{PeerName: p.Name, IPFSPeerID: p.IPFSID, Status: types.StatusClusterError, Error: err.Error(), Timestamp: time.Now().UTC()}
				continue
			}
			out[i][p.ID] = sts[i]
		}
	})
	return out
}

func (n *Node) peerStatuses(ctx context.Context, p storage.Peer, cids []cid.Cid) ([]types.PinStatus, error) {
	if p.ID == n.cfg.ID {
		return n.localStatuses(cids), nil
	}
	out := make([]types.PinStatus, 0, len(cids))
	for start := 0; start < len(cids); start += maxStatusBatch {
		chunk := cids[start:min(start+maxStatusBatch, len(cids))]
		strs := make([]string, len(chunk))
		for i, c := range chunk {
			strs[i] = c.String()
		}
		body, _ := json.Marshal(strs)
		var sts []types.PinStatus
		if err := n.client.call(ctx, http.MethodPost, p.ClusterAddr, "/v1/statuses", body, &sts); err != nil {
			return nil, err
		}
		if len(sts) != len(chunk) {
			return nil, fmt.Errorf("%s answered %d statuses for %d CIDs", p.ID, len(sts), len(chunk))
		}
		out = append(out, sts...)
	}
	return out, nil
}

func (n *Node) localStatuses(cids []cid.Cid) []types.PinStatus {
	out := make([]types.PinStatus, len(cids))
	for i, c := range cids {
		out[i] = n.LocalStatus(c)
	}
	return out
}

func (n *Node) rpcStatuses(w http.ResponseWriter, r *http.Request) {
	var strs []string
	if err := json.NewDecoder(io.LimitReader(r.Body, maxRPCBody)).Decode(&strs); err != nil || len(strs) > maxStatusBatch {
		writeRPC(w, http.StatusBadRequest, rpcError{Error: "statuses: want a JSON list of at most 1000 CIDs"})
		return
	}
	cids := make([]cid.Cid, len(strs))
	for i, s := range strs {
		c, err := cid.Decode(s)
		if err != nil {
			writeRPC(w, http.StatusBadRequest, rpcError{Error: err.Error()})
			return
		}
		cids[i] = c
	}
	writeRPC(w, http.StatusOK, n.localStatuses(cids))
}
