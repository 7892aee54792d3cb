package intercept

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/types"
)

// A read-only follower answers every write in Kubo's words, and an upload
// that would pin never reaches its node.
func TestAReadOnlyFollowerRefusesWritesAsKuboErrors(t *testing.T) {
	pinned, other := testCid(1), testCid(2)
	f := newFakeCluster(recursivePin(pinned, "kept"))
	// The follower's Cluster refuses pins and unpins; its node's uploads
	// are the handlers' to refuse.
	f.FailPin(types.ErrReadOnlyFollower)
	f.FailUnpin(types.ErrReadOnlyFollower)
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		kuboStream(w, `{"Name":"a.txt","Hash":"`+other.String()+`"}`)
	})
	u, _ := url.Parse(up.srv.URL)
	h := New(f, nil, Options{Upstream: u, WaitPinned: true, ReadOnly: true, Log: zerolog.Nop()})
	srv := serveThrough(t, h)

	kuboError := func(what string, res *http.Response, body string) {
		t.Helper()
		var e struct {
			Message string
			Code    int
			Type    string
		}
		if res.StatusCode != http.StatusInternalServerError || json.Unmarshal([]byte(body), &e) != nil || e.Type != "error" ||
			!strings.Contains(e.Message, "read-only follower") {
			t.Errorf("%s through a follower: %d %s", what, res.StatusCode, body)
		}
	}
	for _, q := range []string{
		"pin/add?arg=" + other.String(),
		"pin/rm?arg=" + pinned.String(),
		"pin/update?arg=" + pinned.String() + "&arg=" + other.String(),
	} {
		res, body := postReal(t, srv.URL+"/api/v0/"+q, "", nil)
		kuboError(q, res, body)
	}
	upload, ct := addBody(t)
	res, body := postReal(t, srv.URL+"/api/v0/add?pin=true", ct, upload)
	kuboError("add", res, body)
	if up.callCount() != 0 {
		t.Fatal("an upload that would pin reached the follower's node")
	}
	// pin add and pin update asked, and were refused; the upload did not.
	if _, ok := f.Stored(other); ok || f.PinCalls() != 2 {
		t.Fatalf("pins asked of the cluster: %d", f.PinCalls())
	}

	// Reads work, and so does an upload that pins nothing.
	res, body = postReal(t, srv.URL+"/api/v0/pin/ls?arg="+pinned.String(), "", nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, pinned.String()) {
		t.Fatalf("pin ls through a follower: %d %s", res.StatusCode, body)
	}
	if res, body = postReal(t, srv.URL+"/api/v0/add?pin=false", ct, upload); res.StatusCode != http.StatusOK || up.callCount() != 1 {
		t.Fatalf("add --pin=false through a follower: %d %s", res.StatusCode, body)
	}
}

func (u *fakeUpstream) callCount() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.calls)
}
