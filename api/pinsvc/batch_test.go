package pinsvc

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/flotilla-ipfs/flotilla/storage"
)

func TestStatusFilterAsksPeersABatchAtATime(t *testing.T) {
	bf := newFake()
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
	if got := bf.PeerMapsCalls(); got != 2 {
		t.Fatalf("peers were asked in %d rounds for %d pins, want 2 batches", got, n)
	}
}
