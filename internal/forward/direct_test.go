package forward

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/internal/testkit"
)

// countedUpstream is an upstream that counts the connections made to it.
func countedUpstream(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var conns atomic.Int32
	up := httptest.NewUnstartedServer(h)
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	up.Start()
	t.Cleanup(up.Close)
	return up, &conns
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestBodilessCallsShareOneConnection: calls without a body, one after the
// other, reuse one connection to the upstream and come back byte-exact,
// trailer included.
func TestBodilessCallsShareOneConnection(t *testing.T) {
	up, conns := countedUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Stream-Error")
		io.WriteString(w, `{"Version":"0.42.0"}`+"\n")
		w.Header().Set("X-Stream-Error", "none")
	})
	base := serve(t, mustParse(t, up.URL), &recordError{})
	for i := 0; i < 20; i++ {
		res, answer := post(t, base, "/api/v0/version", nil)
		if res.StatusCode != http.StatusOK || string(answer) != `{"Version":"0.42.0"}`+"\n" || res.Trailer.Get("X-Stream-Error") != "none" {
			t.Fatalf("call %d: status %d, answer %q, trailer %q", i, res.StatusCode, answer, res.Trailer)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("20 calls opened %d connections to the upstream, want 1", n)
	}
}

// TestAStreamReachesTheClientAsItComes: an answer whose head the upstream
// sends alone (pubsub sub) and whose events follow one by one reaches the
// client head first and then event by event, while the upstream waits:
// holding flushes back never holds back what the upstream sent.
func TestAStreamReachesTheClientAsItComes(t *testing.T) {
	next := make(chan struct{})
	up := upstreamServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Chunked-Output", "1")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		for _, event := range []string{"one\n", "two\n"} {
			select {
			case <-next:
			case <-r.Context().Done():
				return
			}
			io.WriteString(w, event)
			w.(http.Flusher).Flush()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, serve(t, up, &recordError{})+"/api/v0/pubsub/sub", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("the head did not arrive while the upstream waited: %v", err)
	}
	defer res.Body.Close()
	lines := bufio.NewReader(res.Body)
	for _, want := range []string{"one\n", "two\n"} {
		next <- struct{}{}
		got, err := lines.ReadString('\n')
		if err != nil || got != want {
			t.Fatalf("event %q: got %q, %v", want, got, err)
		}
	}
}

// TestAClosedIdleConnectionIsNotReused: after the upstream closed its idle
// connections (a restart, an idle timeout), the next call goes through on
// a new connection instead of failing on the dead one.
func TestAClosedIdleConnectionIsNotReused(t *testing.T) {
	up, conns := countedUpstream(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	d := NewDirect(NewTransport())
	fwd := New(mustParse(t, up.URL), d, (&recordError{}).write, zerolog.Nop())
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w, r, done := Prepare(w, r)
		defer done()
		fwd.ServeHTTP(w, r)
	}))
	defer front.Close()
	post(t, front.URL, "/api/v0/id", nil)
	up.CloseClientConnections()
	testkit.Eventually(t, "the pooled connection sees the upstream's close", func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return len(d.idle) == 1 && !idleHealthy(d.idle[0].Conn)
	})
	res, answer := post(t, front.URL, "/api/v0/id", nil)
	if res.StatusCode != http.StatusOK || string(answer) != "ok" {
		t.Fatalf("after the upstream closed its connections: status %d, %q", res.StatusCode, answer)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections to the upstream, want 2", n)
	}
}

// TestAClientGoneEndsTheUpstreamCall: a client that leaves a stream that
// never ends ends the call upstream too; the proxy neither keeps reading
// it nor keeps the connection.
func TestAClientGoneEndsTheUpstreamCall(t *testing.T) {
	upstreamDone := make(chan struct{})
	up := upstreamServer(t, func(w http.ResponseWriter, r *http.Request) {
		defer close(upstreamDone)
		io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, serve(t, up, &recordError{})+"/api/v0/log/tail", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(res.Body).ReadString('\n'); err != nil || line != "first\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	cancel()
	res.Body.Close()
	select {
	case <-upstreamDone:
	case <-time.After(20 * time.Second):
		t.Fatal("the upstream call went on after the client left")
	}
}
