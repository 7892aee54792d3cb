package ipfs

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/flotilla-ipfs/flotilla/internal/forward"

	"github.com/ipfs/kubo/client/rpc"
	"github.com/rs/zerolog"
)

// DefaultRequestTimeout bounds the short calls (ID, Version, RepoStat,
// IsPinned, Resolve), as ipfs-cluster's ipfs_request_timeout does. Pin,
// Unpin and PinLs run as long as their context allows.
const DefaultRequestTimeout = 5 * time.Minute

// Client talks to one upstream IPFS RPC API. It is safe for concurrent use.
type Client struct {
	addr    string // as configured, for messages
	base    *url.URL
	hc      *http.Client
	api     *rpc.HttpApi
	log     zerolog.Logger
	timeout time.Duration
	ownsTr  bool
}

// Option configures a Client.
type Option func(*options)

type options struct {
	hc      *http.Client
	timeout time.Duration
	auth    string
}

// WithHTTPClient uses hc instead of the client's own, e.g. to share a
// transport. Its Transport should keep connections alive.
func WithHTTPClient(hc *http.Client) Option { return func(o *options) { o.hc = hc } }

// WithRequestTimeout replaces DefaultRequestTimeout; zero or less means none.
func WithRequestTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithAuthorization sends an Authorization header value with every request,
// for a Kubo with API.Authorizations ("Bearer <token>", "Basic <b64>").
func WithAuthorization(value string) Option { return func(o *options) { o.auth = value } }

// New makes a client of the API at addr: an http URL (http://127.0.0.1:5001)
// or a multiaddr (/ip4/127.0.0.1/tcp/5001). It does not contact the node.
func New(addr string, log zerolog.Logger, opts ...Option) (*Client, error) {
	base, err := ParseAPIAddr(addr)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	o := options{timeout: DefaultRequestTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	c := &Client{addr: addr, base: u, hc: o.hc, log: log, timeout: o.timeout}
	if c.hc == nil {
		c.hc = &http.Client{Transport: NewTransport()}
		c.ownsTr = true
	}
	// client/rpc copies the http.Client (not its Transport), so connections
	// are pooled across all calls of this Client.
	c.api, err = rpc.NewURLApiWithClient(base, c.hc)
	if err != nil {
		return nil, err
	}
	if o.auth != "" {
		c.api.Headers.Set("Authorization", o.auth)
	}
	return c, nil
}

// NewTransport is the transport a Client makes for itself: keep-alives on,
// enough idle connections for concurrent pins, a bounded dial, no proxy from
// the environment (the upstream is a local daemon, not the web), and no gzip
// (Kubo never compresses, and proxies must not re-encode bodies). No
// response timeout: pins legitimately take hours. The proxy forwards uploads
// over it too, so its connections copy bodies in forward's large chunks.
func NewTransport() *http.Transport {
	return &http.Transport{
		DialContext: forward.Dialer((&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext),
		ReadBufferSize:        forward.IOBufferSize,
		WriteBufferSize:       forward.IOBufferSize,
		MaxIdleConns:          128,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
}

// BaseURL is the node's API base URL, without /api/v0. The caller gets a copy.
func (c *Client) BaseURL() *url.URL {
	u := *c.base
	return &u
}

// Transport is the round tripper the client uses, for forwarding requests
// to the same node over the same connection pool.
func (c *Client) Transport() http.RoundTripper {
	if c.hc.Transport == nil {
		return http.DefaultTransport
	}
	return c.hc.Transport
}

// Close releases idle connections of a transport the client made itself.
func (c *Client) Close() {
	if c.ownsTr {
		c.hc.CloseIdleConnections()
	}
}

// bounded applies the request timeout to a short call.
func (c *Client) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.timeout)
}
