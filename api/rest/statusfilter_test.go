package rest

import (
	"testing"

	"github.com/ipfs-cluster/ipfs-cluster/api"

	"github.com/flotilla-ipfs/flotilla/types"
)

// Every status filter that ipfs-cluster's client sends is one GET /pins
// takes, and every name Flotilla takes (the CLI's --filter too) is one
// ipfs-cluster knows.
func TestCompatStatusFilterNames(t *testing.T) {
	e, c := compatEnv(t, Config{})
	pinSome(t, e, 1)
	theirs := api.TrackerStatusAll()
	if len(theirs) < 14 {
		t.Fatalf("ipfs-cluster lists %d statuses: %v", len(theirs), theirs)
	}
	for _, st := range theirs {
		out := make(chan api.GlobalPinInfo, 10)
		if err := c.StatusAll(t.Context(), st, false, out); err != nil {
			t.Errorf("filter %s: %v", st, err)
		}
	}
	for _, name := range types.StatusFilterNames() {
		if api.TrackerStatusFromString(name) == api.TrackerStatusUndefined && name != "undefined" {
			t.Errorf("%s is no ipfs-cluster filter name", name)
		}
	}
}
