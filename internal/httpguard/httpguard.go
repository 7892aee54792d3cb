// Package httpguard keeps web pages away from the HTTP listeners that were
// not written for them. It refuses, before any handler runs:
//
//   - a request a browser sent for a page whose origin is not allowed
//     (cross-site request forgery): an Origin or a Referer that is not on
//     the list, or a state-changing request from a browser that named
//     neither (go-ipfs-cmds' check, which Kubo's API applies) or that the
//     browser itself marked as sent from another site (Sec-Fetch-Site: a
//     page, or an extension that strips Origin, cannot forge it);
//   - on a listener bound to loopback, a request whose Host is neither a
//     loopback name nor one the operator allowed (DNS rebinding: a page
//     whose name was made to resolve to 127.0.0.1 is same-origin with
//     itself, so a browser sends no Origin on its GETs, but it still sends
//     the page's name as Host).
//
// The admin API and the Pinning Service API use the whole Guard. The proxy
// uses it too, but on Kubo's /api/v0/ it checks the Host first and the
// origins after Kubo's method check, as Kubo orders them. The admin API, which
// serves a status page, also lets that page's own requests through
// (Config.SameOrigin).
package httpguard

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Refusal is why a request was refused. The APIs answer it with 403 in
// their own error shape.
type Refusal struct{ msg string }

func (e *Refusal) Error() string { return e.msg }

func refusal(format string, args ...any) error {
	return &Refusal{msg: fmt.Sprintf(format, args...)}
}

// Origins is an allow-list of browser origins, compared as Kubo compares
// them: exactly (scheme://host[:port]), with "*" allowing any.
type Origins struct {
	list []string
	any  bool
}

// NewOrigins allows the origins of list.
func NewOrigins(list []string) Origins {
	return Origins{list: slices.Clone(list), any: slices.Contains(list, "*")}
}

// Allowed reports whether origin is on the list.
func (o Origins) Allowed(origin string) bool { return o.any || slices.Contains(o.list, origin) }

// Check is go-ipfs-cmds' CSRF check: an Origin must be allowed, a
// Referer's scheme://host must be allowed, and a state-changing request
// with neither must not come from a browser (a User-Agent starting with
// Mozilla, Electron aside), which would be one too old to send Origin, nor
// be one that a browser marked as sent from another site (Sec-Fetch-Site
// cross-site or same-site; same-origin and none are a page's own and the
// user's). Clients that are not browsers send none of these and pass.
func (o Origins) Check(r *http.Request) error { return o.check(r, nil) }

// check is Check with more origins (scheme://host[:port]) allowed: those
// that also accepts, when not nil.
func (o Origins) check(r *http.Request, also func(origin string) bool) error {
	allowed := func(origin string) bool { return o.Allowed(origin) || also != nil && also(origin) }
	origin, referer := r.Header.Get("Origin"), r.Referer()
	if origin != "" && !allowed(origin) {
		return refusal("cross-site request refused: origin %q is not allowed", origin)
	}
	if referer != "" {
		u, err := url.Parse(referer)
		if err != nil {
			return refusal("cross-site request refused: the Referer is not a URL")
		}
		if from := u.Scheme + "://" + u.Host; !allowed(from) {
			return refusal("cross-site request refused: referer origin %q is not allowed", from)
		}
	}
	if origin == "" && referer == "" && changesState(r.Method) {
		if IsBrowserUA(r.Header.Get("User-Agent")) {
			return refusal("request refused: a browser sent it without Origin or Referer")
		}
		return checkFetchSite(r)
	}
	return nil
}

// checkFetchSite refuses a request that a browser marked as sent from
// another site. Only the browser sets Sec-Fetch-Site, so no page can
// forge it away.
func checkFetchSite(r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		return refusal("cross-site request refused: the browser marked it Sec-Fetch-Site: %s", site)
	}
	return nil
}

// IsBrowserUA is Kubo's test of a browser's User-Agent.
func IsBrowserUA(ua string) bool {
	return strings.HasPrefix(ua, "Mozilla") && !strings.Contains(ua, "Electron")
}

func changesState(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// Config says who may reach a listener.
type Config struct {
	// Origins are the browser origins allowed; "*" allows any.
	Origins []string
	// Hosts are the Host names (with or without a port) a loopback
	// listener answers to besides 127.0.0.1, ::1 and localhost; "*"
	// turns the Host check off.
	Hosts []string
	// ListenAddr is the address the listener is bound to: the Host check
	// is on when it is a loopback address. When empty, the local address
	// of each request's connection decides.
	ListenAddr string
	// SameOrigin also allows the listener's own pages: an Origin or
	// Referer whose host[:port] is the request's Host, when that Host
	// cannot be a name an attacker re-pointed (see sameOrigin).
	SameOrigin bool
	// ReadsChangeState is for listeners whose GETs have effects (Kubo's
	// /debug/pprof/profile starts a CPU profile): a GET or HEAD that a
	// browser marked as sent from another site, without an Origin or
	// Referer to check, is refused too, as a POST would be. The user's own
	// navigation (Sec-Fetch-Site: none) still passes.
	ReadsChangeState bool
}

// Guard refuses cross-site and DNS-rebinding requests.
type Guard struct {
	origins    Origins
	hosts      []string
	anyHost    bool
	listen     string
	sameOrigin bool
	reads      bool
}

// New makes the guard of cfg.
func New(cfg Config) *Guard {
	return &Guard{
		origins:    NewOrigins(cfg.Origins),
		hosts:      slices.Clone(cfg.Hosts),
		anyHost:    slices.Contains(cfg.Hosts, "*"),
		listen:     cfg.ListenAddr,
		sameOrigin: cfg.SameOrigin,
		reads:      cfg.ReadsChangeState,
	}
}

// Check returns a *Refusal when r must be refused, else nil.
func (g *Guard) Check(r *http.Request) error {
	if err := g.CheckHost(r); err != nil {
		return err
	}
	var also func(origin string) bool
	if g.sameOrigin {
		also = func(origin string) bool { return g.isSameOrigin(r, origin) }
	}
	if err := g.origins.check(r, also); err != nil {
		return err
	}
	if g.reads && r.Header.Get("Origin") == "" && r.Referer() == "" {
		return checkFetchSite(r)
	}
	return nil
}

// isSameOrigin reports whether origin is the page the request was sent to:
// its host[:port] is the request's Host. The scheme is not compared, since
// a reverse proxy that ends TLS forwards plain HTTP. A page on a name an
// attacker re-pointed at this listener is also "same origin" with it, so
// the Host must be one no attacker can choose: a loopback name, an IP
// address (a page's origin is a name when rebinding), or an allowed host.
// Hosts "*" does not count: it says nothing about which names are real.
func (g *Guard) isSameOrigin(r *http.Request, origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
		return false
	}
	return loopbackName(r.Host) || net.ParseIP(hostOnly(r.Host)) != nil || g.listedHost(r.Host)
}

// Handler runs next for the requests Check accepts, and answers the others
// with refuse, which writes the API's own 403.
func (g *Guard) Handler(next http.Handler, refuse func(http.ResponseWriter, *http.Request, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := g.Check(r); err != nil {
			refuse(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// CheckHost is Check's Host check alone, for a listener that must check
// the origins later (the proxy, after Kubo's method check). It applies only
// on loopback: a listener reachable from a network is reached by names and
// addresses that Flotilla cannot know (its DNS names, a load balancer's),
// and is protected there by its credentials, which a browser keeps for the
// origin they were given to and so never sends to a page on a rebound name.
func (g *Guard) CheckHost(r *http.Request) error {
	if g.anyHost || !g.onLoopback(r) || loopbackName(r.Host) || g.listedHost(r.Host) {
		return nil
	}
	return refusal("host %q is not allowed: this listener is on loopback and answers only to 127.0.0.1, [::1], "+
		"localhost and the configured allowed_hosts (a foreign name here is the mark of DNS rebinding)", r.Host)
}

// listedHost reports whether host is in Hosts, with its port or without.
func (g *Guard) listedHost(host string) bool {
	for _, h := range g.hosts {
		if strings.EqualFold(h, host) || strings.EqualFold(h, hostOnly(host)) {
			return true
		}
	}
	return false
}

func (g *Guard) onLoopback(r *http.Request) bool {
	if g.listen != "" {
		return loopbackName(g.listen)
	}
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		return loopbackName(a.String())
	}
	return false
}

// loopbackName reports whether hostport names loopback: localhost, or an
// address of 127.0.0.0/8 or ::1, with or without a port.
func loopbackName(hostport string) bool {
	h := hostOnly(hostport)
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// hostOnly drops the port and an IPv6 address's brackets.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
}

// The reasons a listener gives when it tells of a refused request
// (flotilla_http_refused_total's reason label).
const (
	// RefusedBrowser is a request the guard refused.
	RefusedBrowser = "browser"
	// RefusedCredentials is a request without valid credentials.
	RefusedCredentials = "credentials"
)

// RefusalLog is the logger of one listener's refusals. Any web page can
// make its visitors' browsers send refused requests by the thousand, so it
// keeps the first 10 lines of each second and drops the rest, as the
// cluster port does with its refused handshakes; the listener counts every
// refusal besides.
func RefusalLog(log zerolog.Logger) zerolog.Logger {
	return log.Sample(&zerolog.BurstSampler{Burst: 10, Period: time.Second})
}
