package pinsvc

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/internal/fakecluster"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// fakeCluster is the shared fake cluster with one peer, "peer-a", that
// has queued every pin unless told otherwise.
type fakeCluster struct {
	*fakecluster.Cluster
}

func newFake() *fakeCluster {
	f := &fakeCluster{Cluster: fakecluster.New()}
	f.SetPeers(types.ID{ID: "peer-a"})
	f.SetDefaultStatus("pin_queued")
	f.SetDelegates("/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo")
	return f
}

// put adds p as it is, with peer-a reporting peerStatus for it.
func (f *fakeCluster) put(p storage.Pin, peerStatus string) {
	f.Put(p)
	f.SetStatus(p.Cid, "peer-a", peerStatus)
}

// testCid returns a distinct raw CIDv1 for each i.
var testCid = fakecluster.Cid

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
