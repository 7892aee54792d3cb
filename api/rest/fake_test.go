package rest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/alloc"
	"github.com/flotilla-ipfs/flotilla/health"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// fakeCluster is an in-memory Cluster: a sorted pinset, a fixed peer set,
// and knobs to make each call fail.
type fakeCluster struct {
	mu       sync.Mutex
	t        testing.TB
	peers    []types.ID
	pins     map[cid.Cid]storage.Pin
	statuses map[cid.Cid]map[string]string // overrides of the derived status
	now      time.Time

	pinErr        error
	unpinErr      error
	listErr       error
	listErrAfter  int // fail List after this many pins (with listErr)
	recovered     []cid.Cid
	recoverCalls  []cid.Cid
	removed       []string
	metrics       map[string][]health.Metric
	alerts        []health.Alert
	lastPin       storage.Pin
	pinCalls      int
	peerMapCalls  int
	localStatuses int
}

func newFakeCluster(t testing.TB, npeers int) *fakeCluster {
	f := &fakeCluster{
		t:        t,
		pins:     map[cid.Cid]storage.Pin{},
		statuses: map[cid.Cid]map[string]string{},
		metrics:  map[string][]health.Metric{},
		now:      time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	ids := make([]string, npeers)
	for i := range ids {
		ids[i] = newPeerID(t)
	}
	for i, id := range ids {
		f.peers = append(f.peers, types.ID{
			ID:                    id,
			Addresses:             []string{fmt.Sprintf("127.0.0.1:%d", 9096+i)},
			ClusterPeers:          ids,
			ClusterPeersAddresses: addrsOf(len(ids)),
			Version:               "0.1.0",
			RPCProtocolVersion:    "/flotilla/1.0/rpc",
			IPFS:                  types.IPFSID{ID: newPeerID(t), Addresses: []string{"/ip4/127.0.0.1/tcp/4001"}},
			Peername:              fmt.Sprintf("peer%d", i),
		})
	}
	return f
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

func (f *fakeCluster) peerIDs() []string {
	ids := make([]string, len(f.peers))
	for i, p := range f.peers {
		ids[i] = p.ID
	}
	return ids
}

// add puts a pin straight into the pinset, as a commit would.
func (f *fakeCluster) add(p storage.Pin) storage.Pin {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p.Timestamp.IsZero() {
		p.Timestamp = f.now
	}
	f.pins[p.Cid] = p
	return p
}

func (f *fakeCluster) setStatus(c cid.Cid, peerID, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.statuses[c] == nil {
		f.statuses[c] = map[string]string{}
	}
	f.statuses[c][peerID] = status
}

func (f *fakeCluster) Pin(_ context.Context, p storage.Pin) (storage.Pin, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pinCalls++
	f.lastPin = p
	if f.pinErr != nil {
		return p, f.pinErr
	}
	if p.ReplicationFactorMin == 0 && p.ReplicationFactorMax == 0 {
		p.ReplicationFactorMin, p.ReplicationFactorMax = -1, -1
	}
	if !p.Everywhere() {
		if p.ReplicationFactorMin > len(f.peers) {
			return p, &alloc.NotEnoughPeersError{Needed: p.ReplicationFactorMin, Wanted: p.ReplicationFactorMax, Available: len(f.peers)}
		}
		allocs := slices.Clone(p.UserAllocations)
		for _, id := range f.peerIDs() {
			if len(allocs) < p.ReplicationFactorMax && !slices.Contains(allocs, id) {
				allocs = append(allocs, id)
			}
		}
		p.Allocations = allocs
	}
	p.Timestamp = f.now
	f.pins[p.Cid] = p
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

// List streams in CID byte order, as the bbolt-backed state does, and
// holds no lock while fn runs, so that fn may call back.
func (f *fakeCluster) List(ctx context.Context, fn func(storage.Pin) error) error {
	f.mu.Lock()
	all := make([]storage.Pin, 0, len(f.pins))
	for _, p := range f.pins {
		all = append(all, p)
	}
	listErr, after := f.listErr, f.listErrAfter
	f.mu.Unlock()
	slices.SortFunc(all, func(a, b storage.Pin) int { return bytes.Compare(a.Cid.Bytes(), b.Cid.Bytes()) })
	for i, p := range all {
		if listErr != nil && i == after {
			return listErr
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	if listErr != nil && after >= len(all) {
		return listErr
	}
	return nil
}

func (f *fakeCluster) statusOf(c cid.Cid, p types.ID) types.PinStatus {
	st := types.PinStatus{PeerName: p.Peername, IPFSPeerID: p.IPFS.ID, Timestamp: f.now}
	pin, pinned := f.pins[c]
	switch {
	case f.statuses[c][p.ID] != "":
		st.Status = f.statuses[c][p.ID]
	case !pinned:
		st.Status = "unpinned"
	case pin.AllocatedTo(p.ID):
		st.Status = "pinned"
	default:
		st.Status = "remote"
	}
	return st
}

func (f *fakeCluster) PeerMap(_ context.Context, c cid.Cid) map[string]types.PinStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.peerMapCalls++
	out := map[string]types.PinStatus{}
	for _, p := range f.peers {
		out[p.ID] = f.statusOf(c, p)
	}
	return out
}

func (f *fakeCluster) PeerMaps(ctx context.Context, cids []cid.Cid) []map[string]types.PinStatus {
	out := make([]map[string]types.PinStatus, len(cids))
	for i, c := range cids {
		out[i] = f.PeerMap(ctx, c)
	}
	return out
}

func (f *fakeCluster) LocalStatus(c cid.Cid) types.PinStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.localStatuses++
	return f.statusOf(c, f.peers[0])
}

func (f *fakeCluster) ID(context.Context) types.ID { return f.peers[0] }

func (f *fakeCluster) Peers(context.Context) []types.ID { return slices.Clone(f.peers) }

func (f *fakeCluster) RemovePeer(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, p := range f.peers {
		if p.ID == id {
			f.removed = append(f.removed, id)
			f.peers = slices.Delete(f.peers, i, i+1)
			return nil
		}
	}
	return fmt.Errorf("%w: %s", types.ErrUnknownPeer, id)
}

func (f *fakeCluster) Recover(ctx context.Context, c cid.Cid) (map[string]types.PinStatus, error) {
	f.mu.Lock()
	f.recoverCalls = append(f.recoverCalls, c)
	for id, st := range f.statuses[c] {
		if st == "pin_error" {
			f.statuses[c][id] = "pin_queued"
		}
	}
	f.mu.Unlock()
	return f.PeerMap(ctx, c), nil
}

func (f *fakeCluster) RecoverAll(context.Context) ([]cid.Cid, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.recovered), nil
}

func (f *fakeCluster) Metrics(name string) []health.Metric {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.metrics[name]
}

func (f *fakeCluster) MetricNames() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var names []string
	for n := range f.metrics {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func (f *fakeCluster) Alerts() []health.Alert {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.alerts)
}

func (f *fakeCluster) PeerID() string { return f.peers[0].ID }

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
		cfg.Now = func() time.Time { return fc.now }
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
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
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

// RepoGC answers as if every peer removed one block and one failed.
func (f *fakeCluster) RepoGC(context.Context) map[string]types.RepoGC {
	out := map[string]types.RepoGC{}
	for _, p := range f.peers {
		mh, _ := multihash.Sum([]byte("garbage of "+p.ID), multihash.SHA2_256, -1)
		removed := cid.NewCidV1(cid.Raw, mh).String()
		out[p.ID] = types.RepoGC{Peer: p.ID, Peername: p.Peername, Keys: []types.RepoGCKey{{Key: &removed}, {Error: "block in use"}}}
	}
	return out
}
