package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// hostile is text that would command a terminal: set its title, turn it
// red, ring its bell, reverse what follows; then text a terminal shows.
const hostile = "\x1b]0;PWNED\a\x1b[31mred\x00\u202eevil\u0085 café 東京"

// escapedHostile is how the CLI shows it.
const escapedHostile = `\x1b]0;PWNED\a\x1b[31mred\x00\u202eevil\u0085 café 東京`

// noTerminalCommand fails when out holds a rune a terminal acts on.
func noTerminalCommand(t *testing.T, what, out string) {
	t.Helper()
	if i := strings.IndexFunc(out, func(r rune) bool { return r != '\n' && obeyed(r) }); i >= 0 {
		t.Errorf("%s writes %q raw to the terminal:\n%q", what, []rune(out[i:])[0], out)
	}
}

// What anyone allowed to write a pin puts in its name and metadata comes
// out of the CLI's tables escaped, and --json keeps it JSON-escaped.
func TestPinNamesAndMetadataCannotCommandTheTerminal(t *testing.T) {
	cl := newCLI(t)
	c := testCID(1)
	cl.c.Provide(c)
	q := url.Values{"name": {hostile}, "meta-k": {hostile}}
	resp, err := http.Post(cl.api+"/pins/"+c.String()+"?"+q.Encode(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("pinning with a hostile name: %s", resp.Status)
	}
	for _, args := range [][]string{{"pin", "ls"}, {"pin", "ls", c.String()}, {"alloc", "ls"}, {"status"}, {"status", c.String()}} {
		out := cl.ok(args...)
		noTerminalCommand(t, strings.Join(args, " "), out)
		if !strings.Contains(out, escapedHostile) {
			t.Errorf("%s does not show the name escaped as %s:\n%s", strings.Join(args, " "), escapedHostile, out)
		}
	}
	for _, args := range [][]string{{"pin", "ls", "--json"}, {"status", "--json"}} {
		out := cl.ok(args...)
		noTerminalCommand(t, strings.Join(args, " "), out)
		var v struct{ Name string }
		if err := json.Unmarshal([]byte(out), &v); err != nil || v.Name != hostile {
			t.Errorf("%s: the name reads back as %q (%v), want %q", strings.Join(args, " "), v.Name, err, hostile)
		}
	}
}

// A peer's name and its errors, and the API's error messages, are the
// API's text too.
func TestPeerNamesAndErrorsCannotCommandTheTerminal(t *testing.T) {
	name, _ := json.Marshal(hostile)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/id", "/peers":
			_, _ = w.Write([]byte(`{"id":"12D3KooWA","peername":` + string(name) + `,"error":` + string(name) + `,"role":"leader"}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"code":404,"message":` + string(name) + `}`))
		}
	}))
	defer srv.Close()
	for _, args := range [][]string{{"id"}, {"peers", "ls"}, {"pin", "ls", testCID(1).String()}} {
		r := runCLI(t, []string{"FLOTILLA_API=" + srv.URL}, nil, args...)
		noTerminalCommand(t, strings.Join(args, " "), r.stdout+r.stderr)
		if !strings.Contains(r.stdout+r.stderr, escapedHostile) {
			t.Errorf("%s does not show the API's text escaped:\n%s", strings.Join(args, " "), r)
		}
	}
}
