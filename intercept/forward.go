package intercept

import (
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"

	"github.com/rs/zerolog"
)

// NewTransport returns a transport fit for the upstream IPFS API: it never
// asks for compression (bodies must pass byte-exact, and Kubo never
// compresses) and has no response timeout (pin add may take hours).
func NewTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DisableCompression = true
	t.ForceAttemptHTTP2 = false
	t.MaxIdleConnsPerHost = 64
	return t
}

// BufferPool recycles the 32 KiB copy buffers of reverse proxies.
type BufferPool struct{ p sync.Pool }

func (b *BufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *BufferPool) Put(buf []byte) { b.p.Put(&buf) }

// NewForwarder returns a streaming reverse proxy to upstream: flushes at
// once, keeps trailers, adds no X-Forwarded headers, and answers an
// unreachable upstream with a Kubo error object. Callers must enable full
// duplex on requests with a body (see EnableFullDuplex).
func NewForwarder(upstream *url.URL, rt http.RoundTripper, pool *BufferPool, lg zerolog.Logger) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// Without an upstream the transport fails the request, and the
			// client gets the "not reachable" error rather than a panic.
			if upstream != nil {
				pr.SetURL(upstream)
			}
		},
		Transport:     rt,
		FlushInterval: -1,
		BufferPool:    pool,
		ErrorLog:      log.New(lg.With().Str("component", "reverseproxy").Logger(), "", 0),
		ErrorHandler:  forwardError(upstream, lg),
	}
}

func newForwarder(upstream *url.URL, rt http.RoundTripper, lg zerolog.Logger) *httputil.ReverseProxy {
	return NewForwarder(upstream, rt, &BufferPool{}, lg)
}

// EnableFullDuplex must run before a request with a body is forwarded. Kubo
// answers add, dag/import and others while still reading the upload; without
// full duplex Go's HTTP/1 server then discards up to 256 KiB of the unread
// body, racing the proxy that streams it upstream, and the upload arrives
// silently corrupted.
func EnableFullDuplex(w http.ResponseWriter, r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	// HTTP/2 is full duplex already and says ErrNotSupported.
	_ = http.NewResponseController(w).EnableFullDuplex()
}

func forwardError(upstream *url.URL, lg zerolog.Logger) func(http.ResponseWriter, *http.Request, error) {
	where := "<no upstream configured>"
	if upstream != nil {
		where = upstream.String()
	}
	return func(w http.ResponseWriter, r *http.Request, err error) {
		if r.Context().Err() != nil {
			// The client went away; there is no one to answer.
			lg.Debug().Err(err).Str("path", r.URL.Path).Msg("forwarding abandoned by client")
			return
		}
		lg.Warn().Err(err).Str("upstream", where).Str("path", r.URL.Path).Msg("upstream request failed")
		WriteError(w, r, upstreamMessage(where, err))
	}
}
