package main

import (
	"strings"
	"testing"
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
