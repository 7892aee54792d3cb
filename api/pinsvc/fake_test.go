package pinsvc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// fakeCluster is an in-memory Cluster. Pins it commits get increasing
// timestamps with nanosecond parts, as the real cluster's do.
type fakeCluster struct {
	mu        sync.Mutex
	pins      map[cid.Cid]storage.Pin
	peers     map[cid.Cid]map[string]types.PinStatus
	delegates []string
	now       time.Time
	ops       []string // "pin <cid>" and "unpin <cid>", in commit order

	pinErr, unpinErr, listErr error
	peerMapCalls              atomic.Int64
	// stream, when set, replaces the stored pins in List: it generates n
	// pins on the fly, so that the fake itself holds none of them.
	stream func(fn func(storage.Pin) error) error
}

func newFake() *fakeCluster {
	return &fakeCluster{
		pins:      map[cid.Cid]storage.Pin{},
		peers:     map[cid.Cid]map[string]types.PinStatus{},
		delegates: []string{"/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"},
		now:       time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC),
	}
}

func (f *fakeCluster) Pin(_ context.Context, p storage.Pin) (storage.Pin, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pinErr != nil {
		return p, f.pinErr
	}
	f.now = f.now.Add(time.Millisecond + time.Nanosecond)
	p.Timestamp = f.now
	f.pins[p.Cid] = p
	f.ops = append(f.ops, "pin "+p.Cid.String())
	return p, nil
}

func (f *fakeCluster) Unpin(_ context.Context, c cid.Cid) (storage.Pin, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unpinErr != nil {
		return storage.Pin{}, f.unpinErr
	}
	p, ok := f.pins[c]
	if !ok {
		return p, storage.ErrNotFound
	}
	delete(f.pins, c)
	f.ops = append(f.ops, "unpin "+c.String())
	return p, nil
}

func (f *fakeCluster) Get(_ context.Context, c cid.Cid) (storage.Pin, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pins[c]
	if !ok {
		return p, storage.ErrNotFound
	}
	return p, nil
}

// List visits pins in key order, as bbolt does, which is unrelated to
// their timestamps.
func (f *fakeCluster) List(_ context.Context, fn func(storage.Pin) error) error {
	if f.listErr != nil {
		return f.listErr
	}
	if f.stream != nil {
		return f.stream(fn)
	}
	f.mu.Lock()
	pins := make([]storage.Pin, 0, len(f.pins))
	for _, p := range f.pins {
		pins = append(pins, p)
	}
	f.mu.Unlock()
	sort.Slice(pins, func(i, j int) bool { return pins[i].Cid.KeyString() < pins[j].Cid.KeyString() })
	for _, p := range pins {
		if err := fn(p); err != nil {
			return err
		}
	}
	return nil
}

// PeerMap defaults to one peer that has queued the pin.
func (f *fakeCluster) PeerMap(_ context.Context, c cid.Cid) map[string]types.PinStatus {
	f.peerMapCalls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if m, ok := f.peers[c]; ok {
		return m
	}
	return map[string]types.PinStatus{"peer-a": {Status: "pin_queued"}}
}

func (f *fakeCluster) PeerMaps(ctx context.Context, cids []cid.Cid) []map[string]types.PinStatus {
	out := make([]map[string]types.PinStatus, len(cids))
	for i, c := range cids {
		out[i] = f.PeerMap(ctx, c)
	}
	return out
}

func (f *fakeCluster) Delegates(_ context.Context, _ cid.Cid) []string {
	return f.delegates
}

func (f *fakeCluster) put(p storage.Pin, peerStatus string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pins[p.Cid] = p
	f.peers[p.Cid] = map[string]types.PinStatus{"peer-a": {Status: peerStatus}}
}

func (f *fakeCluster) setStatus(c cid.Cid, m map[string]types.PinStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.peers[c] = m
}

func (f *fakeCluster) stored(c cid.Cid) (storage.Pin, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pins[c]
	return p, ok
}

func (f *fakeCluster) opLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ops...)
}

func testCid(i int) cid.Cid {
	h, err := mh.Sum([]byte(fmt.Sprintf("pin %d", i)), mh.SHA2_256, -1)
	if err != nil {
		panic(err)
	}
	return cid.NewCidV1(cid.Raw, h)
}

// api is a running Pinning Service on a fake cluster.
type api struct {
	t     *testing.T
	fake  *fakeCluster
	url   string
	token string
}

func newAPI(t *testing.T, tokens ...string) *api {
	t.Helper()
	f := newFake()
	srv := httptest.NewServer(New(f, Config{Tokens: tokens}))
	t.Cleanup(srv.Close)
	a := &api{t: t, fake: f, url: srv.URL}
	if len(tokens) > 0 {
		a.token = tokens[0]
	}
	return a
}

type response struct {
	code int
	hdr  http.Header
	body []byte
}

// do sends a request as Kubo's client does: with its headers and the token.
func (a *api) do(method, path string, body any) response {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, a.url+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "go-pinning-service-http-client")
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return response{code: resp.StatusCode, hdr: resp.Header, body: b}
}

// kuboPinStatus decodes as Kubo's client (boxo pinning/remote/client) does:
// created must be RFC 3339, info values strings, status one of four.
type kuboPinStatus struct {
	RequestID string            `json:"requestid"`
	Status    string            `json:"status"`
	Created   time.Time         `json:"created"`
	Pin       kuboPin           `json:"pin"`
	Delegates []string          `json:"delegates"`
	Info      map[string]string `json:"info"`
}

type kuboPin struct {
	Cid     string            `json:"cid"`
	Name    string            `json:"name"`
	Origins []string          `json:"origins"`
	Meta    map[string]string `json:"meta"`
}

type kuboResults struct {
	Count   int32           `json:"count"`
	Results []kuboPinStatus `json:"results"`
}

func (r response) status(t *testing.T, want int) kuboPinStatus {
	t.Helper()
	r.expect(t, want)
	var ps kuboPinStatus
	r.decode(t, &ps)
	switch ps.Status {
	case queued, pinning, pinned, failed:
	default:
		t.Fatalf("status %q is not one Kubo can decode", ps.Status)
	}
	if ps.RequestID == "" || ps.Delegates == nil {
		t.Fatalf("PinStatus lacks a required field: %s", r.body)
	}
	return ps
}

func (r response) results(t *testing.T) kuboResults {
	t.Helper()
	r.expect(t, http.StatusOK)
	var res kuboResults
	r.decode(t, &res)
	if res.Results == nil {
		t.Fatalf("results is null, not an array: %s", r.body)
	}
	return res
}

func (r response) expect(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d: %s", r.code, code, r.body)
	}
	if code != http.StatusAccepted || len(r.body) > 0 {
		if ct := r.hdr.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("Content-Type %q, want application/json", ct)
		}
	}
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// failure checks the spec's Failure shape and returns its details.
func (r response) failure(t *testing.T, code int, reason string) string {
	t.Helper()
	r.expect(t, code)
	var f struct {
		Error *struct {
			Reason  string `json:"reason"`
			Details string `json:"details"`
		} `json:"error"`
	}
	r.decode(t, &f)
	if f.Error == nil || f.Error.Reason != reason {
		t.Fatalf("want a Failure with reason %s, got %s", reason, r.body)
	}
	return f.Error.Details
}
