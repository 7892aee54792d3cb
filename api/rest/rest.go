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
	"github.com/flotilla-ipfs/flotilla/internal/httpguard"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// Cluster is what the admin API needs from the peer. The daemon passes
// *cluster.Node, and its wiring checks that at compile time.
type Cluster interface {
	// Pin commits p (zero replication = defaults); the cluster decides the
	// allocations and the timestamp and returns the committed pin.
	Pin(ctx context.Context, p storage.Pin) (storage.Pin, error)
	// Unpin removes c, or returns storage.ErrNotFound.
	Unpin(ctx context.Context, c cid.Cid) (storage.Pin, error)
	// Get returns c's pin, or storage.ErrNotFound.
	Get(ctx context.Context, c cid.Cid) (storage.Pin, error)
	// List streams the whole pinset, which may not fit in memory.
	List(ctx context.Context, fn func(storage.Pin) error) error
	// ListFrom is List from the first pin after the CID after (the start
	// when undefined). It returns the last CID fn accepted, where a listing
	// that fn stopped with an error resumes; nil means the end was reached.
	ListFrom(ctx context.Context, after cid.Cid, fn func(storage.Pin) error) (cid.Cid, error)
	// PinCount is the size of the pinset, without reading it.
	PinCount() (int, error)
	// PeerMap returns every peer's status of c, keyed by peer ID.
	PeerMap(ctx context.Context, c cid.Cid) map[string]types.PinStatus
	// CheckedPeerMaps is PeerMaps with each pinned status checked against
	// the peer's IPFS node, for the status of CIDs a caller names.
	CheckedPeerMaps(ctx context.Context, cids []cid.Cid) []map[string]types.PinStatus
	// CheckedLocalStatus is LocalStatus checked against the IPFS node.
	CheckedLocalStatus(ctx context.Context, c cid.Cid) types.PinStatus
	// PeerMaps is PeerMap for many CIDs with one round trip per peer; the
	// maps are in the order of cids.
	PeerMaps(ctx context.Context, cids []cid.Cid) []map[string]types.PinStatus
	// ListStatus streams the whole pinset in CID order, each pin with
	// every peer's status of it (this peer's alone when local); fn must
	// not keep pm.
	ListStatus(ctx context.Context, local bool, fn func(p storage.Pin, pm types.PeerMap) error) error
	// LocalStatus is this peer's own status of c, asking no other peer.
	LocalStatus(c cid.Cid) types.PinStatus
	// ID describes this peer as ipfs-cluster's /id does.
	ID(ctx context.Context) types.ID
	// Peers describes every member, with an Error for those not answering.
	Peers(ctx context.Context) []types.ID
	// RemovePeer removes a member, or returns types.ErrUnknownPeer.
	RemovePeer(ctx context.Context, id string) error
	// Recover retries c's failed pin or unpin on every peer that holds it
	// and returns the resulting peer map.
	Recover(ctx context.Context, c cid.Cid) (map[string]types.PinStatus, error)
	// RecoverAll retries every failed operation on every peer and tells fn
	// of each CID queued again, as it goes; an error from fn stops it.
	RecoverAll(ctx context.Context, fn func(cid.Cid) error) error
	// RepoGC collects garbage on every peer's IPFS node, keyed by peer ID.
	RepoGC(ctx context.Context) map[string]types.RepoGC
	// Metrics returns the latest metric called name for every peer.
	Metrics(name string) []health.Metric
	// MetricNames lists the metric names heard of.
	MetricNames() []string
	// Alerts returns the alerts raised (expired heartbeats), most recent first.
	Alerts() []health.Alert
	// PeerID is this peer's ID.
	PeerID() string
}

// Resolver turns an IPFS path (/ipfs/<cid>/a/b, /ipns/name, /ipld/...) into
// the CID it points to. The daemon passes its upstream *ipfs.Client, and its
// wiring checks that at compile time.
type Resolver interface {
	// Resolve returns the CID that path points to.
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
	// CORS.AllowedOrigins are also the only web pages the API answers: a
	// request a browser sends for any other origin gets 403.
	CORS CORSConfig
	// AllowedHosts are the Host names, besides loopback ones, that the API
	// answers to when it listens on loopback (api.allowed_hosts).
	AllowedHosts []string
	// ListenAddr is the address the API listens on; on loopback, the Host
	// check above is on. When empty, each connection's local address
	// decides.
	ListenAddr string
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
	// Profiles, when set, is served at /debug/pprof/ (and below), behind
	// the same guard and auth: Go's net/http/pprof, for api.pprof.
	Profiles http.Handler
	// Observe, when set, is told of every request: its method and route
	// pattern, status code and duration.
	Observe func(route string, code int, d time.Duration)
	// ReadOnly refuses /add before it reaches the IPFS node: the peer is a
	// read-only follower, whose Cluster refuses every other write.
	ReadOnly bool
	// Refused, when set, is told of every request refused by the browser
	// guard or for want of credentials, with the reason
	// (httpguard.RefusedBrowser, RefusedCredentials): their log is sampled.
	Refused func(reason string)
}

// API is the admin REST API handler.
type API struct {
	cluster Cluster
	cfg     Config
	log     zerolog.Logger
	// refusals logs refused browser requests, sampled.
	refusals zerolog.Logger
	handler  http.Handler
}

// New builds the API with neither auth nor CORS, as the first daemon
// wiring expects. NewWithConfig takes the full configuration.
func New(c Cluster, ready Readiness, log zerolog.Logger) *API {
	return NewWithConfig(c, Config{Ready: ready, Log: log})
}

// NewWithConfig builds the API's routes and its middleware: the browser
// guard first (foreign origins and, on loopback, foreign Host names), then
// auth (as ipfs-cluster orders it), then CORS, then body limits.
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
	if cfg.Refused == nil {
		cfg.Refused = func(string) {}
	}
	a := &API{cluster: c, cfg: cfg, log: cfg.Log, refusals: httpguard.RefusalLog(cfg.Log)}
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
	auth := newAuthenticator(cfg.Auth, cfg.Now, func() { cfg.Refused(httpguard.RefusedCredentials) })
	// SameOrigin: the status page at GET / calls the API from its own origin.
	// ReadsChangeState: a GET of /debug/pprof/profile starts a profile, and
	// no GET here is one another site's page has reason to send.
	guard := httpguard.New(httpguard.Config{Origins: cfg.CORS.AllowedOrigins, Hosts: cfg.AllowedHosts,
		ListenAddr: cfg.ListenAddr, SameOrigin: true, ReadsChangeState: true})
	a.handler = guard.Handler(auth.middleware(newCORS(cfg.CORS, r)), a.refuse)
	return a
}

func (a *API) routes(r chi.Router) {
	r.Get("/", a.index)
	r.Get("/ui/pins", a.pinPage)
	r.Get("/ui/{name}", a.asset)
	r.Get("/health", a.health)
	r.Head("/health", a.health)
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
	if a.cfg.Profiles != nil {
		r.Handle("/debug/pprof/*", a.cfg.Profiles)
		// StripSlashes took the index's trailing slash, which pprof's
		// index needs to list the profiles.
		r.Get("/debug/pprof", func(w http.ResponseWriter, req *http.Request) {
			req = req.Clone(req.Context())
			req.URL.Path = "/debug/pprof/"
			a.cfg.Profiles.ServeHTTP(w, req)
		})
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

// refuse answers a request the browser guard refused.
func (a *API) refuse(w http.ResponseWriter, r *http.Request, err error) {
	a.cfg.Refused(httpguard.RefusedBrowser)
	a.refusals.Warn().Str("method", r.Method).Str("path", r.URL.Path).Str("host", r.Host).
		Str("origin", r.Header.Get("Origin")).Err(err).Msg("refused a browser request")
	writeError(w, http.StatusForbidden, err)
}

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
