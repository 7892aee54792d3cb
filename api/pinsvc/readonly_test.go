package pinsvc

import (
	"net/http"
	"strings"
	"testing"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// On a read-only follower, adding, replacing and deleting pins answer 403
// READ_ONLY, and listing still works.
func TestAReadOnlyFollowerRefusesPinWrites(t *testing.T) {
	a := newAPI(t)
	held := testCid(1)
	a.fake.put(storage.Pin{Cid: held, Name: "held"}, "pinned")
	a.fake.FailPin(types.ErrReadOnlyFollower)
	a.fake.FailUnpin(types.ErrReadOnlyFollower)

	for _, r := range []response{
		a.do("POST", "/pins", map[string]any{"cid": testCid(2).String()}),
		a.do("POST", "/pins/"+held.String(), map[string]any{"cid": testCid(3).String()}),
		a.do("DELETE", "/pins/"+held.String(), nil),
	} {
		if details := r.failure(t, http.StatusForbidden, "READ_ONLY"); !strings.Contains(details, "read-only follower") {
			t.Errorf("details %q", details)
		}
	}
	if got := a.do("GET", "/pins", nil).results(t); got.Count != 1 {
		t.Fatalf("listing through a follower: %+v", got)
	}
}
