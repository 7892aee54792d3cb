package forward

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// recordError is an ErrorWriter that answers 502 with msg and keeps it.
type recordError struct{ msgs []string }

func (e *recordError) write(w http.ResponseWriter, _ *http.Request, msg string) {
	e.msgs = append(e.msgs, msg)
	http.Error(w, msg, http.StatusBadGateway)
}

// serve runs a forwarder to upstream behind a real listener, as the proxy
// does, and returns the forwarder's URL.
func serve(t *testing.T, upstream *url.URL, errs *recordError) string {
	t.Helper()
	fwd := New(upstream, NewDirect(NewTransport()), errs.write, zerolog.Nop())
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w, r, done := Prepare(w, r)
		defer done()
		fwd.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	return front.URL
}

func upstreamServer(t *testing.T, h http.HandlerFunc) *url.URL {
	t.Helper()
	up := httptest.NewServer(h)
	t.Cleanup(up.Close)
	u, err := url.Parse(up.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// post sends body through the forwarder at base and reads the whole answer,
// trailers included.
func post(t *testing.T, base, path string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	// The client's own transport must not ask for gzip either, or the test
	// could not tell who asked.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()
	res, err := client.Post(base+path, "application/octet-stream", body)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	answer, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, answer
}

// TestStreamsByteExactWithTrailers: the upload reaches the upstream
// unchanged, the answer comes back unchanged with its trailer (a failure
// reported after a partial body, without which a failed cat looks like a
// short file), the path and query arrive as sent, and the forwarder never
// asks the upstream for compression on its own.
func TestStreamsByteExactWithTrailers(t *testing.T) {
	upload := make([]byte, 1<<20)
	rand.Read(upload)
	var gotPath, gotQuery, gotEncoding string
	var gotUpload []byte
	up := upstreamServer(t, func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotQuery, gotEncoding = r.URL.Path, r.URL.RawQuery, r.Header.Get("Accept-Encoding")
		gotUpload, _ = io.ReadAll(r.Body)
		w.Header().Set("Trailer", "X-Stream-Error")
		w.Write(gotUpload)
		w.Header().Set("X-Stream-Error", "failed to fetch all nodes")
	})
	res, answer := post(t, serve(t, up, &recordError{}), "/api/v0/block/put?arg=a%2Fb&x=1", bytes.NewReader(upload))
	if !bytes.Equal(gotUpload, upload) || !bytes.Equal(answer, upload) {
		t.Fatalf("bodies altered: upstream got %d bytes, client got %d of %d", len(gotUpload), len(answer), len(upload))
	}
	if got := res.Trailer.Get("X-Stream-Error"); got != "failed to fetch all nodes" {
		t.Errorf("trailer %q", got)
	}
	if gotPath != "/api/v0/block/put" || gotQuery != "arg=a%2Fb&x=1" {
		t.Errorf("upstream saw %s?%s", gotPath, gotQuery)
	}
	if gotEncoding != "" {
		t.Errorf("the forwarder asked the upstream for Accept-Encoding: %s", gotEncoding)
	}
}

// TestNoForwardingHeadersAdded: Kubo would see the proxy's additions as
// the client's, so none are invented.
func TestNoForwardingHeadersAdded(t *testing.T) {
	var seen http.Header
	up := upstreamServer(t, func(w http.ResponseWriter, r *http.Request) { seen = r.Header.Clone() })
	post(t, serve(t, up, &recordError{}), "/api/v0/id", nil)
	for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
		if v := seen.Get(h); v != "" {
			t.Errorf("upstream got %s: %s", h, v)
		}
	}
}

// TestUnreachableUpstreamNamesIt: the error writer gets a message naming
// the upstream, or "no upstream configured" without one.
func TestUnreachableUpstreamNamesIt(t *testing.T) {
	for _, tc := range []struct {
		upstream *url.URL
		prefix   string
	}{
		{&url.URL{Scheme: "http", Host: "127.0.0.1:1"}, "the IPFS node at http://127.0.0.1:1 is not reachable: "},
		{nil, "the IPFS node at <no upstream configured> is not reachable: "},
	} {
		errs := &recordError{}
		res, body := post(t, serve(t, tc.upstream, errs), "/api/v0/id", nil)
		if res.StatusCode != http.StatusBadGateway || len(errs.msgs) != 1 || !strings.HasPrefix(errs.msgs[0], tc.prefix) {
			t.Errorf("upstream %v: status %d, messages %q, body %q; want one starting %q", tc.upstream, res.StatusCode, errs.msgs, body, tc.prefix)
		}
	}
}

// TestClientGoneIsNotAnswered: when the client cancelled, nobody is left
// to read an error, so the error writer is not called.
func TestClientGoneIsNotAnswered(t *testing.T) {
	errs := &recordError{}
	fwd := New(&url.URL{Scheme: "http", Host: "127.0.0.1:1"}, NewTransport(), errs.write, zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/api/v0/id", nil)
	fwd.ServeHTTP(httptest.NewRecorder(), req)
	if len(errs.msgs) != 0 {
		t.Fatalf("answered a client that went away: %q", errs.msgs)
	}
}

func TestBufferPoolRecyclesFullBuffers(t *testing.T) {
	var p bufferPool
	b := p.Get()
	if len(b) != copyBufferSize {
		t.Fatalf("buffer of %d bytes", len(b))
	}
	p.Put(b)
	if got := p.Get(); len(got) != copyBufferSize {
		t.Fatalf("recycled buffer of %d bytes", len(got))
	}
}
