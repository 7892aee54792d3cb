// Package forward streams one HTTP request to the upstream IPFS RPC API and
// its answer back: byte-exact in both directions, flushed as it arrives,
// with trailers kept. The proxy forwards every call it does not intercept
// with it, and intercept forwards the uploads whose pins it makes, so it is
// a leaf that both import.
package forward

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"

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
	t.DialContext = Dialer(t.DialContext)
	t.ReadBufferSize = IOBufferSize
	t.WriteBufferSize = IOBufferSize
	return t
}

// ErrorWriter answers a request that could not be forwarded at all. msg
// names the upstream, so that the operator knows which node to look at.
// The caller decides the shape (a Kubo error object for the RPC API).
type ErrorWriter func(w http.ResponseWriter, r *http.Request, msg string)

// New returns a streaming reverse proxy to upstream: flushes at once, keeps
// trailers, adds no X-Forwarded headers, and answers an unreachable
// upstream through writeError. Callers must enable full duplex on requests
// with a body (see EnableFullDuplex).
func New(upstream *url.URL, rt http.RoundTripper, writeError ErrorWriter, lg zerolog.Logger) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// Without an upstream the transport fails the request, and the
			// client gets the "not reachable" error rather than a panic.
			if upstream != nil {
				pr.SetURL(upstream)
			}
			if b, ok := pr.In.Body.(*eofBody); ok {
				pr.Out = pr.Out.WithContext(context.WithValue(pr.Out.Context(), eofBodyKey{}, b))
			}
		},
		Transport:     closingTransport{rt},
		FlushInterval: -1,
		BufferPool:    bufferPool{},
		ErrorLog:      log.New(lg.With().Str("component", "reverseproxy").Logger(), "", 0),
		ErrorHandler:  errorHandler(upstream, writeError, lg),
	}
}

// EnableFullDuplex must run before a request with a body is forwarded, and
// the handler answers through the writer it returns and calls done before
// it returns (defer it). Kubo answers add, dag/import and others while
// still reading the upload; without full duplex Go's HTTP/1 server then
// discards up to 256 KiB of the unread body, racing the proxy that streams
// it upstream, and the upload arrives silently corrupted. See duplex.go
// for what done and the writer keep right.
func EnableFullDuplex(w http.ResponseWriter, r *http.Request) (_ http.ResponseWriter, done func()) {
	if r.Body == nil || r.Body == http.NoBody {
		return w, func() {}
	}
	// HTTP/2 is full duplex already and says ErrNotSupported.
	if err := http.NewResponseController(w).EnableFullDuplex(); err != nil {
		return w, func() {}
	}
	body := &eofBody{ReadCloser: r.Body}
	r.Body = body
	return &duplexWriter{ResponseWriter: w, body: body}, body.finish
}

func errorHandler(upstream *url.URL, writeError ErrorWriter, lg zerolog.Logger) func(http.ResponseWriter, *http.Request, error) {
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
		writeError(w, r, unreachable(where, err))
	}
}

// unreachable is the answer when the upstream node cannot be asked at all,
// worded so that the operator knows which node to look at.
func unreachable(upstream string, err error) string {
	return fmt.Sprintf("the IPFS node at %s is not reachable: %v", upstream, err)
}
