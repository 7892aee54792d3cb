package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/flotilla-ipfs/flotilla/api/pinsvc"
	"github.com/flotilla-ipfs/flotilla/api/rest"
	"github.com/flotilla-ipfs/flotilla/intercept"
	"github.com/flotilla-ipfs/flotilla/internal/config"
	"github.com/flotilla-ipfs/flotilla/internal/ipfs"
	"github.com/flotilla-ipfs/flotilla/internal/slowclient"
	"github.com/flotilla-ipfs/flotilla/proxy"
)

// The daemon's listeners and the HTTP plumbing around its servers.

// listen binds every listener before anything starts, so that a port in
// use stops the daemon with the key that names it, and nothing half-starts.
func (d *daemon) listen(addrs map[string]string) (map[string]net.Listener, error) {
	lns := map[string]net.Listener{}
	for key, addr := range addrs {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, d.badKey(key, err)
		}
		lns[key] = ln
	}
	return lns, nil
}

// adminTooSlow and pinsvcTooSlow answer a cut request in the error bodies
// of the admin API (ipfs-cluster's) and of the Pinning Service API.
var (
	adminTooSlow = jsonTooSlow(func(msg string) []byte {
		return rest.ErrorJSON(http.StatusRequestTimeout, msg)
	})
	pinsvcTooSlow = jsonTooSlow(func(msg string) []byte {
		return pinsvc.ErrorJSON("REQUEST_TIMEOUT", msg)
	})
)

// jsonTooSlow answers a request whose body was cut with 408 and the body
// that errorJSON makes of the message: the API's own error body.
func jsonTooSlow(errorJSON func(msg string) []byte) slowclient.TooSlow {
	return func(w http.ResponseWriter, _ *http.Request, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusRequestTimeout)
		_, _ = w.Write(errorJSON(msg))
	}
}

// counted counts each request of listener whose body came too slowly in
// flotilla_http_bodies_cut_total, then answers it.
func (d *daemon) counted(listener string, answer slowclient.TooSlow) slowclient.TooSlow {
	count := d.metrics.BodyCut(listener)
	log := d.component(listener)
	return func(w http.ResponseWriter, r *http.Request, msg string) {
		count()
		log.Debug().Str("path", r.URL.Path).Msg("cut a request whose body came too slowly")
		answer(w, r, msg)
	}
}

// limits are the configured bounds on a slow client (http.*).
func (d *daemon) limits() slowclient.Limits {
	h := d.cfg.HTTP
	return slowclient.Limits{
		BodyDeadline: h.BodyTimeout.D(), Idle: h.BodyIdleTimeout.D(), MinRate: h.BodyMinRate,
		Send: h.SendTimeout.D(), MaxConns: h.MaxConnections,
	}
}

// maxHeaderBytes bounds the request line and headers on the admin API and
// the Pinning Service API. Go's server reads 4 KiB beyond it before it
// answers 431, so a head may reach 20 KiB, as docs/security.md says.
const maxHeaderBytes = 16 << 10

// apiServer is the server of the admin API and the Pinning Service API.
func apiServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    maxHeaderBytes,
	}
}

// serve serves h on ln, with refusal, a whole HTTP answer, for the
// connections beyond slowclient's limit, which it tells refused of.
func (d *daemon) serve(ln net.Listener, h http.Handler, name string, refusal []byte, refused func()) {
	srv := apiServer(h)
	d.servers = append(d.servers, srv)
	go func() {
		if err := srv.Serve(slowclient.Listener(ln, d.cfg.HTTP.MaxConnections, refusal, refused)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error().Err(err).Str("server", name).Msg("server stopped")
		}
	}()
}

// advertiseAddr is the cluster address other peers dial: the listen address,
// with an unspecified host replaced by this machine's first non-loopback
// address (or loopback on a machine without one).
func advertiseAddr(listen string, bound net.Addr) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return bound.String()
	}
	if port == "0" {
		_, port, _ = net.SplitHostPort(bound.String())
	}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		return net.JoinHostPort(host, port)
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.IsGlobalUnicast() && !n.IP.IsLoopback() {
				return net.JoinHostPort(n.IP.String(), port)
			}
		}
	}
	return net.JoinHostPort("127.0.0.1", port)
}

// clusterAddrs reads a comma-separated list of peers' cluster ports:
// HOST:PORT, or the multiaddr that ipfs-cluster's users give
// (/ip4/<host>/tcp/<port>, with or without /p2p/<id>), taken as HOST:PORT.
// A peer ID in it is not checked: peers prove the cluster secret, not an ID.
func clusterAddrs(s string) ([]string, error) {
	list := splitList(s)
	for i, addr := range list {
		host, port, err := splitClusterAddr(addr)
		if err != nil {
			return nil, err
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%q: the port must be a number from 1 to 65535", addr)
		}
		list[i] = net.JoinHostPort(host, port)
	}
	return list, nil
}

func splitClusterAddr(addr string) (host, port string, err error) {
	if strings.HasPrefix(addr, "/") {
		return ipfs.SplitMultiaddr(addr, "a cluster address", func(c *ma.Component) error {
			if c.Protocol().Code != ma.P_P2P {
				return fmt.Errorf("%q: unsupported protocol /%s in a cluster address", addr, c.Protocol().Name)
			}
			return nil
		})
	}
	host, port, err = net.SplitHostPort(addr)
	if err == nil && host == "" {
		err = errors.New("no host")
	}
	if err != nil {
		return "", "", fmt.Errorf("%q is not a cluster address (%v): give HOST:PORT, such as 10.0.0.1:9096", addr, err)
	}
	return host, port, nil
}

func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[len(id)-6:]
	}
	return id
}

// startProxy serves the IPFS RPC API: intercepted pin calls, the rest
// forwarded to the upstream.
func (d *daemon) startProxy() error {
	cfg := d.cfg
	proxyLn := d.lns[keyProxy]
	handlers := intercept.New(d.node, d.ipfs, intercept.Options{
		Upstream:   d.ipfs.BaseURL(),
		Transport:  d.ipfs.Transport(),
		WaitPinned: cfg.Proxy.PinWait == "pinned",
		ReadOnly:   d.follower,
		Log:        d.component("intercept"),
	})
	var err error
	limits := d.limits()
	d.proxy, err = proxy.New(proxy.Config{
		Upstream:       d.ipfs.BaseURL(),
		AllowedOrigins: cfg.Proxy.AllowedOrigins,
		AllowedHosts:   cfg.Proxy.AllowedHosts,
		Authorizations: proxyAuthorizations(cfg.Proxy.Authorizations),
		Observe:        d.metrics.HTTPObserver("proxy"),
		Refused:        d.refusedConns("proxy"),
		RefusedRequest: d.metrics.RequestRefused("proxy"),
		TooSlow:        d.counted("proxy", intercept.WriteError),
		Limits:         &limits,
		ListenAddr:     proxyLn.Addr().String(),
		Log:            d.component("proxy"),
	}, handlers)
	if err != nil {
		return err
	}
	go func() {
		if err := d.proxy.Serve(proxyLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error().Err(err).Msg("proxy stopped")
		}
	}()
	return nil
}

func proxyAuthorizations(in map[string]config.ProxyAuthorization) map[string]proxy.Authorization {
	out := make(map[string]proxy.Authorization, len(in))
	for name, a := range in {
		out[name] = proxy.Authorization{AuthSecret: a.AuthSecret, AllowedPaths: a.AllowedPaths}
	}
	return out
}

// pinsvcRoute names a Pinning Service API request without its request ID.
func pinsvcRoute(r *http.Request) string {
	if r.URL.Path == "/pins" {
		return r.Method + " /pins"
	}
	if strings.HasPrefix(r.URL.Path, "/pins/") {
		return r.Method + " /pins/{requestid}"
	}
	return "other"
}

// refusedConns counts the connections that the listener named by label
// (its metrics label) turns away at its limit, and warns of them at most
// once a minute: a client is holding thousands of connections open.
func (d *daemon) refusedConns(label string) func() {
	count := d.metrics.ConnRefused(label)
	var lastWarn atomic.Int64
	return func() {
		count()
		now := time.Now().UnixNano()
		last := lastWarn.Load()
		if now-last < int64(time.Minute) || !lastWarn.CompareAndSwap(last, now) {
			return
		}
		d.log.Warn().Str("listener", label).Int("max_connections", d.cfg.HTTP.MaxConnections).
			Msg("turning connections away: the listener serves its limit at once (see flotilla_http_connections_refused_total)")
	}
}
