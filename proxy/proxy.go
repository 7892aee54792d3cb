// Package proxy is Flotilla's IPFS RPC listener: a drop-in for Kubo's API
// port. It applies Kubo's request pipeline (method check, Origin/Referer/
// User-Agent check, CORS), hands the pin-changing commands to the intercept
// handlers, and forwards everything else to the upstream node, streaming in
// both directions, byte-exact, with trailers kept.
package proxy

import (
	"context"
	"errors"
	stdlog "log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/intercept"
	"github.com/flotilla-ipfs/flotilla/internal/forward"
	"github.com/flotilla-ipfs/flotilla/internal/httpguard"
	"github.com/flotilla-ipfs/flotilla/internal/slowclient"
)

// Config configures the proxy listener.
type Config struct {
	Upstream       *url.URL
	AllowedOrigins []string // besides Kubo's always-allowed http(s)://127.0.0.1:<own port>, [::1], localhost
	// AllowedHosts are the Host names (with or without a port) a proxy on
	// loopback answers to besides loopback ones; "*" turns the check off.
	AllowedHosts []string
	ListenAddr   string // used to compute the own-port origins
	// Authorizations, when set, require Kubo-style Authorization headers
	// (see Authorization), so that the proxy can listen beyond loopback.
	Authorizations map[string]Authorization
	// Observe, when set, is told of every request: the Kubo command (no
	// path argument), the status code and the duration.
	Observe func(route string, code int, d time.Duration)
	// Limits bound a slow client; nil means slowclient.Defaults.
	Limits *slowclient.Limits
	// Refused, when set, is told of each connection turned away at the
	// limit.
	Refused func()
	// RefusedRequest, when set, is told of each request refused by the
	// browser guard or for want of a valid Authorization, with the reason
	// (httpguard.RefusedBrowser, RefusedCredentials): their log is sampled.
	RefusedRequest func(reason string)
	// TooSlow answers a request whose body came too slowly; nil answers
	// with Kubo's error (intercept.WriteError).
	TooSlow slowclient.TooSlow
	Log     zerolog.Logger
}

// Server limits. There is deliberately no overall read or write timeout:
// a pin add or an upload can rightly take hours. A client that stops
// sending its body, or taking the answer, is cut after Config.Limits'
// Idle, or Send.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 60 * time.Second
	maxHeaderBytes    = 1 << 20
)

// Intercepted is what the proxy needs from the handler of the calls that
// intercept.Intercepts accepts. The daemon passes *intercept.Handlers, and
// its wiring checks that at compile time.
type Intercepted interface {
	// ServeHTTP answers one intercepted call.
	ServeHTTP(w http.ResponseWriter, r *http.Request)
	// ObserveUpstream is shown the headers of every forwarded answer, so that
	// intercepted answers carry the upstream's Server header as forwarded
	// ones do.
	ObserveUpstream(http.Header)
}

// Proxy is the listener's handler and server.
type Proxy struct {
	cfg         Config
	log         zerolog.Logger
	refusals    zerolog.Logger // refused requests, sampled
	intercepted Intercepted
	fwd         *httputil.ReverseProxy
	upstream    *forward.Direct
	cors        atomic.Pointer[corsPolicy]
	auth        *authorizer
	srv         *http.Server
	limits      slowclient.Limits
}

// kuboRefusal turns away the connections beyond the limit, in Kubo's error
// shape.
var kuboRefusal = slowclient.Refusal("application/json",
	intercept.KuboErrorJSON("too many connections to this Flotilla proxy: try again later"))

// New builds the proxy. intercepted serves the paths intercept.Intercepts
// accepts.
func New(cfg Config, intercepted Intercepted) (*Proxy, error) {
	if cfg.Upstream == nil || cfg.Upstream.Host == "" {
		return nil, errors.New("proxy: an upstream URL with a host is required")
	}
	if intercepted == nil {
		return nil, errors.New("proxy: the intercept handler is required")
	}
	if cfg.RefusedRequest == nil {
		cfg.RefusedRequest = func(string) {}
	}
	p := &Proxy{cfg: cfg, log: cfg.Log, refusals: httpguard.RefusalLog(cfg.Log), intercepted: intercepted,
		auth: newAuthorizer(cfg.Authorizations)}
	p.cors.Store(newCORSPolicy(cfg.AllowedOrigins, cfg.AllowedHosts, cfg.ListenAddr))
	p.upstream = forward.NewDirect(forward.NewTransport())
	p.fwd = forward.New(cfg.Upstream, p.upstream, intercept.WriteError, cfg.Log)
	p.fwd.ModifyResponse = func(res *http.Response) error {
		intercepted.ObserveUpstream(res.Header)
		return nil
	}
	p.limits = slowclient.Defaults
	if cfg.Limits != nil {
		p.limits = *cfg.Limits
	}
	tooSlow := cfg.TooSlow
	if tooSlow == nil {
		tooSlow = intercept.WriteError
	}
	p.srv = &http.Server{
		// Every body streams: most go on to Kubo (add, dag/import).
		Handler:           slowclient.Handler(p, p.limits, func(*http.Request) bool { return true }, tooSlow),
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          stdlog.New(cfg.Log.With().Str("component", "proxy-http").Logger(), "", 0),
	}
	return p, nil
}

// Handler returns the proxy's HTTP handler, for tests and embedding.
func (p *Proxy) Handler() http.Handler { return p }

// Serve serves on l until Shutdown, after which it returns nil. Without a
// configured ListenAddr, the own-port origins come from l.
func (p *Proxy) Serve(l net.Listener) error {
	if p.cfg.ListenAddr == "" {
		p.cors.Store(newCORSPolicy(p.cfg.AllowedOrigins, p.cfg.AllowedHosts, l.Addr().String()))
	}
	err := p.srv.Serve(slowclient.Listener(l, p.limits.MaxConns, kuboRefusal, p.cfg.Refused))
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting and waits for in-flight requests until ctx ends.
func (p *Proxy) Shutdown(ctx context.Context) error {
	err := p.srv.Shutdown(ctx)
	p.upstream.CloseIdleConnections()
	return err
}

// apiPrefix is where Kubo's command handler lives; other paths on its API
// port (web UI, gateway paths) are forwarded untouched.
const apiPrefix = "/api/v0/"

// ServeHTTP runs the browser guard and the authorizations, then Kubo's
// pipeline: CORS preflight, method, CSRF check, then intercept or forward.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	// The CLI leaks its --api-auth secret into the query; it must reach
	// neither the upstream nor the log.
	r.URL.RawQuery = stripQueryKey(r.URL.RawQuery, "api-auth")
	defer func() {
		d := time.Since(start)
		// Argument values can be secrets (pin remote service add's token,
		// config's value): the log names the options, not what they hold.
		p.log.Debug().Str("method", r.Method).Str("path", r.URL.Path).
			Func(func(e *zerolog.Event) { e.Strs("options", optionNames(r.URL.RawQuery)) }).
			Int("status", sw.finalStatus()).Dur("duration", d).Msg("proxy request")
		if p.cfg.Observe != nil {
			p.cfg.Observe(commandName(r.URL.Path), sw.finalStatus(), d)
		}
	}()

	cors := p.cors.Load()
	api := strings.HasPrefix(r.URL.Path, apiPrefix)
	if err := cors.checkBrowser(r, api); err != nil {
		p.refuse(sw, r, err)
		return
	}
	// The proxy answers an OPTIONS of /api/v0/ itself, and a CORS preflight
	// never carries credentials; every other request may reach Kubo.
	if p.auth != nil && (!api || r.Method != http.MethodOptions) {
		if !p.auth.allow(r) {
			p.cfg.RefusedRequest(httpguard.RefusedCredentials)
			p.refusals.Warn().Str("path", r.URL.Path).Msg("refused: no valid Authorization")
			http.Error(sw, accessDenied, http.StatusForbidden)
			return
		}
		// The secret was the proxy's to check; it does not travel on.
		r.Header.Del("Authorization")
	}
	if !api {
		p.forward(sw, r)
		return
	}
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		cors.preflight(sw, r)
		return
	}
	cors.actualHeaders(sw, r)
	switch r.Method {
	case http.MethodPost:
	case http.MethodOptions:
		sw.Header().Set("Allow", "OPTIONS, POST")
		sw.WriteHeader(http.StatusNoContent)
		return
	default:
		sw.Header().Set("Allow", "OPTIONS, POST")
		http.Error(sw, "405 - Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := cors.allowRequest(r); err != nil {
		p.refuse(sw, r, err)
		return
	}
	stripBrowserContext(r)
	if intercept.Intercepts(r.URL.Path) {
		p.intercepted.ServeHTTP(sw, r)
		return
	}
	p.forward(sw, r)
}

// refuse answers a request the browser guard turned away as Kubo answers
// its own CSRF refusals, and logs why for the operator.
func (p *Proxy) refuse(w http.ResponseWriter, r *http.Request, why error) {
	p.cfg.RefusedRequest(httpguard.RefusedBrowser)
	p.refusals.Warn().Str("path", r.URL.Path).Str("host", r.Host).Str("origin", r.Header.Get("Origin")).
		Str("reason", why.Error()).Msg("blocked request (possible CSRF or DNS rebinding)")
	http.Error(w, "403 - Forbidden", http.StatusForbidden)
}

func (p *Proxy) forward(w http.ResponseWriter, r *http.Request) {
	w, r, done := forward.Prepare(w, r)
	defer done()
	p.fwd.ServeHTTP(w, r)
}

// stripQueryKey removes every pair whose key is key, leaving the rest of
// the raw query byte for byte.
func stripQueryKey(raw, key string) string {
	// Nearly every query has neither the key nor an escape that could
	// spell it: it is kept as it is, without splitting it.
	if !strings.Contains(raw, key) && !strings.Contains(raw, "%") {
		return raw
	}
	var kept []string
	for pair := range strings.SplitSeq(raw, "&") {
		k, _, _ := strings.Cut(pair, "=")
		if uk, err := url.QueryUnescape(k); err == nil && uk == key {
			continue
		}
		kept = append(kept, pair)
	}
	return strings.Join(kept, "&")
}

// optionNames are the distinct keys of a raw query, in their first order.
func optionNames(raw string) []string {
	names := []string{}
	for pair := range strings.SplitSeq(raw, "&") {
		k, _, _ := strings.Cut(pair, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if k != "" && !slices.Contains(names, k) {
			names = append(names, k)
		}
	}
	return names
}

// commandName is the Kubo command a path names, without the optional path
// argument that may follow it, so that metric labels stay bounded: command
// segments are short words of lowercase letters and dashes, and the first
// segment that is not one (a CID, a name) ends the command.
func commandName(path string) string {
	rest, ok := strings.CutPrefix(path, apiPrefix)
	if !ok {
		return "other"
	}
	// The command is a prefix of the path: it is returned as a slice of it,
	// so that counting a request allocates nothing.
	end, segments := 0, 0
	for segments < 4 && end < len(rest) {
		start := end
		if segments > 0 {
			start++ // past the slash that ended the last segment
		}
		seg, _, _ := strings.Cut(rest[start:], "/")
		if seg == "" || len(seg) > 20 || strings.TrimLeft(seg, "abcdefghijklmnopqrstuvwxyz-") != "" {
			break
		}
		end = start + len(seg)
		segments++
	}
	if segments == 0 {
		return "other"
	}
	return path[:len(apiPrefix)+end]
}
