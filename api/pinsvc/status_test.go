package pinsvc

import (
	"net/http"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

func TestStatusComesFromTheAllocatedPeers(t *testing.T) {
	type peers = map[string]types.PinStatus
	alloc := []string{"a", "b"}
	for _, tc := range []struct {
		name        string
		allocations []string
		peers       peers
		want        string
		details     string
	}{
		{"any pinned", alloc, peers{"a": {Status: "pinned"}, "b": {Status: "pin_error", Error: "boom"}}, pinned, "b: boom"},
		{"pinning beats queued", alloc, peers{"a": {Status: "pin_queued"}, "b": {Status: "pinning"}}, pinning, ""},
		{"all failed", alloc, peers{"a": {Status: "pin_error", Error: "x"}, "b": {Status: "pin_error", Error: "y"}}, failed, "a: x; b: y"},
		// An unreachable peer may still pin it: failed would end Kubo's wait for good.
		{"failed and unreachable", alloc, peers{"a": {Status: "pin_error", Error: "x"}, "b": {Status: "cluster_error", Error: "timeout"}}, queued, "a: x; b: timeout"},
		{"not yet tracked", alloc, peers{"a": {Status: "unpinned"}, "b": {Status: "pin_queued"}}, queued, ""},
		{"unallocated peers do not count", alloc, peers{"a": {Status: "pin_queued"}, "c": {Status: "pinned"}}, queued, ""},
		{"remote peers do not count", nil, peers{"a": {Status: "remote"}, "b": {Status: "pin_error", Error: "x"}}, failed, "b: x"},
		{"everywhere: any peer", nil, peers{"a": {Status: "pin_queued"}, "c": {Status: "pinned"}}, pinned, ""},
		{"no peer answered", alloc, peers{}, queued, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := storage.Pin{Cid: testCid(1), Allocations: tc.allocations}
			if tc.allocations == nil {
				p.ReplicationFactorMin, p.ReplicationFactorMax = -1, -1
			}
			got, details := peerStatus(p, tc.peers)
			if got != tc.want || details != tc.details {
				t.Fatalf("status %q details %q, want %q %q", got, details, tc.want, tc.details)
			}
		})
	}
}

func TestFailedPinCarriesItsErrorInInfo(t *testing.T) {
	a := newAPI(t)
	c := testCid(1)
	a.fake.put(storage.Pin{Cid: c, Allocations: []string{"peer-a"}, Timestamp: time.Now()}, "")
	a.fake.SetPeerMap(c, map[string]types.PinStatus{"peer-a": {Status: "pin_error", Error: "context deadline exceeded"}})
	ps := a.do("GET", "/pins/"+c.String(), nil).status(t, http.StatusOK)
	if ps.Status != failed || ps.Info["status_details"] != "peer-a: context deadline exceeded" {
		t.Fatalf("status %q info %v", ps.Status, ps.Info)
	}
}
