package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/api/rest"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// TestClientCommands drives every client command against one cluster. The
// steps build on each other's pins, so they run in order, in one test.
func TestClientCommands(t *testing.T) {
	cl := newCLI(t)
	peers := cl.c.Peers
	alpha, beta, gamma, delta := testCID(1), testCID(2), testCID(3), testCID(4)
	cl.c.Provide(alpha, beta, gamma, delta)

	// id and peers
	{
		cl.golden("id", cl.ok("id"))
		// On a loaded machine an election may be under way, or a peer
		// slow to answer: the listing settles.
		cl.goldenEventually("peers_ls", func() string { return cl.ok("peers", "ls") })
		var ids []string
		for line := range strings.Lines(cl.ok("peers", "ls", "--json")) {
			var p struct{ ID string }
			if err := json.Unmarshal([]byte(line), &p); err != nil {
				t.Fatalf("peers ls --json line %q: %v", line, err)
			}
			ids = append(ids, p.ID)
		}
		if len(ids) != 3 {
			t.Fatalf("peers ls --json: %v", ids)
		}
	}

	// pin add
	{
		out := cl.ok("pin", "add", alpha.String(), "--name", "alpha", "--meta", "team=ops", "--meta", "env=prod",
			"--expire-at", "2030-01-02T03:04:05Z", "--no-status")
		// Flags before the argument work as well, and --wait returns once
		// a peer has pinned.
		out += cl.ok("pin", "add", "--name", "beta", "--mode", "direct", "--replication", "2",
			"--user-allocations", peers[1].ID+","+peers[2].ID, "--no-status", beta.String())
		cl.golden("pin_add", out)
		waited := cl.ok("pin", "add", "/ipfs/"+gamma.String(), "--wait", "--wait-timeout", "30s")
		if !strings.Contains(waited, gamma.String()+": ") || !strings.Contains(waited, "pinned") {
			t.Fatalf("pin add --wait printed no progress:\n%s", waited)
		}
		if p, err := peers[2].Node.Get(t.Context(), beta); err != nil || p.Mode != storage.Direct || p.ReplicationFactorMax != 2 {
			t.Fatalf("beta as committed: %+v %v", p, err)
		}
	}

	everywhere := map[int]string{0: "pinned", 1: "pinned", 2: "pinned"}
	cl.waitStatus(alpha, everywhere)
	cl.waitStatus(gamma, everywhere)
	cl.waitStatus(beta, map[int]string{0: "remote", 1: "pinned", 2: "pinned"})

	// listings
	{
		cl.golden("pin_ls", cl.ok("pin", "ls"))
		cl.golden("pin_ls_one", cl.ok("pin", "ls", beta.String()))
		cl.golden("alloc_ls", cl.ok("alloc", "ls"))
		cl.golden("status", cl.ok("status"))
		cl.golden("status_filtered", cl.ok("status", "--filter", "remote", alpha.String(), beta.String()))
		cl.golden("status_local", cl.ok("status", "--local", beta.String()))
		cl.golden("recover_one", cl.ok("recover", alpha.String()))

		var p storage.Pin
		if err := json.Unmarshal([]byte(cl.ok("pin", "ls", "--json", alpha.String())), &p); err != nil || p.Metadata["env"] != "prod" {
			t.Fatalf("pin ls --json: %+v %v", p, err)
		}
		lines := strings.Split(strings.TrimSpace(cl.ok("status", "--json")), "\n")
		if len(lines) != 3 {
			t.Fatalf("status --json wrote %d lines, want one per pin", len(lines))
		}
	}

	// pin update
	{
		// The old pin may be named /ipfs/<cid>, as the new one may.
		cl.ok("pin", "update", "/ipfs/"+beta.String(), delta.String(), "--meta", "v=2")
		p, err := peers[0].Node.Get(t.Context(), delta)
		if err != nil {
			t.Fatal(err)
		}
		// The old pin's options carry over; --meta replaces the metadata.
		if p.Name != "beta" || p.Mode != storage.Direct || p.ReplicationFactorMin != 2 || p.PinUpdate != beta ||
			len(p.Metadata) != 1 || p.Metadata["v"] != "2" {
			t.Fatalf("updated pin %+v", p)
		}
		if _, err := peers[0].Node.Get(t.Context(), beta); err != nil {
			t.Fatalf("pin update removed the old pin, which ipfs-cluster keeps: %v", err)
		}
	}

	// pin rm
	{
		if out := cl.ok("pin", "rm", delta.String()); out != "unpinned "+delta.String()+"\n" {
			t.Fatalf("pin rm printed %q", out)
		}
		cl.fails(1, "pin is not part of the pinset", "pin", "rm", delta.String())
		cl.fails(1, "pin is not part of the pinset", "pin", "ls", delta.String())
	}

	// health
	{
		cl.golden("health_metrics", cl.ok("health", "metrics"))
		cl.golden("health_metrics_ping", sortRows(cl.normalize(cl.ok("health", "metrics", "ping"))))
		// A loaded machine may miss a heartbeat: the alerts themselves
		// cannot be pinned down, their shape can.
		if out := cl.ok("health", "alerts"); !strings.HasPrefix(out, "NAME  PEER  METRIC  STATE  TRIGGERED  EXPIRED  CLEARED\n") {
			t.Fatalf("health alerts:\n%s", out)
		}
		var alerts []map[string]any
		if out := cl.ok("health", "alerts", "--json"); json.Unmarshal([]byte(out), &alerts) != nil || strings.Count(out, "\n") != 1 {
			t.Fatalf("health alerts --json: %q", out)
		}
	}

	// add
	{
		dir := t.TempDir()
		file := filepath.Join(dir, "hello.txt")
		if err := os.WriteFile(file, []byte("hello flotilla\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		// Only the first peer's IPFS node has the content: allocate it there.
		out := cl.ok("add", file, "--replication", "1", "--user-allocations", peers[0].ID, "--wait")
		first, _, _ := strings.Cut(out, "\n")
		cl.golden("add", first+"\n")
		fields := strings.Fields(first)
		if len(fields) != 3 {
			t.Fatalf("add printed %q", out)
		}
		p, err := peers[0].Node.Get(t.Context(), mustCID(t, fields[1]))
		if err != nil || p.Name != "hello.txt" || !p.AllocatedTo(peers[0].ID) {
			t.Fatalf("added pin %+v %v", p, err)
		}
		if st := peers[0].Node.LocalStatus(p.Cid).Status; st != "pinned" {
			t.Fatalf("add --wait returned with status %s", st)
		}
		cl.fails(2, "is a directory", "add", dir)

		// A directory is added with its contents and pinned as one.
		sub := filepath.Join(dir, "site")
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, "index.html"), []byte("<p>hi</p>"), 0o644); err != nil {
			t.Fatal(err)
		}
		out = cl.ok("add", "--recursive", sub, "--replication", "1", "--user-allocations", peers[0].ID, "--wait", "--json")
		var last struct{ Name, Cid string }
		lines := strings.Split(strings.TrimSpace(out), "\n")
		// The added entries, then the final status of the root.
		if len(lines) != 3 || json.Unmarshal([]byte(lines[1]), &last) != nil || last.Name != "site" {
			t.Fatalf("add --recursive --json printed:\n%s", out)
		}
		if p, err := peers[0].Node.Get(t.Context(), mustCID(t, last.Cid)); err != nil || p.Name != "site" {
			t.Fatalf("added directory pin %+v %v", p, err)
		}
	}
}

func mustCID(t *testing.T, s string) cid.Cid {
	t.Helper()
	c, err := cid.Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientFailures(t *testing.T) {
	cl := newCLI(t)
	missing := testCID(100)

	cl.fails(2, "flag provided but not defined", "pin", "add", "--nope", missing.String())
	cl.fails(2, "wrong number of arguments", "pin", "add")
	cl.fails(2, `unknown subcommand "frob"`, "pin", "frob")
	cl.fails(2, "usage: flotilla peers", "peers")
	cl.fails(2, "--api", "id", "--api", "ftp://nowhere")
	cl.fails(1, "parameter mode invalid", "pin", "add", missing.String(), "--mode", "sideways")
	cl.fails(1, "error decoding Cid", "status", "not-a-cid")
	// pin update names the old pin by its CID: a path below it, or a word
	// that is no CID, says so.
	cl.fails(2, "want the CID of the pin to update, or /ipfs/<cid>, not a path", "pin", "update", "/ipfs/"+missing.String()+"/sub", missing.String())
	cl.fails(1, "cannot update from not-a-cid: want the CID of the pin to update", "pin", "update", "not-a-cid", missing.String())

	// Content no IPFS node has: the wait gives up.
	cl.fails(1, "is not pinned yet", "pin", "add", missing.String(), "--wait", "--wait-timeout", "200ms")

	// Content that cannot be pinned: the wait fails on pin_error.
	failing := testCID(101)
	for _, p := range cl.c.Peers {
		p.Kubo.FailNext("pin/add", 1000, "no space left on device")
	}
	cl.fails(1, "no space left on device", "pin", "add", failing.String(), "--wait")

	// Nothing listens there.
	cl.environ = nil
	r := runCLI(t, []string{"FLOTILLA_API=127.0.0.1:1"}, nil, "id")
	if r.code != 1 || !strings.Contains(r.stderr, "connection refused") {
		t.Fatalf("unreachable API: %s", r)
	}
}

// A peer that is not running gets one clear line, whatever the command,
// rather than Go's dial error; the line names the whole command.
func TestClientCommandsSayTheAPIIsUnreachable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	const want = "cannot reach the flotilla API at http://127.0.0.1:1: connection refused " +
		"(is the daemon running? set --api or FLOTILLA_API to reach another address)\n"
	for _, tc := range []struct {
		environ []string
		args    []string
		command string
	}{
		{[]string{"FLOTILLA_API=127.0.0.1:1"}, []string{"id"}, "id"},
		{[]string{"FLOTILLA_API=127.0.0.1:1"}, []string{"peers", "ls"}, "peers ls"},
		{nil, []string{"status", "--api", "http://127.0.0.1:1"}, "status"},
		{nil, []string{"--api", "/ip4/127.0.0.1/tcp/1", "pin", "add", testCID(1).String()}, "pin add"},
		{nil, []string{"pin", "ls", "--api", "127.0.0.1:1"}, "pin ls"},
		{nil, []string{"add", "--api", "127.0.0.1:1", file}, "add"},
	} {
		r := runCLI(t, tc.environ, nil, tc.args...)
		line := "flotilla " + tc.command + ": " + want
		if r.code != 1 || r.stderr != line {
			t.Errorf("%v: want exit 1 saying %q, got %s", tc.args, line, r)
		}
	}
}

func TestClientStreamErrorTrailer(t *testing.T) {
	// A stream that breaks after its first item: the command must fail
	// even though it already printed something.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Stream-Error")
		w.Header().Set("Content-Type", "application/json")
		p := storage.Pin{Cid: testCID(1), ReplicationFactorMin: -1, ReplicationFactorMax: -1}
		_ = json.NewEncoder(w).Encode(p)
		w.Header().Set("X-Stream-Error", "state read failed")
	}))
	defer srv.Close()
	r := runCLI(t, []string{"FLOTILLA_API=" + srv.URL}, nil, "pin", "ls")
	if r.code != 1 || !strings.Contains(r.stderr, "state read failed") {
		t.Fatalf("stream error: %s", r)
	}
	r = runCLI(t, []string{"FLOTILLA_API=" + srv.URL}, nil, "pin", "ls", "--json")
	if r.code != 1 || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("stream error with --json: %s", r)
	}
}

// health alerts tells an active alert from a cleared one, and names the
// peer when the server knows its name; from a peer of an earlier build,
// which says neither, the state is unknown, not cleared.
func TestHealthAlertsShowStateAndName(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health/alerts" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`[
{"name":"ping","peer":"12D3KooWB","value":"","expire":0,"valid":true,"weight":0,"partitionable":false,"received_at":0,"triggered_at":"2030-01-02T03:05:00Z","active":true,"peername":"bravo"},
{"name":"ping","peer":"12D3KooWA","value":"","expire":0,"valid":true,"weight":0,"partitionable":false,"received_at":0,"triggered_at":"2030-01-02T03:04:00Z","active":false,"cleared_at":"2030-01-02T03:04:30Z"},
{"name":"ping","peer":"12D3KooWC","value":"","expire":0,"valid":true,"weight":0,"partitionable":false,"received_at":0,"triggered_at":"2030-01-02T03:03:00Z"}
]`))
	}))
	defer srv.Close()
	r := runCLI(t, []string{"FLOTILLA_API=" + srv.URL}, nil, "health", "alerts")
	want := "NAME   PEER       METRIC  STATE    TRIGGERED             EXPIRED  CLEARED\n" +
		"bravo  12D3KooWB  ping    active   2030-01-02T03:05:00Z\n" +
		"-      12D3KooWA  ping    cleared  2030-01-02T03:04:00Z           2030-01-02T03:04:30Z\n" +
		"       12D3KooWC  ping    unknown  2030-01-02T03:03:00Z\n"
	if r.code != 0 || r.stdout != want {
		t.Fatalf("health alerts: %s\nwant:\n%s", r, want)
	}
}

// peers ls of a cluster where no peer leads says so after the table,
// which otherwise looks as it always does.
func TestPeersLsSaysWhenNoPeerLeads(t *testing.T) {
	role := "voter"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "{\"id\":\"12D3KooWA\",\"peername\":\"alpha\",\"role\":%q}\n{\"id\":\"12D3KooWB\",\"peername\":\"bravo\",\"role\":\"voter\"}\n", role)
	}))
	defer srv.Close()
	r := runCLI(t, []string{"FLOTILLA_API=" + srv.URL}, nil, "peers", "ls")
	if r.code != 0 || !strings.Contains(r.stdout, "alpha") || !strings.Contains(r.stderr, "no peer leads") {
		t.Fatalf("peers ls without a leader: %s", r)
	}
	role = "leader"
	if r := runCLI(t, []string{"FLOTILLA_API=" + srv.URL}, nil, "peers", "ls"); r.code != 0 || r.stderr != "" {
		t.Fatalf("peers ls with a leader: %s", r)
	}
}

func TestClientTimeout(t *testing.T) {
	// An API that never answers: --timeout ends the command, and covers a
	// command that connects only after checking its arguments.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	for _, args := range [][]string{{"id"}, {"pin", "rm", testCID(1).String()}} {
		r := runCLI(t, []string{"FLOTILLA_API=" + srv.URL}, nil, append(args, "--timeout", "100ms")...)
		if r.code != 1 || !strings.Contains(r.stderr, "context deadline exceeded") {
			t.Fatalf("%v against an API that never answers: %s", args, r)
		}
	}
}

func TestClientAuth(t *testing.T) {
	cl := newCLI(t)
	key := rest.DeriveTokenKey([]byte("secret"))
	cl.api = serveAPI(t, cl.c, rest.AuthConfig{Users: map[string]string{"admin": "pw"}, TokenKey: key})

	cl.fails(1, "unauthorized: no auth provided", "id")
	cl.fails(1, "unauthorized: access denied", "id", "--basic-auth", "admin:wrong")
	cl.fails(2, "user:password", "id", "--basic-auth", "admin")
	cl.ok("id", "--basic-auth", "admin:pw")

	token, err := rest.MintToken(key, "admin", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cl.ok("peers", "ls", "--token", token)
	cl.environ = []string{"FLOTILLA_BASIC_AUTH=admin:pw"}
	cl.ok("pin", "ls")
	cl.fails(1, "unauthorized: invalid token", "pin", "ls", "--token", "garbage")
}
