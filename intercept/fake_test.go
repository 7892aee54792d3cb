package intercept

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/internal/fakecluster"
	"github.com/flotilla-ipfs/flotilla/internal/version"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// newFakeCluster is a cluster holding pins, listed in the order given:
// the golden answers of pin ls are written in that order.
func newFakeCluster(pins ...storage.Pin) *fakecluster.Cluster {
	f := fakecluster.New()
	f.ListInInsertionOrder()
	f.Put(pins...)
	return f
}

// fakeResolver maps paths to CIDs and records every call, so that tests can
// check that bare CIDs never reach it.
type fakeResolver struct {
	mu    sync.Mutex
	paths map[string]cid.Cid
	calls []string
}

func (r *fakeResolver) Resolve(_ context.Context, p string) (cid.Cid, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, p)
	if c, ok := r.paths[p]; ok {
		return c, nil
	}
	return cid.Undef, fmt.Errorf("no link named %q under %s", "missing", p)
}

// PinLs lists no pins: the node behind this resolver has none of its own.
func (r *fakeResolver) PinLs(context.Context, string, func(cid.Cid, string) error) error { return nil }

// IndirectRoot finds no indirect pin, for the same reason.
func (r *fakeResolver) IndirectRoot(context.Context, cid.Cid) (string, bool, error) {
	return "", false, nil
}

// testCid returns a distinct CIDv0 (dag-pb) for each n.
func testCid(n int) cid.Cid {
	h, err := mh.Sum([]byte(fmt.Sprintf("block %d", n)), mh.SHA2_256, -1)
	if err != nil {
		panic(err)
	}
	return cid.NewCidV0(h)
}

// rawCid returns a CIDv1 raw-codec CID for data.
func rawCid(data string) cid.Cid {
	h, err := mh.Sum([]byte(data), mh.SHA2_256, -1)
	if err != nil {
		panic(err)
	}
	return cid.NewCidV1(cid.Raw, h)
}

func recursivePin(c cid.Cid, name string) storage.Pin {
	return storage.Pin{Cid: c, Name: name, Mode: storage.Recursive}
}

func directPin(c cid.Cid, name string) storage.Pin {
	return storage.Pin{Cid: c, Name: name, Mode: storage.Direct}
}

// newTestHandlers builds handlers with a fast progress tick.
func newTestHandlers(t *testing.T, c Cluster, r Resolver, upstream string, wait bool) *Handlers {
	t.Helper()
	var u *url.URL
	if upstream != "" {
		var err error
		if u, err = url.Parse(upstream); err != nil {
			t.Fatal(err)
		}
	}
	h := New(c, r, Options{Upstream: u, WaitPinned: wait, Log: zerolog.Nop()})
	h.tick = tickForTests
	return h
}

// tickForTests keeps progress tests fast; they wait on lines, not time.
const tickForTests = 5e6 // 5ms

// post runs one request through h and returns the recorded result.
func post(t *testing.T, h http.Handler, target string, body io.Reader, header ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, target, body)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func readBody(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// headerDump renders headers in a stable form for golden comparisons.
func headerDump(h http.Header) string {
	keys := make([]string, 0, len(h))
	for k := range h {
		if k == "Date" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(h[k], ", "))
	}
	return b.String()
}

// kuboHeaders is what every JSON command answer of Kubo carries, with our
// fallback Server header: the version `flotilla version` prints.
func kuboHeaders(extra ...string) string {
	lines := []string{
		"Access-Control-Allow-Headers: X-Stream-Output, X-Chunked-Output, X-Content-Length",
		"Access-Control-Expose-Headers: X-Stream-Output, X-Chunked-Output, X-Content-Length",
		"Content-Type: application/json",
		"Server: flotilla/" + version.Version,
		"Trailer: X-Stream-Error",
		"Vary: Origin",
	}
	lines = append(lines, extra...)
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n"
}

func checkGolden(t *testing.T, res *http.Response, status int, headers, body string) {
	t.Helper()
	got := readBody(t, res)
	if res.StatusCode != status {
		t.Errorf("status %d, want %d (body %q)", res.StatusCode, status, got)
	}
	if d := headerDump(res.Header); d != headers {
		t.Errorf("headers:\n%s\nwant:\n%s", d, headers)
	}
	if got != body {
		t.Errorf("body:\n%q\nwant:\n%q", got, body)
	}
}

var errNoLeader = errors.New("no leader")

func nopLog() zerolog.Logger { return zerolog.Nop() }
