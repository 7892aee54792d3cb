package main

import (
	"strings"
	"testing"
)

// A wait counts the peers allocated the pin: a peer not allocated it and a
// read-only follower, which pin it all the same, do not end it while the
// allocated peer is still pinning.
func TestWaitCountsOnlyTheAllocatedPeers(t *testing.T) {
	c := testCID(1).String()
	for _, tc := range []struct {
		name        string
		allocations []string
		follower    string
		args        []string
		progress    string
	}{
		{"a peer not allocated and a follower pinned", []string{"id0"}, "id2", []string{"--wait"},
			c + ": pinned on 0/1 peers, 1 pinning\n" + c + ": pinned on 1/1 peers\n"},
		{"a follower pinned a pin allocated everywhere", nil, "id2", []string{"--wait-limit", "2"},
			c + ": pinned on 1/2 peers, 1 pinning\n" + c + ": pinned on 2/2 peers\n"},
	} {
		script := [][3]string{{"pinning", "pinned", "pinned"}, {"pinned", "pinned", "pinned"}}
		if tc.allocations == nil {
			script = [][3]string{{"pinned", "pinning", "pinned"}, {"pinned", "pinned", "pinned"}}
		}
		api := newScriptedAPI(t, script...)
		api.allocations, api.follower = tc.allocations, tc.follower
		r := api.run(false, append([]string{"pin", "add", c, "--no-status"}, tc.args...)...)
		if r.code != 0 {
			t.Fatalf("%s: %s", tc.name, r)
		}
		if got := api.pollCount(); got != 2 {
			t.Errorf("%s: the wait ended after %d status polls, want 2 (once the allocated peers pinned)", tc.name, got)
		}
		if !strings.HasSuffix(r.stdout, tc.progress) {
			t.Errorf("%s: progress\n%s\nwant it to end with\n%s", tc.name, r.stdout, tc.progress)
		}
	}
}
