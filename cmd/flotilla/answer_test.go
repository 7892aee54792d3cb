package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hungPeer is a peer whose process is stopped: the kernel accepts its
// connections, and nothing ever answers on them.
func hungPeer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, conn)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// A command against a hung peer gives up, naming the API and saying that
// nothing answered, where it used to wait forever.
func TestACommandGivesUpOnAPeerThatAnswersNothing(t *testing.T) {
	api := hungPeer(t)
	for _, tc := range []struct {
		command string
		args    []string
	}{
		{"status", []string{"status"}},
		{"id", []string{"id"}},
		{"pin add", []string{"pin", "add", testCID(1).String(), "--wait"}},
	} {
		r := runEnv(t, Env{Environ: []string{"FLOTILLA_API=" + api}, AnswerWait: 100 * time.Millisecond}, tc.args...)
		want := "flotilla " + tc.command + ": the flotilla API at http://" + api + " did not answer"
		if r.code != 1 || !strings.HasPrefix(r.stderr, want) {
			t.Fatalf("flotilla %s against a hung peer: want exit 1 saying %q, got %s", tc.command, want, r)
		}
	}
}

// A call that the peer answers late (a filtered listing of a huge pinset,
// recover) is not cut while the peer answers GET /version meanwhile.
func TestACommandWaitsOnAPeerThatAnswersLate(t *testing.T) {
	var asked atomic.Int32
	askedTwice := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
		if asked.Add(1) == 2 {
			close(askedTwice)
		}
		w.Write([]byte(`{"version":"test"}`))
	})
	mux.HandleFunc("GET /pins", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-askedTwice:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"cid":"` + testCID(1).String() + `","name":"late","peer_map":{"12D3KooWA":{"peername":"a","status":"pinned","timestamp":"2026-01-02T03:04:05Z"}}}` + "\n"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	r := runEnv(t, Env{Environ: []string{"FLOTILLA_API=" + srv.URL}, AnswerWait: 50 * time.Millisecond}, "status", "--filter", "pin_error")
	if r.code != 0 || !strings.Contains(r.stdout, "late") {
		t.Fatalf("status answered after two checks that the peer lives: %s", r)
	}
}
