package slowclient

import (
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/flotilla-ipfs/flotilla/internal/testkit"
)

func TestConnectionsBeyondTheLimitAreTurnedAwayWithAnAnswer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusal := Refusal("application/json", []byte(`{"Message":"too many connections","Code":0,"Type":"error"}`))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("served"))
	})}
	var refused atomic.Int64
	go srv.Serve(Listener(ln, 2, refusal, func() { refused.Add(1) }))
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()

	// ask sends one request on c and returns the answer's status and body.
	ask := func(c net.Conn) (int, string) {
		t.Helper()
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
		res, body := testkit.ReadAnswer(t, c)
		return res.StatusCode, body
	}
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// Served, and kept open: each holds its slot.
		if code, _ := ask(c); code != http.StatusOK {
			t.Fatalf("a connection within the limit got %d", code)
		}
		held = append(held, c)
	}
	third, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	code, body := ask(third)
	if code != http.StatusServiceUnavailable || body != `{"Message":"too many connections","Code":0,"Type":"error"}` {
		t.Fatalf("a connection beyond the limit got %d %q, want 503 with the refusal", code, body)
	}
	if n := refused.Load(); n != 1 {
		t.Fatalf("told of %d refused connections, want 1", n)
	}

	// A closed connection gives its slot back.
	held[0].Close()
	testkit.Eventually(t, "a new connection served once one closed", func() bool {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return false
		}
		defer c.Close()
		code, _ := ask(c)
		return code == http.StatusOK
	})
}

func TestAZeroConnectionLimitIsNoLimit(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if got := Listener(ln, 0, nil, nil); got != ln {
		t.Fatalf("a zero limit wrapped the listener in %T", got)
	}
}
