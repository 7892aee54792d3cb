package proxy

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/intercept"
	"github.com/flotilla-ipfs/flotilla/internal/fakecluster"
)

// newMemCluster is the in-memory cluster of the end-to-end proxy tests. It
// lists pins in the order they were pinned, and a wait for a pin reports
// one step of progress before it returns.
func newMemCluster() *fakecluster.Cluster {
	m := fakecluster.New()
	m.ListInInsertionOrder()
	m.OnWait(func(ctx context.Context, _ cid.Cid, progress func(nodes, bytes uint64)) error {
		if progress != nil {
			progress(1, 10)
		}
		return ctx.Err()
	})
	return m
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
func wiredHandlers(t *testing.T, upstream string, m *fakecluster.Cluster) *intercept.Handlers {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	return intercept.New(m, noResolver{}, intercept.Options{Upstream: u, WaitPinned: true, Log: zerolog.Nop()})
}
