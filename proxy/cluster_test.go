package proxy

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/intercept"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// memCluster is an in-memory cluster pinset for end-to-end proxy tests.
type memCluster struct {
	mu    sync.Mutex
	pins  map[cid.Cid]storage.Pin
	order []cid.Cid
}

func newMemCluster() *memCluster { return &memCluster{pins: map[cid.Cid]storage.Pin{}} }

func (m *memCluster) Pin(_ context.Context, p storage.Pin) (storage.Pin, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.pins[p.Cid]; !ok {
		m.order = append(m.order, p.Cid)
	}
	m.pins[p.Cid] = p
	return p, nil
}

func (m *memCluster) WaitPinned(ctx context.Context, c cid.Cid, progress func(nodes, bytes uint64)) error {
	if progress != nil {
		progress(1, 10)
	}
	return ctx.Err()
}

func (m *memCluster) Unpin(_ context.Context, c cid.Cid) (storage.Pin, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.pins[c]
	if !ok {
		return storage.Pin{}, storage.ErrNotFound
	}
	delete(m.pins, c)
	m.order = slices.DeleteFunc(m.order, func(x cid.Cid) bool { return x == c })
	return p, nil
}

func (m *memCluster) Get(_ context.Context, c cid.Cid) (storage.Pin, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.pins[c]
	if !ok {
		return storage.Pin{}, storage.ErrNotFound
	}
	return p, nil
}

func (m *memCluster) List(_ context.Context, fn func(storage.Pin) error) error {
	m.mu.Lock()
	pins := make([]storage.Pin, 0, len(m.order))
	for _, c := range m.order {
		pins = append(pins, m.pins[c])
	}
	m.mu.Unlock()
	for _, p := range pins {
		if err := fn(p); err != nil {
			return err
		}
	}
	return nil
}

// RepoStat reports an empty cluster: no proxy test asks for repo/stat.
func (m *memCluster) RepoStat(context.Context) (types.RepoStat, error) { return types.RepoStat{}, nil }

func (m *memCluster) get(c cid.Cid) (storage.Pin, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.pins[c]
	return p, ok
}

// noResolver fails every resolution; tests use bare CIDs and /ipfs/ paths.
type noResolver struct{}

func (noResolver) Resolve(_ context.Context, p string) (cid.Cid, error) {
	return cid.Undef, &url.Error{Op: "resolve", URL: p, Err: context.Canceled}
}

func (noResolver) PinLs(context.Context, string, func(cid.Cid, string) error) error { return nil }

func (noResolver) IndirectRoot(context.Context, cid.Cid) (string, bool, error) { return "", false, nil }

// notObserving serves the intercepted calls with a plain handler, for tests
// that need not the real intercept handlers, and ignores the upstream.
type notObserving struct{ http.Handler }

func (notObserving) ObserveUpstream(http.Header) {}

// wiredHandlers builds the real intercept handlers over m, as the daemon
// wires them.
func wiredHandlers(t *testing.T, upstream string, m *memCluster) *intercept.Handlers {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	return intercept.New(m, noResolver{}, intercept.Options{Upstream: u, WaitPinned: true, Log: zerolog.Nop()})
}
