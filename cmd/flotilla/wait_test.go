package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// scriptedAPI is an admin API whose GET /pins/{cid} walks through a script
// of peer statuses, one step per call, then stays at the last: the waits
// can be followed step by step.
type scriptedAPI struct {
	t      *testing.T
	url    string
	mu     sync.Mutex
	script [][3]string // peer0..peer2's statuses at each step
	polls  int
	errMsg string // the error of a peer in pin_error
	query  string // the last GET /pins query
	// allocations are the pin's (none: everywhere); follower is the ID of
	// a read-only follower among the peers, if any.
	allocations []string
	follower    string
}

func newScriptedAPI(t *testing.T, script ...[3]string) *scriptedAPI {
	s := &scriptedAPI{t: t, script: script, errMsg: "no space left on device"}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

func (s *scriptedAPI) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := testCID(1)
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/pins/"+c.String():
		json.NewEncoder(w).Encode(storage.Pin{Cid: c, Name: "site", ReplicationFactorMin: -1, ReplicationFactorMax: -1})
	case r.Method == http.MethodGet && r.URL.Path == "/pins/"+c.String():
		step := s.script[min(s.polls, len(s.script)-1)]
		s.polls++
		pm := types.PeerMap{}
		for i, st := range step {
			ps := types.PinStatus{PeerName: "peer" + string(rune('0'+i)), Status: st, Timestamp: time.Unix(0, 0)}
			if st == "pin_error" {
				ps.Error = s.errMsg
			}
			pm["id"+string(rune('0'+i))] = ps
		}
		info := types.GlobalPinInfo{Cid: c.String(), Name: "site", Allocations: s.allocations, PeerMap: pm}
		json.NewEncoder(w).Encode(info)
	case r.Method == http.MethodGet && r.URL.Path == "/peers":
		for i := range 3 {
			id := types.ID{ID: "id" + string(rune('0'+i)), Role: types.RoleVoter}
			if id.ID == s.follower {
				id.Role = types.RoleFollower
			}
			json.NewEncoder(w).Encode(id)
		}
	case r.Method == http.MethodGet && r.URL.Path == "/pins":
		s.query = r.URL.RawQuery
	default:
		http.NotFound(w, r)
	}
}

func (s *scriptedAPI) pollCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.polls
}

// run runs a command line against the API; tty says whether stdout is a
// terminal.
func (s *scriptedAPI) run(tty bool, args ...string) result {
	s.t.Helper()
	return runEnv(s.t, Env{Environ: []string{"FLOTILLA_API=" + s.url}, IsTerminal: func(any) bool { return tty }}, args...)
}

var pinningScript = [][3]string{
	{"pin_queued", "pin_queued", "pin_queued"},
	{"pinned", "pinning", "pin_queued"},
	{"pinned", "pinned", "pinning"},
	{"pinned", "pinned", "pinned"},
}

// The progress of --wait: a line per change when stdout is not a
// terminal, then the status table.
func TestPinAddWaitPrintsProgressLines(t *testing.T) {
	api := newScriptedAPI(t, pinningScript...)
	c := testCID(1).String()
	r := api.run(false, "pin", "add", c, "--wait-limit", "2")
	if r.code != 0 {
		t.Fatal(r)
	}
	progress := c + ": pinned on 0/3 peers, 3 pin_queued\n" +
		c + ": pinned on 1/3 peers, 1 pin_queued, 1 pinning\n" +
		c + ": pinned on 2/3 peers, 1 pinning\n"
	pinRow, status, ok := strings.Cut(r.stdout, progress)
	if !ok {
		t.Fatalf("no progress lines %q in:\n%s", progress, r.stdout)
	}
	if !strings.HasPrefix(pinRow, "CID ") || !strings.Contains(pinRow, c+"  site") {
		t.Errorf("the pin is not printed first:\n%s", r.stdout)
	}
	if !strings.HasPrefix(status, "CID ") || strings.Count(status, c) != 3 || !strings.Contains(status, "peer2  pinning") {
		t.Errorf("the status after the wait is not the last one seen:\n%s", status)
	}
}

// On a terminal the progress is one line, rewritten in place.
func TestPinAddWaitRewritesOneLineOnATerminal(t *testing.T) {
	api := newScriptedAPI(t, pinningScript...)
	c := testCID(1).String()
	r := api.run(true, "pin", "add", c, "--wait", "--no-status")
	if r.code != 0 {
		t.Fatal(r)
	}
	want := "\r\x1b[K" + c + ": pinned on 0/3 peers, 3 pin_queued" +
		"\r\x1b[K" + c + ": pinned on 1/3 peers, 1 pin_queued, 1 pinning\n"
	if !strings.HasSuffix(r.stdout, want) {
		t.Fatalf("terminal output %q, want it to end with %q", r.stdout, want)
	}
}

// --wait waits for one peer, --wait-limit N for N, --wait-limit 0 (or more
// than the allocated peers) for all of them.
func TestPinAddWaitLimit(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		polls int // the step at which the wait is over
	}{
		{[]string{"--wait"}, 2},
		{[]string{"--wait-limit", "2"}, 3},
		{[]string{"--wait", "--wait-limit", "3"}, 4},
		{[]string{"--wait-limit", "0"}, 4},
		{[]string{"--wait-limit", "7"}, 4},
	} {
		api := newScriptedAPI(t, pinningScript...)
		r := api.run(false, append([]string{"pin", "add", testCID(1).String(), "--json"}, tc.args...)...)
		if r.code != 0 {
			t.Fatalf("%v: %s", tc.args, r)
		}
		if got := api.pollCount(); got != tc.polls {
			t.Errorf("%v returned after %d status polls, want %d", tc.args, got, tc.polls)
		}
		// --json: the pin, then the status the wait ended on.
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		var info types.GlobalPinInfo
		if len(lines) != 2 || json.Unmarshal([]byte(lines[1]), &info) != nil || len(info.PeerMap) != 3 {
			t.Errorf("%v printed:\n%s", tc.args, r.stdout)
		}
	}
	api := newScriptedAPI(t, pinningScript...)
	if r := api.run(false, "pin", "add", testCID(1).String(), "--wait-limit", "-1"); r.code != 2 || !strings.Contains(r.stderr, "--wait-limit -1") {
		t.Errorf("negative --wait-limit: %s", r)
	}
}

// A pin_error before enough peers pinned ends the wait with the peer's
// error; enough pinned peers make it a success.
func TestPinAddWaitFailsOnPinErrorBeforeTheLimit(t *testing.T) {
	api := newScriptedAPI(t, [3]string{"pinned", "pin_error", "pinning"})
	r := api.run(false, "pin", "add", testCID(1).String(), "--wait-limit", "2")
	if r.code != 1 || !strings.Contains(r.stderr, "could not be pinned: peer1: no space left on device") {
		t.Fatalf("wait with a pin_error: %s", r)
	}
	api = newScriptedAPI(t, [3]string{"pinned", "pin_error", "pinning"})
	if r := api.run(false, "pin", "add", testCID(1).String(), "--wait"); r.code != 0 {
		t.Fatalf("one pinned peer is what --wait asks: %s", r)
	}
}

// Without --wait the status is printed once after the pin, as
// ipfs-cluster-ctl does; --no-status prints the pin alone.
func TestPinAddStatusAfterAndNoStatus(t *testing.T) {
	api := newScriptedAPI(t, pinningScript...)
	c := testCID(1).String()
	r := api.run(false, "pin", "add", c)
	if r.code != 0 || strings.Count(r.stdout, "CID ") != 2 || !strings.Contains(r.stdout, "peer0  pin_queued") || api.pollCount() != 1 {
		t.Fatalf("pin add without --wait: %s", r)
	}
	api = newScriptedAPI(t, pinningScript...)
	r = api.run(false, "pin", "add", c, "--no-status")
	if r.code != 0 || strings.Count(r.stdout, "\n") != 2 || strings.Contains(r.stdout, "PEER") || api.pollCount() != 0 {
		t.Fatalf("pin add --no-status: %s", r)
	}
}

// status --filter takes ipfs-cluster's names, composites included, and
// refuses a name it does not know rather than drop it as the API does.
func TestStatusFilterNames(t *testing.T) {
	api := newScriptedAPI(t, pinningScript...)
	for _, filter := range []string{"pinned", "queued,pin_error", "error", "unexpectedly_unpinned,undefined", "sharded"} {
		if r := api.run(false, "status", "--filter", filter); r.code != 0 || api.query != "filter="+strings.ReplaceAll(filter, ",", "%2C") {
			t.Errorf("--filter %s: sent %q, %s", filter, api.query, r)
		}
	}
	for _, filter := range []string{"pined", "pinned,bogus", "undefined"} {
		r := api.run(false, "status", "--filter", filter)
		if r.code != 2 || !strings.Contains(r.stderr, "want statuses among cluster_error, error, pin_error") || strings.Contains(r.stderr, "undefined,") ||
			!strings.HasSuffix(strings.TrimSpace(r.stderr), "sharded, unexpectedly_unpinned, unpin_error, unpin_queued, unpinned, unpinning") {
			t.Errorf("--filter %s: %s", filter, r)
		}
	}
}
