package main

import (
	"strings"
	"testing"
)

// After "--" every word is an argument, flag-like or not; a "--" given as
// a flag's value is that value, not the end of the flags.
func TestDashesEndTheFlags(t *testing.T) {
	c := testCID(1).String()
	for _, args := range [][]string{
		{"pin", "add", "--", c, "--name", "foo"},
		{"pin", "add", "--", c, "--name"},
		{"pin", "add", "--no-status", "--", c, "--no-status"},
		{"version", "--", "--help"},
	} {
		api := newScriptedAPI(t, pinningScript...)
		r := api.run(false, args...)
		if r.code != 2 || !strings.Contains(r.stderr, "wrong number of arguments") {
			t.Errorf("flotilla %s: want the words after -- taken as arguments (too many), got %s", strings.Join(args, " "), r)
		}
	}
	for _, args := range [][]string{
		{"pin", "add", "--no-status", "--", c},
		{"pin", "add", "--name", "--", c, "--no-status"},
		{"pin", "add", "--name=x", "--no-status", "--", c},
	} {
		api := newScriptedAPI(t, pinningScript...)
		if r := api.run(false, args...); r.code != 0 {
			t.Errorf("flotilla %s: %s", strings.Join(args, " "), r)
		}
	}
}
