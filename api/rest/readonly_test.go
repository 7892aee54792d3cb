package rest

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/flotilla-ipfs/flotilla/internal/fakecluster"
	"github.com/flotilla-ipfs/flotilla/types"
)

// A read-only follower's writes answer 403 with ipfs-cluster's error body,
// and an upload never reaches its node.
func TestAReadOnlyFollowerRefusesWritesWith403(t *testing.T) {
	var upstreamCalls atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		upstreamCalls.Add(1)
		http.Error(w, "not expected", http.StatusTeapot)
	}))
	t.Cleanup(up.Close)
	u, _ := url.Parse(up.URL)
	e := newEnv(t, Config{UpstreamURL: u, ReadOnly: true})
	e.fc.FailPin(types.ErrReadOnlyFollower)
	e.fc.FailUnpin(types.ErrReadOnlyFollower)
	c := fakecluster.Cid(1)

	e.postAdd("", "a.txt", "hello").wantError(t, http.StatusForbidden, "read-only follower")
	e.postAdd("format=car", "a.car", "not even a CAR").wantError(t, http.StatusForbidden, "read-only follower")
	if n := upstreamCalls.Load(); n != 0 {
		t.Fatalf("uploads reached the follower's node: %d calls", n)
	}
	e.do(http.MethodPost, "/pins/"+c.String(), nil).wantError(t, http.StatusForbidden, "read-only follower")
	e.do(http.MethodDelete, "/pins/"+c.String(), nil).wantError(t, http.StatusForbidden, "read-only follower")
	e.get("/pins/"+c.String()).wantStatus(t, http.StatusOK)
}
