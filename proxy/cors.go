package proxy

import (
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/flotilla-ipfs/flotilla/internal/httpguard"
)

// companionOrigins are the ipfs-companion extensions Kubo always allows.
var companionOrigins = []string{
	"chrome-extension://nibjojkomfdiaoajekhjakgkdhaomnch",
	"chrome-extension://hjoieblefckbooibpepigmacodalfndh",
}

// preflightHeaders are the request headers Kubo's CORS layer accepts.
var preflightHeaders = []string{"origin", "accept", "content-type", "x-requested-with"}

// corsPolicy is Kubo's browser policy, owned by the proxy because the proxy
// holds the browser-facing origin: the upstream node would refuse the
// proxy's origin, so requests are checked here and forwarded without
// Origin and Referer. Its guard keeps pages off every other path too, and
// on loopback refuses a foreign Host (DNS rebinding).
type corsPolicy struct {
	origins  httpguard.Origins
	guard    *httpguard.Guard
	allowAll bool
}

// newCORSPolicy adds Kubo's always-allowed origins for the proxy's own port
// to the configured ones. hosts are the Host names a loopback proxy
// answers to besides loopback ones.
func newCORSPolicy(configured, hosts []string, listenAddr string) *corsPolicy {
	origins := slices.Clone(configured)
	if _, port, err := net.SplitHostPort(listenAddr); err == nil && port != "" {
		for _, scheme := range []string{"http", "https"} {
			for _, host := range []string{"127.0.0.1", "[::1]", "localhost"} {
				origins = append(origins, scheme+"://"+host+":"+port)
			}
		}
	}
	origins = append(origins, companionOrigins...)
	return &corsPolicy{
		origins:  httpguard.NewOrigins(origins),
		guard:    httpguard.New(httpguard.Config{Origins: origins, Hosts: hosts, ListenAddr: listenAddr, ReadsChangeState: true}),
		allowAll: slices.Contains(configured, "*"),
	}
}

// checkBrowser is the guard a request meets before anything else. On
// /api/v0/ it is the Host check alone: Kubo checks the origins after its
// method check (allowRequest). Every other path is forwarded to Kubo, whose
// /debug/ endpoints change its profiling on a POST, start a profile on a
// GET and show its goroutines, so there the whole guard applies, GETs
// included.
func (c *corsPolicy) checkBrowser(r *http.Request, api bool) error {
	if api {
		return c.guard.CheckHost(r)
	}
	return c.guard.Check(r)
}

func (c *corsPolicy) originAllowed(origin string) bool { return c.origins.Allowed(origin) }

// allowRequest is go-ipfs-cmds' CSRF check, shared with the admin and
// pinning-service APIs (httpguard.Origins.Check). The proxy calls it for
// POSTs only: Kubo answers every other method 405 first.
func (c *corsPolicy) allowRequest(r *http.Request) error { return c.origins.Check(r) }

// actualHeaders adds rs/cors' headers to a non-preflight request's answer.
func (c *corsPolicy) actualHeaders(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if origin == "" || !c.originAllowed(origin) || (r.Method != http.MethodPost && r.Method != http.MethodOptions) {
		return
	}
	h.Set("Access-Control-Allow-Origin", c.allowOriginValue(origin))
}

func (c *corsPolicy) allowOriginValue(origin string) string {
	if c.allowAll {
		return "*"
	}
	return origin
}

// preflight answers an OPTIONS carrying Access-Control-Request-Method as
// rs/cors does for Kubo: always 204, with the allow headers only when
// origin, method (POST) and requested headers are acceptable.
func (c *corsPolicy) preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Add("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
	origin := r.Header.Get("Origin")
	method := strings.ToUpper(r.Header.Get("Access-Control-Request-Method"))
	reqHeaders, hasHeaders := r.Header["Access-Control-Request-Headers"]
	ok := origin != "" && c.originAllowed(origin) &&
		(method == http.MethodPost || method == http.MethodOptions) &&
		(!hasHeaders || headersAllowed(reqHeaders))
	if ok {
		h.Set("Access-Control-Allow-Origin", c.allowOriginValue(origin))
		h.Set("Access-Control-Allow-Methods", r.Header.Get("Access-Control-Request-Method"))
		if hasHeaders && reqHeaders[0] != "" {
			h["Access-Control-Allow-Headers"] = reqHeaders
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func headersAllowed(values []string) bool {
	for _, v := range values {
		for _, name := range strings.Split(v, ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			if name != "" && !slices.Contains(preflightHeaders, name) {
				return false
			}
		}
	}
	return true
}

// stripBrowserContext removes what would make the upstream refuse a
// request the proxy has already accepted: Origin and Referer (the upstream
// does not allow the proxy's origin), and then a browser User-Agent, which
// Kubo refuses when it comes without Origin or Referer.
func stripBrowserContext(r *http.Request) {
	r.Header.Del("Origin")
	r.Header.Del("Referer")
	if httpguard.IsBrowserUA(r.Header.Get("User-Agent")) {
		// An empty value makes Go's transport send no User-Agent at all,
		// rather than inventing one.
		r.Header.Set("User-Agent", "")
	}
}
