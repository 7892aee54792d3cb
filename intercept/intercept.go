// Package intercept answers the Kubo RPC calls that change or list pins, so
// that they act on the cluster pinset instead of one node's pinner: pin
// add/rm/ls/update, and the pins that add, block/put, dag/put and dag/import
// would otherwise make on the upstream node alone.
//
// Kubo's own behaviour is the specification (argument forms, framing, error
// texts), because a client must not be able to tell the proxy from Kubo. The
// few places where Flotilla cannot match Kubo are listed in doc.go.
package intercept

import (
	"context"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/internal/forward"
	"github.com/flotilla-ipfs/flotilla/internal/version"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// Cluster is what intercept needs from the cluster peer. The daemon passes
// *cluster.Node, and its wiring checks that at compile time.
type Cluster interface {
	// Pin commits p. Zero ReplicationFactorMin/Max mean the configured defaults;
	// the cluster fills Allocations and Timestamp. Returns the committed pin.
	Pin(ctx context.Context, p storage.Pin) (storage.Pin, error)
	// Protect keeps uploaded roots on this peer's IPFS node until an
	// allocated peer holds them: called before their pins are committed,
	// so that no GC collects the only copy meanwhile. Best effort.
	Protect(ctx context.Context, cids []cid.Cid)
	// WaitPinned returns once c is pinned on at least one allocated peer, calling
	// progress (if non-nil) as the fetch advances.
	WaitPinned(ctx context.Context, c cid.Cid, progress func(nodes, bytes uint64)) error
	// Unpin removes c from the pinset, or returns storage.ErrNotFound.
	Unpin(ctx context.Context, c cid.Cid) (storage.Pin, error)
	// WaitUnpinned returns once this peer's IPFS node no longer holds was,
	// the pin that Unpin removed (at once if it was not allocated here),
	// or with the error of a failed unpin.
	WaitUnpinned(ctx context.Context, was storage.Pin) error
	// Get returns c's pin, or storage.ErrNotFound.
	Get(ctx context.Context, c cid.Cid) (storage.Pin, error)
	// List streams the pinset, which may not fit in memory.
	List(ctx context.Context, fn func(storage.Pin) error) error
	// Held tells, for each of cids (pins of the pinset), whether the IPFS
	// node of at least one peer holds it: pin/ls answers this way to a
	// caller that sends ipfs.HeldHeader.
	Held(ctx context.Context, cids []cid.Cid) ([]bool, error)
	// ListHeld is List restricted to the pins some peer records as pinned.
	ListHeld(ctx context.Context, fn func(storage.Pin) error) error
	// RepoStat sums the repos of the cluster's IPFS nodes: ipfs-cluster answers
	// repo/stat this way, so that tools see the cluster's capacity.
	RepoStat(ctx context.Context) (types.RepoStat, error)
}

// Resolver is what intercept asks of the upstream IPFS node. The daemon
// passes its *ipfs.Client, and its wiring checks that at compile time.
type Resolver interface {
	// Resolve turns a Kubo path argument that is not a bare CID into a CID.
	Resolve(ctx context.Context, path string) (cid.Cid, error)
	// PinLs streams the node's pins of typ ("indirect": the CIDs under its
	// recursive pins). The cluster tracks roots only, so pin ls takes
	// indirect pins from the node.
	PinLs(ctx context.Context, typ string, fn func(c cid.Cid, typ string) error) error
	// IndirectRoot tells whether c is pinned indirectly on the node, and if
	// so Kubo's "indirect through <root>" type for it.
	IndirectRoot(ctx context.Context, c cid.Cid) (typ string, ok bool, err error)
}

// Options configures the handlers.
type Options struct {
	Upstream   *url.URL          // base URL of the upstream IPFS RPC API (http://127.0.0.1:5001)
	Transport  http.RoundTripper // used for upstream requests
	WaitPinned bool              // proxy.pin_wait: true = "pinned" (default), false = "committed"
	// ReadOnly refuses the imports that would pin before they reach the
	// upstream: a read-only follower pins nothing of its own. Its Cluster
	// refuses pin add, rm and update.
	ReadOnly bool
	Log      zerolog.Logger
}

// fallbackServer is the Server header of intercepted answers until an
// upstream answer has shown the real one. Kubo always sends Server; our own
// name and version are better than inventing a Kubo version.
func fallbackServer() string { return "flotilla/" + version.Version }

// progressInterval is Kubo's pin add progress tick.
const progressInterval = 500 * time.Millisecond

// Handlers serves the intercepted commands. Its ServeHTTP routes by command.
type Handlers struct {
	cluster  Cluster
	resolver Resolver
	opts     Options
	log      zerolog.Logger
	fwd      *httputil.ReverseProxy
	server   atomic.Pointer[string]
	// tick is the progress interval; tests shorten it.
	tick time.Duration
}

// New builds the handlers. A nil Transport means a fresh transport with
// compression off, since Kubo never compresses and bodies must pass byte-exact.
func New(c Cluster, r Resolver, o Options) *Handlers {
	h := &Handlers{cluster: c, resolver: r, opts: o, log: o.Log, tick: progressInterval}
	if h.opts.Transport == nil {
		h.opts.Transport = forward.NewTransport()
	}
	h.fwd = forward.New(h.opts.Upstream, h.opts.Transport, WriteError, h.log)
	return h
}

// ObserveUpstream records the upstream's Server header so that intercepted
// answers carry the same one as forwarded answers. The proxy calls it for
// every forwarded response; the cost is one atomic load when nothing changed.
func (h *Handlers) ObserveUpstream(hdr http.Header) {
	s := hdr.Get("Server")
	if s == "" {
		return
	}
	if cur := h.server.Load(); cur != nil && *cur == s {
		return
	}
	h.server.Store(&s)
}

func (h *Handlers) serverHeader() string {
	if s := h.server.Load(); s != nil {
		return *s
	}
	return fallbackServer()
}

// apiPrefix is Kubo's APIPath plus the slash its mux requires.
const apiPrefix = "/api/v0/"

// route splits an API path into an intercepted command and the optional
// trailing path argument (/api/v0/pin/ls/<cid>). ok is false for every path
// that must be forwarded instead.
func route(urlPath string) (cmd string, pathArg *string, ok bool) {
	rest, found := strings.CutPrefix(urlPath, apiPrefix)
	if !found {
		return "", nil, false
	}
	if _, ok := commands[rest]; ok {
		return rest, nil, true
	}
	i := strings.LastIndexByte(rest, '/')
	if i < 0 {
		return "", nil, false
	}
	if _, ok := commands[rest[:i]]; !ok {
		return "", nil, false
	}
	// Kubo makes a last segment that is not a subcommand the first argument.
	arg := rest[i+1:]
	return rest[:i], &arg, true
}

// Intercepts reports whether the request path (r.URL.Path) is one that the
// handlers take over; every other path is the proxy's to forward.
func Intercepts(urlPath string) bool {
	_, _, ok := route(urlPath)
	return ok
}

// ServeHTTP answers one intercepted command. Callers route with Intercepts;
// anything else gets Kubo's 404.
func (h *Handlers) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, pathArg, ok := route(r.URL.Path)
	if !ok {
		http.Error(w, "404 page not found", http.StatusNotFound)
		return
	}
	commands[name].serve(h, w, r, pathArg)
}
