package proxy

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/intercept"
	"github.com/flotilla-ipfs/flotilla/internal/slowclient"
	"github.com/flotilla-ipfs/flotilla/internal/testkit"
)

// A forwarded upload (files/write) whose client stops sending frees the proxy's connection, and
// Kubo's: the forwarded body ends in an error instead of waiting for ever.
func TestAStalledUploadIsCutAndKuboToo(t *testing.T) {
	upstreamRead := make(chan error, 1)
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		upstreamRead <- err
	})
	limits := slowclient.Limits{BodyDeadline: time.Hour, Idle: 200 * time.Millisecond, Send: time.Hour}
	var cut atomic.Int64
	tooSlow := func(w http.ResponseWriter, r *http.Request, msg string) {
		cut.Add(1)
		intercept.WriteError(w, r, msg) // the daemon's answer, which also counts
	}
	base := serveProxyWith(t, Config{Limits: &limits, TooSlow: tooSlow, Log: zerolog.Nop()}, upstream, nil)
	addr := strings.TrimPrefix(base, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /api/v0/files/write?arg=/f&create=true HTTP/1.1\r\nHost: %s\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\nthe first bytes, then nothing", addr)
	select {
	case err := <-upstreamRead:
		if err == nil {
			t.Fatal("the upstream read a whole body that the client never sent")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream still waited for the stalled upload after 10 s")
	}
	// The client, if still there, is told why in Kubo's error shape, and
	// its connection is closed, not kept for a next request behind the
	// rest of a body that never comes.
	res, body := testkit.ReadAnswer(t, c)
	var kuboErr struct{ Message, Type string }
	if err := json.Unmarshal([]byte(body), &kuboErr); err != nil || kuboErr.Type != "error" || !strings.Contains(kuboErr.Message, "too slowly") {
		t.Fatalf("the stalled client got %d %s (%v), want Kubo's error saying the body came too slowly", res.StatusCode, body, err)
	}
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("the proxy kept the stalled client's connection: %v", err)
	}
	if n := cut.Load(); n != 1 {
		t.Fatalf("the proxy counted %d cut bodies, want 1", n)
	}
}

// Connections beyond the limit are turned away in Kubo's error shape, so
// that Kubo's clients report the reason.
func TestConnectionsBeyondTheLimitGetAKuboError(t *testing.T) {
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"Version":"0.42.0"}`))
	})
	limits := slowclient.Defaults
	limits.MaxConns = 1
	var refused atomic.Int64
	base := serveProxyWith(t, Config{Limits: &limits, Refused: func() { refused.Add(1) }, Log: zerolog.Nop()}, upstream, nil)
	held := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	res, err := held.Post(base+"/api/v0/version", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close() // its connection stays open, idle, and holds the one slot

	other := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	res, err = other.Post(base+"/api/v0/version", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var kuboErr struct{ Message, Type string }
	if err := json.NewDecoder(res.Body).Decode(&kuboErr); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusServiceUnavailable || kuboErr.Type != "error" || !strings.Contains(kuboErr.Message, "too many connections") {
		t.Fatalf("a connection beyond the limit got %d %+v", res.StatusCode, kuboErr)
	}
	if n := refused.Load(); n != 1 {
		t.Fatalf("the metrics were told of %d refused connections, want 1", n)
	}
}
