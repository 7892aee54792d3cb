package cluster

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/api/rest"
	"github.com/flotilla-ipfs/flotilla/intercept"
	"github.com/flotilla-ipfs/flotilla/internal/testkit"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// benchListingPins is the pinset size of BenchmarkListing:
// FLOTILLA_BENCH_PINS, 100,000 by default (issue 10's figure is 1,000,000).
func benchListingPins(b *testing.B) int {
	n := 100_000
	if v := os.Getenv("FLOTILLA_BENCH_PINS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("FLOTILLA_BENCH_PINS=%q: want a positive number", v)
		}
	}
	return n
}

// BenchmarkListing lists a large pinset on three in-process peers, each
// pin allocated to one of them, through the real HTTP handlers on
// loopback: the proxy's pin ls (streamed and Kubo's Keys object) and the
// admin API's GET /pins, this peer's statuses alone and the whole
// cluster's. The baseline, taken in turns with them, is the floor of any
// listing: decoding every pin from bbolt in one read transaction. Each is
// reported in pins/s and as its time over the floor's.
//
// The benchmark lives here, not in the HTTP packages, because only this
// package can commit a large pinset quickly (whole entries through the
// leader) and the fronts import nothing of it.
func BenchmarkListing(b *testing.B) {
	n := benchListingPins(b)
	peers := newTestCluster(b, 3)
	loadPinset(b, peers, n)
	node := peers[0].node
	proxy := httptest.NewServer(intercept.New(node, nil, intercept.Options{Log: zerolog.Nop()}))
	defer proxy.Close()
	admin := httptest.NewServer(rest.New(node, nil, zerolog.Nop()))
	defer admin.Close()

	workloads := []struct {
		name string
		run  func() error
	}{
		{"floor", func() error {
			count := 0
			err := node.state.ForEach(func(storage.Pin) error { count++; return nil })
			if err == nil && count != n {
				err = fmt.Errorf("the floor read %d pins", count)
			}
			return err
		}},
		{"pinls-stream", fetch(http.MethodPost, proxy.URL+"/api/v0/pin/ls?stream=true&type=recursive")},
		{"pinls-keys", fetch(http.MethodPost, proxy.URL+"/api/v0/pin/ls?type=recursive")},
		{"status-local", fetch(http.MethodGet, admin.URL+"/pins?local=true")},
		{"status-cluster", fetch(http.MethodGet, admin.URL+"/pins")},
	}
	total := make([]time.Duration, len(workloads))
	b.ResetTimer()
	for range b.N {
		for i, w := range workloads {
			start := time.Now()
			if err := w.run(); err != nil {
				b.Fatalf("%s: %v", w.name, err)
			}
			total[i] += time.Since(start)
		}
	}
	b.StopTimer()
	for i, w := range workloads {
		b.ReportMetric(float64(n*b.N)/total[i].Seconds(), w.name+"-pins/s")
		if i > 0 {
			b.ReportMetric(total[i].Seconds()/total[0].Seconds(), w.name+"/floor")
		}
	}
}

// fetch reads a whole answer, as a client would.
func fetch(method, url string) func() error {
	return func() error {
		req, err := http.NewRequest(method, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", url, resp.Status)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if e := resp.Trailer.Get("X-Stream-Error"); e != "" {
			return fmt.Errorf("%s: %s", url, e)
		}
		return nil
	}
}

// loadPinset commits n named pins, each allocated to one peer in turn, in
// whole entries, and waits until every peer's tracker has pinned its share,
// so that no tracker works while the listings are timed.
func loadPinset(b *testing.B, peers []*testPeer, n int) {
	b.Helper()
	const entry = 2048
	now := time.Now().UTC()
	for first := 0; first < n; first += entry {
		ops := make([]storage.Op, 0, entry)
		for i := first; i < min(first+entry, n); i++ {
			ops = append(ops, storage.Op{Kind: storage.OpPin, Pin: storage.Pin{
				Cid: testCid(i), Name: fmt.Sprintf("dataset/%08d", i), ReplicationFactorMin: 1, ReplicationFactorMax: 1,
				Allocations: []string{peers[i%len(peers)].id}, Timestamp: now,
			}})
		}
		if _, err := peers[0].node.submit(ctx(b), ops); err != nil {
			b.Fatal(err)
		}
	}
	for i, p := range peers {
		share := n / len(peers)
		if i < n%len(peers) {
			share++
		}
		testkit.Eventually(b, "every peer's share pinned", func() bool {
			counts, err := p.node.status.CountByStatus()
			return err == nil && counts[storage.StatusPinned] == share
		}, testkit.Within(time.Duration(n/100+60)*time.Second), testkit.Every(500*time.Millisecond))
	}
}
