package intercept

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// mustV1 is the base32 CIDv1 spelling of c.
func mustV1(c cid.Cid) string {
	return cid.NewCidV1(c.Type(), c.Hash()).String()
}

func TestPinUpdate(t *testing.T) {
	from, to := testCid(1), testCid(2)
	old := storage.Pin{Cid: from, Name: "site", Mode: storage.Recursive, ReplicationFactorMin: 2, ReplicationFactorMax: 3,
		Metadata: map[string]string{"k": "v"}}
	f := newFakeCluster(old)
	h := newTestHandlers(t, f, nil, "", true)

	res := post(t, h, "/api/v0/pin/update?arg=/ipfs/"+from.String()+"&arg=/ipfs/"+to.String(), nil)
	checkGolden(t, res, 200, kuboHeaders(), fmt.Sprintf(`{"Pins":["%s","%s"]}`+"\n", from, to))
	p, ok := f.Stored(to)
	if !ok || p.Name != "site" || p.ReplicationFactorMin != 2 || p.ReplicationFactorMax != 3 ||
		p.Metadata["k"] != "v" || p.PinUpdate != from || p.Mode != storage.Recursive {
		t.Errorf("new pin %+v", p)
	}
	if _, ok := f.Stored(from); ok {
		t.Error("old pin kept with unpin defaulting to true")
	}
	// In "pinned" mode it answers once the new pin is pinned and this
	// peer's node dropped the old one, as Kubo's does.
	want := []string{"pin " + to.String() + " recursive", "wait " + to.String(), "unpin " + from.String(), "wait-unpin " + from.String()}
	if got := f.Calls(); !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
}

func TestPinUpdateKeepsOldWithUnpinFalse(t *testing.T) {
	from, to := testCid(1), testCid(2)
	f := newFakeCluster(recursivePin(from, ""))
	h := newTestHandlers(t, f, nil, "", true)
	res := post(t, h, "/api/v0/pin/update?arg="+from.String()+"&arg="+to.String()+"&unpin=false&encoding=text", nil)
	if body := readBody(t, res); body != fmt.Sprintf("updated %s to %s\n", from, to) {
		t.Errorf("body %q", body)
	}
	if _, ok := f.Stored(from); !ok {
		t.Error("old pin removed with unpin=false")
	}
	if got := f.Calls(); slices.Contains(got, "wait-unpin "+from.String()) {
		t.Errorf("calls %v: waited for an unpin that was not asked for", got)
	}
}

func TestPinUpdateCommittedModeDoesNotWaitForTheUnpin(t *testing.T) {
	from, to := testCid(1), testCid(2)
	f := newFakeCluster(recursivePin(from, ""))
	f.OnWaitUnpinned(func(context.Context, storage.Pin) error { return errors.New("must not wait") })
	h := newTestHandlers(t, f, nil, "", false)
	res := post(t, h, "/api/v0/pin/update?arg="+from.String()+"&arg="+to.String(), nil)
	if body := readBody(t, res); body != fmt.Sprintf(`{"Pins":["%s","%s"]}`+"\n", from, to) {
		t.Errorf("body %q", body)
	}
	if _, ok := f.Stored(from); ok {
		t.Error("old pin kept with unpin defaulting to true")
	}
}

// The old pin's unpin failing on this peer's node is Kubo's error, after
// the new pin was made and the old one left the pinset.
func TestPinUpdateUnpinErrorIsKubos(t *testing.T) {
	from, to := testCid(1), testCid(2)
	f := newFakeCluster(recursivePin(from, "site"))
	var waited storage.Pin
	f.OnWaitUnpinned(func(_ context.Context, was storage.Pin) error {
		waited = was
		return errors.New("context deadline exceeded")
	})
	h := newTestHandlers(t, f, nil, "", true)
	res := post(t, h, "/api/v0/pin/update?arg="+from.String()+"&arg="+to.String(), nil)
	checkGolden(t, res, 500, kuboHeaders(), `{"Message":"context deadline exceeded","Code":0,"Type":"error"}`+"\n")
	if waited.Cid != from || waited.Name != "site" {
		t.Errorf("waited for %+v, want the removed old pin", waited)
	}
	if _, ok := f.Stored(to); !ok {
		t.Error("the new pin is missing")
	}
}

func TestPinUpdateErrors(t *testing.T) {
	rec, dir, other := testCid(1), testCid(2), testCid(3)
	f := newFakeCluster(recursivePin(rec, ""), directPin(dir, ""), recursivePin(other, ""))
	h := newTestHandlers(t, f, nil, "", true)
	cases := []struct{ from, to, msg string }{
		{testCid(9).String(), rec.String(), "'from' cid was not recursively pinned already"},
		{dir.String(), rec.String(), "'from' cid was not recursively pinned already"},
		{rec.String(), other.String(), "'to' cid was already recursively pinned"},
	}
	for _, tc := range cases {
		res := post(t, h, "/api/v0/pin/update?arg="+tc.from+"&arg="+tc.to, nil)
		checkGolden(t, res, 500, kuboHeaders(), fmt.Sprintf(`{"Message":%q,"Code":0,"Type":"error"}`+"\n", tc.msg))
	}
	res := post(t, h, "/api/v0/pin/update?arg="+rec.String(), nil)
	if body := readBody(t, res); res.StatusCode != 400 || body != "argument \"to-path\" is required\n" {
		t.Errorf("one arg: %d %q", res.StatusCode, body)
	}
	res = post(t, h, "/api/v0/pin/update", nil)
	if body := readBody(t, res); res.StatusCode != 400 || body != "argument \"from-path\" is required\n" {
		t.Errorf("no arg: %d %q", res.StatusCode, body)
	}
	// The path-segment form is the first argument.
	res = post(t, h, "/api/v0/pin/update/"+rec.String()+"?arg="+rec.String(), nil)
	if res.StatusCode != 200 {
		t.Errorf("update onto itself: %d %s", res.StatusCode, readBody(t, res))
	}
	if len(f.Calls()) != 0 {
		t.Errorf("failed updates changed the pinset: %v", f.Calls())
	}
}
