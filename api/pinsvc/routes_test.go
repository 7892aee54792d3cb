package pinsvc

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/multiformats/go-multibase"

	"github.com/flotilla-ipfs/flotilla/alloc"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

const origin = "/ip4/198.51.100.7/tcp/4001/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"

func TestAddCommitsAndAnswers202(t *testing.T) {
	a := newAPI(t)
	c := testCid(1)
	a.fake.SetDelegates("/ip4/203.0.113.1/tcp/4001", "not an address", origin, origin)
	ps := a.do("POST", "/pins", map[string]any{
		"cid":     c.String(),
		"name":    "my pin/ä",
		"origins": []string{origin, "/ip4/10.0.0.1/tcp/4001", "garbage", origin},
		"meta":    map[string]string{"app": "x"},
	}).status(t, http.StatusAccepted)

	if ps.RequestID != c.String() || ps.Status != queued {
		t.Fatalf("requestid %q status %q, want %s queued", ps.RequestID, ps.Status, c)
	}
	if ps.Pin.Cid != c.String() || ps.Pin.Name != "my pin/ä" || ps.Pin.Meta["app"] != "x" {
		t.Fatalf("pin not echoed: %+v", ps.Pin)
	}
	// Only origins a peer can dial, once each.
	if !slices.Equal(ps.Pin.Origins, []string{origin}) {
		t.Fatalf("origins %v", ps.Pin.Origins)
	}
	// Kubo aborts on a delegate without /p2p, so none may be sent.
	if !slices.Equal(ps.Delegates, []string{origin}) {
		t.Fatalf("delegates %v", ps.Delegates)
	}
	p, ok := a.fake.Stored(c)
	if !ok {
		t.Fatal("pin not committed")
	}
	if p.Mode != storage.Recursive || p.Name != "my pin/ä" || p.Metadata["app"] != "x" ||
		!slices.Equal(p.Origins, []string{origin}) || p.ReplicationFactorMin != 0 || p.ReplicationFactorMax != 0 {
		t.Fatalf("committed pin %+v", p)
	}
	if !ps.Created.Equal(p.Timestamp) {
		t.Fatalf("created %s, want the pin's timestamp %s to the nanosecond", ps.Created, p.Timestamp)
	}
}

func TestAddAgainUpdatesTheSamePinAndKeepsItsPlacement(t *testing.T) {
	a := newAPI(t)
	c := testCid(1)
	a.fake.put(storage.Pin{Cid: c, Name: "old", ReplicationFactorMin: 2, ReplicationFactorMax: 3,
		UserAllocations: []string{"peer-b"}, Timestamp: time.Now()}, "pinned")
	ps := a.do("POST", "/pins", map[string]any{"cid": c.String(), "name": "new"}).status(t, http.StatusAccepted)
	if ps.RequestID != c.String() || ps.Status != pinned {
		t.Fatalf("requestid %q status %q", ps.RequestID, ps.Status)
	}
	p, _ := a.fake.Stored(c)
	if p.Name != "new" || p.ReplicationFactorMin != 2 || p.ReplicationFactorMax != 3 || !slices.Equal(p.UserAllocations, []string{"peer-b"}) {
		t.Fatalf("re-pin lost the operator's placement or the new name: %+v", p)
	}
}

func TestAddRefusesBadBodies(t *testing.T) {
	c := testCid(1).String()
	manyMeta := map[string]string{}
	for i := range 1001 {
		manyMeta[fmt.Sprint(i)] = "v"
	}
	for _, tc := range []struct {
		name, details string
		body          any
	}{
		{"empty", "empty body", ""},
		{"malformed", "malformed JSON", `{"cid":`},
		{"not an object", "must be a JSON object", `["` + c + `"]`},
		{"unknown field", `unknown field "cids"`, `{"cids":"` + c + `"}`},
		{"no cid", `"cid" is required`, `{"name":"x"}`},
		{"null", `"cid" is required`, `null`},
		{"bad cid", `invalid cid "nope"`, `{"cid":"nope"}`},
		{"meta not strings", "meta must be an object whose values are strings, got a number", `{"cid":"` + c + `","meta":{"n":1}}`},
		{"origins not array", "origins must be an array of strings, got a string", `{"cid":"` + c + `","origins":"/ip4/1.2.3.4"}`},
		{"origin not a string", "origins must be an array of strings, got a number", `{"cid":"` + c + `","origins":[1]}`},
		{"trailing data", "unexpected data after", `{"cid":"` + c + `"} {}`},
		{"long name", "256 characters", map[string]any{"cid": c, "name": strings.Repeat("é", 256)}},
		{"too much meta", "1001 entries", map[string]any{"cid": c, "meta": manyMeta}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAPI(t)
			details := a.do("POST", "/pins", tc.body).failure(t, http.StatusBadRequest, "BAD_REQUEST")
			if !strings.Contains(details, tc.details) {
				t.Fatalf("details %q lack %q", details, tc.details)
			}
			if ops := a.fake.Commits(); len(ops) != 0 {
				t.Fatalf("a refused request committed %v", ops)
			}
		})
	}
	t.Run("name of 255 characters is fine", func(t *testing.T) {
		a := newAPI(t)
		a.do("POST", "/pins", map[string]any{"cid": c, "name": strings.Repeat("é", 255)}).status(t, http.StatusAccepted)
	})
	t.Run("too large", func(t *testing.T) {
		a := newAPI(t)
		big := `{"cid":"` + c + `","name":"` + strings.Repeat("x", 2<<20) + `"}`
		a.do("POST", "/pins", big).failure(t, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE")
	})
}

func TestGetByRequestID(t *testing.T) {
	a := newAPI(t)
	c := testCid(1)
	id := a.do("POST", "/pins", map[string]any{"cid": c.String()}).status(t, http.StatusAccepted).RequestID

	// Kubo polls at once and compares the requestid byte for byte.
	got := a.do("GET", "/pins/"+id, nil).status(t, http.StatusOK)
	if got.RequestID != id || got.Pin.Cid != c.String() {
		t.Fatalf("GET answered %+v for %s", got, id)
	}
	a.fake.SetPeerMap(c, map[string]types.PinStatus{"peer-a": {Status: "pinning"}})
	if got := a.do("GET", "/pins/"+id, nil).status(t, http.StatusOK); got.Status != pinning {
		t.Fatalf("status %q, want pinning", got.Status)
	}
	// Another spelling of the same CID finds it, answered canonically.
	b36, err := c.StringOfBase(multibase.Base36)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.do("GET", "/pins/"+b36, nil).status(t, http.StatusOK); got.RequestID != id {
		t.Fatalf("requestid %q for %s, want %s", got.RequestID, b36, id)
	}
	a.do("GET", "/pins/"+testCid(2).String(), nil).failure(t, http.StatusNotFound, "NOT_FOUND")
	a.do("GET", "/pins/req-1", nil).failure(t, http.StatusNotFound, "NOT_FOUND")
}

func TestCIDv0RequestIDStaysBase58(t *testing.T) {
	a := newAPI(t)
	v0 := "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"
	ps := a.do("POST", "/pins", map[string]any{"cid": v0}).status(t, http.StatusAccepted)
	if ps.RequestID != v0 || ps.Pin.Cid != v0 {
		t.Fatalf("requestid %q cid %q, want %s as sent", ps.RequestID, ps.Pin.Cid, v0)
	}
	a.do("GET", "/pins/"+v0, nil).status(t, http.StatusOK)
}

func TestDeleteRemovesAtOnce(t *testing.T) {
	a := newAPI(t)
	c := testCid(1)
	a.fake.put(storage.Pin{Cid: c, Timestamp: time.Now()}, "pinned")
	r := a.do("DELETE", "/pins/"+c.String(), nil)
	r.expect(t, http.StatusAccepted)
	if _, ok := a.fake.Stored(c); ok {
		t.Fatal("DELETE answered before the unpin was committed")
	}
	a.do("GET", "/pins/"+c.String(), nil).failure(t, http.StatusNotFound, "NOT_FOUND")
	if res := a.do("GET", "/pins?status=queued,pinning,pinned,failed", nil).results(t); res.Count != 0 {
		t.Fatalf("deleted pin still listed: %+v", res)
	}
	a.do("DELETE", "/pins/"+c.String(), nil).failure(t, http.StatusNotFound, "NOT_FOUND")
}

func TestReplacePinsTheNewBeforeUnpinningTheOld(t *testing.T) {
	a := newAPI(t)
	old, neu := testCid(1), testCid(2)
	a.fake.put(storage.Pin{Cid: old, Name: "policy/x/mfs", ReplicationFactorMin: 2, ReplicationFactorMax: 2, Timestamp: time.Now()}, "pinned")

	ps := a.do("POST", "/pins/"+old.String(), map[string]any{"cid": neu.String(), "name": "policy/x/mfs"}).status(t, http.StatusAccepted)
	if ps.RequestID != neu.String() || ps.Pin.Cid != neu.String() || ps.Pin.Name != "policy/x/mfs" {
		t.Fatalf("replace answered %+v", ps)
	}
	if ops := a.fake.Commits(); !slices.Equal(ops, []string{"pin " + neu.String(), "unpin " + old.String()}) {
		t.Fatalf("commits %v: the new pin must come first", ops)
	}
	p, _ := a.fake.Stored(neu)
	if !p.PinUpdate.Equals(old) || p.ReplicationFactorMin != 2 || p.ReplicationFactorMax != 2 {
		t.Fatalf("new pin %+v should update the old one and keep its placement", p)
	}
	a.do("GET", "/pins/"+old.String(), nil).failure(t, http.StatusNotFound, "NOT_FOUND")
	a.do("GET", "/pins/"+neu.String(), nil).status(t, http.StatusOK)
}

func TestReplaceWithTheSameCIDOnlyUpdates(t *testing.T) {
	a := newAPI(t)
	c := testCid(1)
	a.fake.put(storage.Pin{Cid: c, Name: "a", Timestamp: time.Now()}, "pinned")
	ps := a.do("POST", "/pins/"+c.String(), map[string]any{"cid": c.String(), "name": "b", "meta": map[string]string{"k": "v"}}).status(t, http.StatusAccepted)
	if ps.RequestID != c.String() || ps.Pin.Name != "b" {
		t.Fatalf("replace answered %+v", ps)
	}
	if ops := a.fake.Commits(); !slices.Equal(ops, []string{"pin " + c.String()}) {
		t.Fatalf("commits %v: nothing may be unpinned", ops)
	}
	if p, _ := a.fake.Stored(c); p.Name != "b" || p.Metadata["k"] != "v" || p.PinUpdate.Defined() {
		t.Fatalf("pin %+v", p)
	}
}

func TestReplaceRefusals(t *testing.T) {
	a := newAPI(t)
	old := testCid(1)
	a.fake.put(storage.Pin{Cid: old, Timestamp: time.Now()}, "pinned")
	a.do("POST", "/pins/"+testCid(3).String(), map[string]any{"cid": testCid(2).String()}).failure(t, http.StatusNotFound, "NOT_FOUND")
	a.do("POST", "/pins/"+old.String(), `{"cid":"nope"}`).failure(t, http.StatusBadRequest, "BAD_REQUEST")
	if ops := a.fake.Commits(); len(ops) != 0 {
		t.Fatalf("refused replaces committed %v", ops)
	}
	// A failed unpin of the old pin is reported; the call can be repeated.
	a.fake.FailUnpin(errors.New("disk full"))
	a.do("POST", "/pins/"+old.String(), map[string]any{"cid": testCid(2).String()}).failure(t, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR")
	a.fake.FailUnpin(nil)
	a.do("POST", "/pins/"+old.String(), map[string]any{"cid": testCid(2).String()}).status(t, http.StatusAccepted)
	if _, ok := a.fake.Stored(old); ok {
		t.Fatal("old pin kept after a successful retry")
	}
}

func TestAuth(t *testing.T) {
	a := newAPI(t, "s3cret", "other")
	c := testCid(1).String()
	routes := []struct{ method, path string }{
		{"GET", "/pins"}, {"POST", "/pins"}, {"GET", "/pins/" + c}, {"POST", "/pins/" + c}, {"DELETE", "/pins/" + c}, {"GET", "/nowhere"},
	}
	for _, header := range []string{"", "Bearer", "Bearer ", "Bearer wrong", "Basic czNjcmV0", "s3cret", "Bearer s3cretx"} {
		for _, rt := range routes {
			req, _ := http.NewRequest(rt.method, a.url+rt.path, strings.NewReader(`{"cid":"`+c+`"}`))
			if header != "" {
				req.Header.Set("Authorization", header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			r := response{code: resp.StatusCode, hdr: resp.Header}
			r.body = readAll(t, resp)
			r.failure(t, http.StatusUnauthorized, "UNAUTHORIZED")
			if !strings.HasPrefix(r.hdr.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("401 without a Bearer challenge for %q", header)
			}
		}
	}
	if ops := a.fake.Commits(); len(ops) != 0 {
		t.Fatalf("unauthenticated requests committed %v", ops)
	}
	a.token = "other"
	a.do("POST", "/pins", map[string]any{"cid": c}).status(t, http.StatusAccepted)
	a.token = "s3cret"
	a.do("GET", "/pins/"+c, nil).status(t, http.StatusOK)
}

func TestNoTokensAcceptsAnyCaller(t *testing.T) {
	a := newAPI(t)
	a.token = "anything"
	a.do("GET", "/pins", nil).results(t)
}

func TestClusterErrorsBecomeFailures(t *testing.T) {
	for _, tc := range []struct {
		err    error
		code   int
		reason string
	}{
		{&alloc.NotEnoughPeersError{Needed: 2, Wanted: 3, Available: 1}, http.StatusServiceUnavailable, "NOT_ENOUGH_PEERS"},
		{fmt.Errorf("commit: %w", types.ErrNoLeader), http.StatusServiceUnavailable, "NO_LEADER"},
		{errors.New("bolt: disk I/O"), http.StatusInternalServerError, "INTERNAL_SERVER_ERROR"},
	} {
		a := newAPI(t)
		a.fake.FailPin(tc.err)
		details := a.do("POST", "/pins", map[string]any{"cid": testCid(1).String()}).failure(t, tc.code, tc.reason)
		if details != tc.err.Error() {
			t.Fatalf("details %q, want %q", details, tc.err)
		}
	}
	a := newAPI(t)
	a.fake.FailList(errors.New("bolt: disk I/O"), 0)
	a.do("GET", "/pins", nil).failure(t, http.StatusInternalServerError, "INTERNAL_SERVER_ERROR")
	a.do("GET", "/nowhere", nil).failure(t, http.StatusNotFound, "NOT_FOUND")
	a.do("PUT", "/pins", nil).failure(t, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED")
	// No redirect: it would turn Kubo's POST into a GET.
	a.do("POST", "/pins/", map[string]any{"cid": testCid(1).String()}).failure(t, http.StatusNotFound, "NOT_FOUND")
}

func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The spec's PinStatus.pin holds the Pin as sent, and users paste the CID
// Kubo prints back into `ipfs pin remote rm --cid`.
func TestAnswersEchoTheCIDAsSent(t *testing.T) {
	a := newAPI(t)
	c, neu := testCid(1), testCid(2)
	b36, err := c.StringOfBase(multibase.Base36)
	if err != nil {
		t.Fatal(err)
	}
	added := a.do("POST", "/pins", map[string]any{"cid": b36}).status(t, http.StatusAccepted)
	if added.Pin.Cid != b36 || added.RequestID != c.String() {
		t.Fatalf("POST answered pin.cid %q requestid %q, want %s and the canonical %s", added.Pin.Cid, added.RequestID, b36, c)
	}
	neu58, err := neu.StringOfBase(multibase.Base58BTC)
	if err != nil {
		t.Fatal(err)
	}
	replaced := a.do("POST", "/pins/"+added.RequestID, map[string]any{"cid": neu58}).status(t, http.StatusAccepted)
	if replaced.Pin.Cid != neu58 || replaced.RequestID != neu.String() {
		t.Fatalf("replace answered pin.cid %q requestid %q, want %s and the canonical %s", replaced.Pin.Cid, replaced.RequestID, neu58, neu)
	}
	// The spelling is not stored: later answers are canonical.
	if got := a.do("GET", "/pins/"+replaced.RequestID, nil).status(t, http.StatusOK); got.Pin.Cid != neu.String() {
		t.Fatalf("GET answered pin.cid %q, want %s", got.Pin.Cid, neu)
	}
}
