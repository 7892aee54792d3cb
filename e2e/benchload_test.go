package e2e

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The load of the pin benchmarks: distinct blocks that every Kubo of a
// side already holds, and concurrent clients that pin them through an
// endpoint, one pin/add each.

// putBlocks puts n distinct small raw blocks into every Kubo given, and
// returns their CIDs: content that any allocated peer can pin at once,
// without bitswap. Kubo takes many blocks in one block/put request.
func putBlocks(t testing.TB, kubos []*kubo, n int) []string {
	t.Helper()
	const perRequest = 1000
	var cids []string
	for len(cids) < n {
		blocks := make([][]byte, min(perRequest, n-len(cids)))
		for i := range blocks {
			blocks[i] = make([]byte, 64)
			rand.Read(blocks[i])
		}
		var keys []string
		for _, k := range kubos {
			keys = blockPut(t, k, blocks)
		}
		cids = append(cids, keys...)
	}
	return cids
}

func blockPut(t testing.TB, k *kubo, blocks [][]byte) []string {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, b := range blocks {
		part, err := mw.CreateFormFile("file", "block")
		if err != nil {
			t.Fatal(err)
		}
		part.Write(b)
	}
	mw.Close()
	resp, err := http.Post(k.url+"/api/v0/block/put?cid-codec=raw&mhtype=sha2-256", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("block/put: %d %s", resp.StatusCode, msg)
	}
	keys := make([]string, 0, len(blocks))
	for dec := json.NewDecoder(resp.Body); ; {
		var out struct{ Key string }
		if err := dec.Decode(&out); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("block/put answer: %v", err)
		}
		keys = append(keys, out.Key)
	}
	if len(keys) != len(blocks) {
		t.Fatalf("block/put stored %d of %d blocks", len(keys), len(blocks))
	}
	return keys
}

// loadResult is one run of pin/add calls against one endpoint: the
// figures count the calls that succeeded.
type loadResult struct {
	Pins    int     `json:"pins"`
	Errors  int     `json:"errors"`
	Seconds float64 `json:"seconds"`
	PerSec  float64 `json:"per_sec"`
	P50ms   float64 `json:"p50_ms"`
	P99ms   float64 `json:"p99_ms"`
}

// pinLoad pins cids through base's /api/v0/pin/add with clients
// concurrent clients, each waiting for its answer before the next call,
// until the CIDs run out or limit has passed. A failed call is counted
// and logged (the first of them), not fatal: an overloaded incumbent may
// time out, and that is a result too. It fails the test only when every
// call failed.
func pinLoad(t testing.TB, client *http.Client, base string, cids []string, clients int, limit time.Duration) loadResult {
	t.Helper()
	var (
		next     atomic.Int64
		mu       sync.Mutex
		lats     []time.Duration
		errs     int
		firstErr error
		wg       sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(limit)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			defer func() { mu.Lock(); lats = append(lats, mine...); mu.Unlock() }()
			for time.Now().Before(deadline) {
				i := int(next.Add(1)) - 1
				if i >= len(cids) {
					return
				}
				began := time.Now()
				if err := pinAdd(client, base, cids[i]); err != nil {
					mu.Lock()
					errs++
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				mine = append(mine, time.Since(began))
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if len(lats) == 0 {
		t.Fatalf("every pin/add through %s failed: %v", base, firstErr)
	}
	if firstErr != nil {
		t.Logf("%d of %d pin/add calls through %s failed; the first: %v", errs, errs+len(lats), base, firstErr)
	}
	slices.Sort(lats)
	pct := func(p float64) float64 {
		return float64(lats[min(len(lats)-1, int(p*float64(len(lats))))].Microseconds()) / 1000
	}
	return loadResult{Pins: len(lats), Errors: errs, Seconds: took.Seconds(), PerSec: float64(len(lats)) / took.Seconds(), P50ms: pct(0.50), P99ms: pct(0.99)}
}

func pinAdd(client *http.Client, base, c string) error {
	resp, err := client.Post(base+"/api/v0/pin/add?arg="+c, "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %d %s", c, resp.StatusCode, body)
	}
	return nil
}

// recursivePins counts the recursive pins of a Kubo, asked directly.
func recursivePins(k *kubo) (int, error) {
	resp, err := http.Post(k.url+"/api/v0/pin/ls?type=recursive&stream=true", "", nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n := 0
	for sc := bufio.NewScanner(resp.Body); sc.Scan(); {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			n++
		}
	}
	return n, nil
}

// benchClient reuses one connection per concurrent client.
func benchClient(clients int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxIdleConns: clients, DisableCompression: true}}
}
