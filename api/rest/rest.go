package rest

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/ipfs/go-cid"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/health"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// Cluster is what the admin API needs from the peer. *cluster.Node has it.
type Cluster interface {
	Pin(ctx context.Context, p storage.Pin) (storage.Pin, error)
	Unpin(ctx context.Context, c cid.Cid) (storage.Pin, error)
	Get(ctx context.Context, c cid.Cid) (storage.Pin, error)
	List(ctx context.Context, fn func(storage.Pin) error) error
	PeerMap(ctx context.Context, c cid.Cid) map[string]types.PinStatus
	LocalStatus(c cid.Cid) types.PinStatus
	ID(ctx context.Context) types.ID
	Peers(ctx context.Context) []types.ID
	RemovePeer(ctx context.Context, id string) error
	Recover(ctx context.Context, c cid.Cid) (map[string]types.PinStatus, error)
	RecoverAll(ctx context.Context) ([]cid.Cid, error)
	Metrics(name string) []health.Metric
	MetricNames() []string
	Alerts() []health.Alert
	PeerID() string
}

// Resolver turns an IPFS path (/ipfs/<cid>/a/b, /ipns/name, /ipld/...) into
// the CID it points to. The daemon passes its upstream IPFS client.
type Resolver interface {
	Resolve(ctx context.Context, path string) (cid.Cid, error)
}

// Readiness reports nil when the peer can serve requests.
type Readiness func() error

// DefaultMaxBodyBytes bounds request bodies on every route but /add. No
// route of this API takes more than a small JSON object.
const DefaultMaxBodyBytes = 1 << 20

// Config is everything the API takes besides the cluster.
type Config struct {
	Ready Readiness
	Log   zerolog.Logger
	Auth  AuthConfig
	CORS  CORSConfig
	// Resolver serves the /pins/{ipfs,ipns,ipld}/... routes. Without it
	// only bare /ipfs/<cid> paths work.
	Resolver Resolver
	// UpstreamURL is the IPFS RPC API /add forwards to (without /api/v0),
	// and Transport the round tripper to reach it. Without an upstream,
	// /add answers 501.
	UpstreamURL *url.URL
	Transport   http.RoundTripper
	// MaxBodyBytes bounds request bodies (DefaultMaxBodyBytes when 0).
	MaxBodyBytes int64
	// Now is the clock for token expiry and expire-in; time.Now when nil.
	Now func() time.Time
	// Metrics, when set, is served at GET /metrics, behind the same auth.
	Metrics http.Handler
	// Observe, when set, is told of every request: its method and route
	// pattern, status code and duration.
	Observe func(route string, code int, d time.Duration)
}

// API is the admin REST API handler.
type API struct {
	cluster Cluster
	cfg     Config
	log     zerolog.Logger
	handler http.Handler
}

// New builds the API with neither auth nor CORS, as the first daemon
// wiring expects. NewWithConfig takes the full configuration.
func New(c Cluster, ready Readiness, log zerolog.Logger) *API {
	return NewWithConfig(c, Config{Ready: ready, Log: log})
}

// NewWithConfig builds the API's routes and its middleware: auth first
// (as ipfs-cluster orders it), then CORS, then body limits.
func NewWithConfig(c Cluster, cfg Config) *API {
	if cfg.Ready == nil {
		cfg.Ready = func() error { return nil }
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport
	}
	a := &API{cluster: c, cfg: cfg, log: cfg.Log}
	r := chi.NewRouter()
	if cfg.Observe != nil {
		r.Use(a.observe)
	}
	// ipfs-cluster redirects a trailing slash with a 307; routing both
	// spares clients that do not follow redirects on POST a round trip.
	r.Use(middleware.StripSlashes, a.limitBody)
	r.NotFound(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, errors.New("not found"))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, errors.New("method not allowed"))
	})
	a.routes(r)
	auth := newAuthenticator(cfg.Auth, cfg.Now)
	a.handler = auth.middleware(newCORS(cfg.CORS, r))
	return a
}

func (a *API) routes(r chi.Router) {
	r.Get("/health", a.health)
	r.Get("/id", a.id)
	r.Get("/version", a.version)
	r.Get("/peers", a.peers)
	r.Post("/peers", a.peerAdd)
	r.Delete("/peers/{peer}", a.peerRemove)
	r.Post("/add", a.add)
	r.Get("/allocations", a.allocations)
	r.Get("/allocations/{cid}", a.allocation)
	r.Get("/pins", a.statusAll)
	r.Post("/pins/recover", a.recoverAll)
	for _, ns := range []string{"ipfs", "ipns", "ipld"} {
		r.Post("/pins/"+ns+"/*", a.pinPath)
		r.Delete("/pins/"+ns+"/*", a.unpinPath)
	}
	r.Get("/pins/{cid}", a.status)
	r.Post("/pins/{cid}", a.pin)
	r.Delete("/pins/{cid}", a.unpin)
	r.Post("/pins/{cid}/recover", a.recover)
	r.Post("/ipfs/gc", a.repoGC)
	r.Get("/health/alerts", a.alerts)
	r.Get("/health/graph", a.graph)
	r.Get("/health/bandwidth", a.bandwidth)
	r.Get("/monitor/metrics", a.metricNames)
	r.Get("/monitor/metrics/{name}", a.metrics)
	r.Post("/token", a.token)
	if a.cfg.Metrics != nil {
		r.Method(http.MethodGet, "/metrics", a.cfg.Metrics)
	}
}

// observe reports each request with its route pattern, which chi fills in
// while routing, so that CIDs never become metric labels.
func (a *API) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		code := ww.Status()
		if code == 0 {
			code = http.StatusOK
		}
		a.cfg.Observe(r.Method+" "+route, code, time.Since(start))
	})
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

// limitBody caps every body but /add's, which streams to the IPFS node.
func (a *API) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.TrimSuffix(r.URL.Path, "/") != "/add" && r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}

func (a *API) health(w http.ResponseWriter, _ *http.Request) {
	if err := a.cfg.Ready(); err != nil {
		writeError(w, http.StatusServiceUnavailable, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func parseCid(w http.ResponseWriter, s string) (cid.Cid, bool) {
	c, err := cid.Decode(s)
	if err != nil {
		writeError(w, http.StatusBadRequest, errors.New("error decoding Cid: "+err.Error()))
		return cid.Undef, false
	}
	return c, true
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
