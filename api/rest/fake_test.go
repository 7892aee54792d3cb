package rest

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/alloc"
	"github.com/flotilla-ipfs/flotilla/internal/fakecluster"
	"github.com/flotilla-ipfs/flotilla/internal/testkit"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// fakeCluster is the shared fake cluster with npeers peers, an allocator
// that decides as the leader does, and a clock that stands still, so that
// every timestamp is now.
type fakeCluster struct {
	*fakecluster.Cluster
}

func newFakeCluster(t testing.TB, npeers int) *fakeCluster {
	f := &fakeCluster{Cluster: fakecluster.New()}
	f.SetClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), 0)
	f.SetAllocator(allocate)
	ids := make([]string, npeers)
	for i := range ids {
		ids[i] = newPeerID(t)
	}
	peers := make([]types.ID, npeers)
	for i, id := range ids {
		peers[i] = types.ID{
			ID:                    id,
			Addresses:             []string{fmt.Sprintf("127.0.0.1:%d", 9096+i)},
			ClusterPeers:          ids,
			ClusterPeersAddresses: addrsOf(len(ids)),
			Version:               "0.1.0",
			RPCProtocolVersion:    "/flotilla/1.0/rpc",
			IPFS:                  types.IPFSID{ID: newPeerID(t), Addresses: []string{"/ip4/127.0.0.1/tcp/4001"}},
			Peername:              fmt.Sprintf("peer%d", i),
		}
	}
	f.SetPeers(peers...)
	return f
}

// allocate decides as the leader does: zero replication factors mean every
// peer; otherwise the user's allocations come first, then the peers in
// order up to the maximum, and fewer peers than the minimum is an error.
func allocate(p storage.Pin, peers []string) (storage.Pin, error) {
	if p.ReplicationFactorMin == 0 && p.ReplicationFactorMax == 0 {
		p.ReplicationFactorMin, p.ReplicationFactorMax = -1, -1
	}
	if p.Everywhere() {
		return p, nil
	}
	if p.ReplicationFactorMin > len(peers) {
		return p, &alloc.NotEnoughPeersError{Needed: p.ReplicationFactorMin, Wanted: p.ReplicationFactorMax, Available: len(peers)}
	}
	allocs := slices.Clone(p.UserAllocations)
	for _, id := range peers {
		if len(allocs) < p.ReplicationFactorMax && !slices.Contains(allocs, id) {
			allocs = append(allocs, id)
		}
	}
	p.Allocations = allocs
	return p, nil
}

func addrsOf(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("127.0.0.1:%d", 9096+i)
	}
	return out
}

func newPeerID(t testing.TB) string {
	t.Helper()
	_, pub, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

func testCid(t testing.TB, s string) cid.Cid {
	t.Helper()
	mh, err := multihash.Sum([]byte(s), multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return cid.NewCidV1(cid.DagProtobuf, mh)
}

// add puts a pin straight into the pinset, as a commit would, stamped now
// unless it has a time.
func (f *fakeCluster) add(p storage.Pin) storage.Pin {
	if p.Timestamp.IsZero() {
		p.Timestamp = f.Now()
	}
	f.Put(p)
	return p
}

// fakeResolver resolves the paths it was told about.
type fakeResolver map[string]cid.Cid

func (r fakeResolver) Resolve(_ context.Context, p string) (cid.Cid, error) {
	if c, ok := r[p]; ok {
		return c, nil
	}
	return cid.Undef, fmt.Errorf("no link named %q", p)
}

// testEnv is an API over a fake cluster, served by httptest.
type testEnv struct {
	t   *testing.T
	fc  *fakeCluster
	api *API
	srv *httptest.Server
}

func newEnv(t *testing.T, cfg Config) *testEnv {
	t.Helper()
	fc := newFakeCluster(t, 3)
	if cfg.Now == nil {
		cfg.Now = fc.Now
	}
	cfg.Log = zerolog.Nop()
	api := NewWithConfig(fc, cfg)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &testEnv{t: t, fc: fc, api: api, srv: srv}
}

type response struct {
	status int
	header http.Header
	body   []byte
	resp   *http.Response
}

func (e *testEnv) do(method, path string, body io.Reader, hdr ...string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	testkit.SetHeaders(req, hdr...)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b, resp: resp}
}

func (e *testEnv) get(path string) response { return e.do(http.MethodGet, path, nil) }

// wantStatus fails with the body, which says why.
func (r response) wantStatus(t *testing.T, code int) response {
	t.Helper()
	if r.status != code {
		t.Fatalf("status %d, want %d; body %s", r.status, code, r.body)
	}
	return r
}

// wantError checks ipfs-cluster's error body.
func (r response) wantError(t *testing.T, code int, contains string) {
	t.Helper()
	r.wantStatus(t, code)
	var e apiError
	if err := jsonUnmarshal(r.body, &e); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	if e.Code != code || !strings.Contains(e.Message, contains) {
		t.Fatalf("error %+v, want code %d and a message containing %q", e, code, contains)
	}
}
