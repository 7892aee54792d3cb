package pinsvc

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// batchingFake answers peer maps a batch at a time, as cluster.Node does.
type batchingFake struct {
	*fakeCluster
	batches atomic.Int32
}

func (b *batchingFake) PeerMaps(ctx context.Context, cids []cid.Cid) []map[string]types.PinStatus {
	b.batches.Add(1)
	out := make([]map[string]types.PinStatus, len(cids))
	for i, c := range cids {
		out[i] = b.PeerMap(ctx, c)
	}
	return out
}

func TestStatusFilterAsksPeersABatchAtATime(t *testing.T) {
	bf := &batchingFake{fakeCluster: newFake()}
	const n = 300
	for i := 0; i < n; i++ {
		status := "pinned"
		if i%3 == 0 {
			status = "pin_queued"
		}
		bf.put(storage.Pin{Cid: testCid(i), Timestamp: ts(i)}, status)
	}
	srv := httptest.NewServer(New(bf, Config{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/pins?status=pinned&limit=1000")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res struct {
		Count   int
		Results []struct{ Status string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		t.Fatal(err)
	}
	if res.Count != 200 || len(res.Results) != 200 {
		t.Fatalf("count %d, %d results; want the 200 pinned", res.Count, len(res.Results))
	}
	for _, r := range res.Results {
		if r.Status != "pinned" {
			t.Fatalf("a %s pin passed the pinned filter", r.Status)
		}
	}
	if got := bf.batches.Load(); got != 2 {
		t.Fatalf("peers were asked in %d rounds for %d pins, want 2 batches", got, n)
	}
}
