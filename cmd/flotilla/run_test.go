package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flotilla-ipfs/flotilla/api/rest"
)

// An asked-for help is the output of the command: on stdout, so that
// `flotilla --help | less` shows it, with exit status 0.
func TestAskedForHelpGoesToStdout(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"-h"}, {"--log-level", "debug", "--help"},
		{"pin", "--help"}, {"pin", "add", "--help"}, {"pin", "add", "CID", "-h"}, {"daemon", "--help"},
	} {
		r := runCLI(t, nil, nil, args...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: flotilla") || r.stderr != "" {
			t.Errorf("flotilla %s: want the usage on stdout and exit 0, got %s", strings.Join(args, " "), r)
		}
	}
}

// The usage after a mistake is an error's: on stderr, with exit status 2.
func TestAMistakesUsageGoesToStderr(t *testing.T) {
	for _, args := range [][]string{
		nil, {"--nope"}, {"frobnicate"}, {"pin"}, {"pin", "frob"}, {"pin", "add", "--nope", "CID"}, {"pin", "add"},
	} {
		r := runCLI(t, nil, nil, args...)
		if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "usage: flotilla") {
			t.Errorf("flotilla %s: want the usage on stderr and exit 2, got %s", strings.Join(args, " "), r)
		}
	}
}

// A bad --log-level is refused whatever the command, since only the daemon
// would ever read it.
func TestABadLogLevelIsAMistake(t *testing.T) {
	r := runCLI(t, nil, nil, "--log-level", "bogus", "version")
	if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, `invalid value "bogus" for flag -log-level`) {
		t.Fatalf("--log-level bogus version: want exit 2 naming the flag, got %s", r)
	}
	if r := runCLI(t, nil, nil, "--log-level", "WARN", "version"); r.code != 0 {
		t.Fatalf("--log-level WARN version: %s", r)
	}
}

// --api before the command, where ipfs-cluster-ctl's users put --host,
// reaches the API; the command's own --api wins over it, and it wins over
// FLOTILLA_API.
func TestAPIBeforeTheCommand(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTeapot)
		_, _ = w.Write(rest.ErrorJSON(http.StatusTeapot, "the test API answered "+r.URL.Path))
	}))
	defer srv.Close()
	for _, args := range [][]string{
		{"--api", srv.URL, "id"},
		{"--api", "ftp://nowhere", "id", "--api", srv.URL},
	} {
		r := runCLI(t, []string{"FLOTILLA_API=127.0.0.1:1"}, nil, args...)
		if r.code != 1 || !strings.Contains(r.stderr, "the test API answered /id") {
			t.Errorf("flotilla %s: want the test API's answer, got %s", strings.Join(args, " "), r)
		}
	}
	if r := runCLI(t, nil, nil, "--api", "ftp://nowhere", "id"); r.code != 2 || !strings.Contains(r.stderr, "--api") {
		t.Errorf("a bad --api before the command: want exit 2 naming the flag, got %s", r)
	}
}

// --path and --log-level, the global flags, also work after the command
// name, as users type them (`flotilla init --path DIR`).
func TestGlobalFlagsAfterTheCommand(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	if r := runCLI(t, nil, nil, "init", "--path", home); r.code != 0 {
		t.Fatalf("init --path: %s", r)
	}
	if _, err := os.Stat(filepath.Join(home, "service.json")); err != nil {
		t.Fatalf("init --path wrote no service.json there: %v", err)
	}
	// A peer that never ran has no state to export: the error names the
	// data folder of the home given.
	if r := runCLI(t, nil, nil, "state", "export", "--path", home); !strings.Contains(r.stderr, filepath.Join(home, "data")+" holds no peer state") {
		t.Fatalf("state export --path: %s", r)
	}
	if r := runCLI(t, nil, nil, "version", "--log-level", "debug"); r.code != 0 {
		t.Fatalf("version --log-level debug: %s", r)
	}
	r := runCLI(t, nil, nil, "version", "--log-level", "bogus")
	if r.code != 2 || !strings.Contains(r.stderr, `invalid value "bogus" for flag -log-level`) {
		t.Fatalf("version --log-level bogus: want exit 2 naming the flag, got %s", r)
	}
}
