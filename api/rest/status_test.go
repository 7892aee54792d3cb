package rest

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// pinSome adds n pins allocated to peer 0 only and returns their CIDs in
// list order.
func pinSome(t *testing.T, e *testEnv, n int) []cid.Cid {
	t.Helper()
	var out []cid.Cid
	for i := range n {
		c := testCid(t, "pin"+string(rune('a'+i)))
		e.fc.add(storage.Pin{Cid: c, Name: "n" + c.String()[len(c.String())-4:], ReplicationFactorMin: 1, ReplicationFactorMax: 1,
			Allocations: []string{e.fc.Peer(0).ID}})
		out = append(out, c)
	}
	var ordered []cid.Cid
	_ = e.fc.List(t.Context(), func(p storage.Pin) error { ordered = append(ordered, p.Cid); return nil })
	return ordered
}

func TestStatusOfOneCid(t *testing.T) {
	e := newEnv(t, Config{})
	c := pinSome(t, e, 1)[0]
	r := e.get("/pins/"+c.String()).wantStatus(t, http.StatusOK)
	got := object(t, r.body)
	wantKeys(t, "GlobalPinInfo", got, gpiKeys...)
	pm := got["peer_map"].(map[string]any)
	if len(pm) != 3 {
		t.Fatalf("peer_map %v", pm)
	}
	p0 := pm[e.fc.Peer(0).ID].(map[string]any)
	wantKeys(t, "PinInfoShort", p0, pinStatusKeys...)
	if p0["status"] != "pinned" || p0["peername"] != "peer0" || pm[e.fc.Peer(1).ID].(map[string]any)["status"] != "remote" {
		t.Errorf("peer_map %v", pm)
	}
	if got["created"] != "2030-01-02T03:04:05Z" {
		t.Errorf("created %v", got["created"])
	}

	// local=true: this peer's entry only.
	r = e.get("/pins/"+c.String()+"?local=true").wantStatus(t, http.StatusOK)
	if pm := object(t, r.body)["peer_map"].(map[string]any); len(pm) != 1 || pm[e.fc.Peer(0).ID] == nil {
		t.Errorf("local peer_map %v", pm)
	}
	// Both asked the IPFS nodes, as ipfs-cluster's status of one CID does.
	if n := e.fc.CheckedCalls(); n != 2 {
		t.Errorf("%d of the two statuses were checked against the IPFS nodes", n)
	}
}

func TestStatusOfUnknownCidIsUnpinnedEverywhere(t *testing.T) {
	e := newEnv(t, Config{})
	c := testCid(t, "never pinned")
	r := e.get("/pins/"+c.String()).wantStatus(t, http.StatusOK)
	got := object(t, r.body)
	wantKeys(t, "GlobalPinInfo", got, gpiKeys...)
	if got["cid"] != c.String() {
		t.Errorf("cid %v", got["cid"])
	}
	for id, st := range got["peer_map"].(map[string]any) {
		if st.(map[string]any)["status"] != "unpinned" {
			t.Errorf("peer %s: %v", id, st)
		}
	}
	e.get("/pins/bogus").wantError(t, http.StatusBadRequest, "error decoding Cid")
}

func TestStatusAllStreamsInListOrder(t *testing.T) {
	e := newEnv(t, Config{})
	cids := pinSome(t, e, 40) // more than statusConcurrency, so the order is tested
	r := e.get("/pins").wantStatus(t, http.StatusOK)
	// Go's client lists declared trailers in Trailer, set or not.
	if v, declared := r.resp.Trailer["X-Stream-Error"]; !declared || strings.Join(v, "") != "" {
		t.Errorf("trailer X-Stream-Error declared %v, value %q", declared, v)
	}
	items := ndjson(t, r.body)
	if len(items) != len(cids) {
		t.Fatalf("%d items, want %d", len(items), len(cids))
	}
	for i, it := range items {
		wantKeys(t, "GlobalPinInfo", it, gpiKeys...)
		if it["cid"] != cids[i].String() {
			t.Fatalf("item %d is %v, want %s: the stream must keep the pinset's order", i, it["cid"], cids[i])
		}
	}
}

func TestStatusAllFilters(t *testing.T) {
	e := newEnv(t, Config{})
	cids := pinSome(t, e, 3)
	p0, p1 := e.fc.Peer(0).ID, e.fc.Peer(1).ID
	e.fc.SetStatus(cids[1], p0, "pin_error")
	e.fc.SetStatus(cids[2], p1, "pin_queued")

	check := func(query string, want map[cid.Cid][]string) {
		t.Helper()
		r := e.get("/pins?" + query)
		if len(want) == 0 {
			r.wantStatus(t, http.StatusNoContent)
			return
		}
		items := ndjson(t, r.wantStatus(t, http.StatusOK).body)
		if len(items) != len(want) {
			t.Fatalf("%s: %d items, want %d: %s", query, len(items), len(want), r.body)
		}
		for _, it := range items {
			c, _ := cid.Decode(it["cid"].(string))
			peers, ok := want[c]
			if !ok {
				t.Fatalf("%s: unexpected %s", query, c)
			}
			pm := it["peer_map"].(map[string]any)
			if len(pm) != len(peers) {
				t.Errorf("%s: %s peer_map %v, want peers %v", query, c, pm, peers)
			}
			for _, p := range peers {
				if pm[p] == nil {
					t.Errorf("%s: %s lacks peer %s", query, c, p)
				}
			}
		}
	}
	check("filter=pin_error", map[cid.Cid][]string{cids[1]: {p0}})
	check("filter=error", map[cid.Cid][]string{cids[1]: {p0}})
	check("filter=queued", map[cid.Cid][]string{cids[2]: {p1}})
	check("filter=pin_error,queued,bogus", map[cid.Cid][]string{cids[1]: {p0}, cids[2]: {p1}})
	check("filter=pinned", map[cid.Cid][]string{cids[0]: {p0}, cids[2]: {p0}})
	check("filter=unpin_error", nil)
	check("filter=pinned&local=true", map[cid.Cid][]string{cids[0]: {p0}, cids[2]: {p0}})
	if n := e.fc.CheckedCalls(); n != 0 {
		t.Errorf("a listing of the pinset asked the IPFS nodes %d times", n)
	}
	check("cids="+cids[0].String()+","+testCid(t, "unknown").String()+"&filter=unpinned",
		map[cid.Cid][]string{testCid(t, "unknown"): {p0, p1, e.fc.Peer(2).ID}})
	check("cids="+cids[2].String(), map[cid.Cid][]string{cids[2]: {p0, p1, e.fc.Peer(2).ID}})
	// Named CIDs are checked against the IPFS nodes, as one CID's status is.
	if n := e.fc.CheckedCalls(); n != 2 {
		t.Errorf("the two statuses of named CIDs asked the IPFS nodes %d times, want 2", n)
	}

	e.get("/pins?filter=bogus").wantError(t, http.StatusBadRequest, `invalid filter value "bogus": want statuses among cluster_error, error, pin_error`)
	e.get("/pins?filter=undefined").wantError(t, http.StatusBadRequest, "invalid filter value")
	e.get("/pins?cids=nope").wantError(t, http.StatusBadRequest, "error decoding Cid")
	if e.fc.LocalStatusCalls() == 0 {
		t.Error("local=true did not ask for the local status")
	}
}

func TestStreamsAnswer204WhenEmpty(t *testing.T) {
	e := newEnv(t, Config{})
	for _, path := range []string{"/pins", "/allocations"} {
		r := e.get(path).wantStatus(t, http.StatusNoContent)
		if len(r.body) != 0 {
			t.Errorf("%s: body %q", path, r.body)
		}
	}
	e.do(http.MethodPost, "/pins/recover", nil).wantStatus(t, http.StatusNoContent)
}

func TestStreamErrorBeforeFirstItemIsAnErrorResponse(t *testing.T) {
	e := newEnv(t, Config{})
	pinSome(t, e, 2)
	e.fc.FailList(errors.New("state unreadable"), 0)
	e.get("/pins").wantError(t, http.StatusInternalServerError, "state unreadable")
	e.get("/allocations").wantError(t, http.StatusInternalServerError, "state unreadable")
}

func TestStreamErrorAfterFirstItemGoesToTheTrailer(t *testing.T) {
	for _, tc := range streamCases {
		e := newEnv(t, Config{})
		pinSome(t, e, tc.pins)
		// The list fails at its last pin, after the first lines went out.
		sent := tc.pins - 1
		e.fc.FailList(errors.New("state unreadable"), sent)
		r := e.get(tc.path).wantStatus(t, http.StatusOK)
		if n := len(ndjson(t, r.body)); n != sent {
			t.Errorf("%s: %d items before the error, want %d", tc.path, n, sent)
		}
		if got := r.resp.Trailer.Get("X-Stream-Error"); got != "state unreadable" {
			t.Errorf("%s: trailer %q", tc.path, got)
		}
	}
}

func TestRecover(t *testing.T) {
	e := newEnv(t, Config{})
	cids := pinSome(t, e, 2)
	p0 := e.fc.Peer(0).ID
	e.fc.SetStatus(cids[0], p0, "pin_error")

	r := e.do(http.MethodPost, "/pins/"+cids[0].String()+"/recover", nil).wantStatus(t, http.StatusOK)
	got := object(t, r.body)
	wantKeys(t, "GlobalPinInfo", got, gpiKeys...)
	if st := got["peer_map"].(map[string]any)[p0].(map[string]any)["status"]; st != "pin_queued" {
		t.Errorf("status after recover %v", st)
	}
	if len(e.fc.RecoverCalls()) != 1 || !e.fc.RecoverCalls()[0].Equals(cids[0]) {
		t.Errorf("recover calls %v", e.fc.RecoverCalls())
	}
	r = e.do(http.MethodPost, "/pins/"+cids[0].String()+"/recover?local=true", nil).wantStatus(t, http.StatusOK)
	if pm := object(t, r.body)["peer_map"].(map[string]any); len(pm) != 1 {
		t.Errorf("local recover peer_map %v", pm)
	}
	e.do(http.MethodPost, "/pins/"+testCid(t, "x").String()+"/recover", nil).wantError(t, http.StatusNotFound, "not part of the pinset")
}

func TestRecoverAllStreamsWhatWasRequeued(t *testing.T) {
	e := newEnv(t, Config{})
	cids := pinSome(t, e, 3)
	e.fc.SetRecoverable(cids[2], cids[0])
	e.fc.ResetPeerMapCalls()
	before := e.fc.PeerMapsCalls()
	r := e.do(http.MethodPost, "/pins/recover", nil).wantStatus(t, http.StatusOK)
	items := ndjson(t, r.body)
	if len(items) != 2 || items[0]["cid"] != cids[2].String() || items[1]["cid"] != cids[0].String() {
		t.Fatalf("recover all streamed %s", r.body)
	}
	if one, batches := e.fc.PeerMapCalls(), e.fc.PeerMapsCalls()-before; one != 0 || batches != 1 {
		t.Errorf("the peers were asked %d times one CID and %d times a batch, want one batch", one, batches)
	}
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Errorf("content type %q", r.header.Get("Content-Type"))
	}
}

func TestRecoverAllLocalAsksNoPeer(t *testing.T) {
	e := newEnv(t, Config{})
	cids := pinSome(t, e, 2)
	e.fc.SetRecoverable(cids[1])
	e.fc.ResetPeerMapCalls()
	before := e.fc.PeerMapsCalls()
	r := e.do(http.MethodPost, "/pins/recover?local=true", nil).wantStatus(t, http.StatusOK)
	items := ndjson(t, r.body)
	if len(items) != 1 || items[0]["cid"] != cids[1].String() || len(items[0]["peer_map"].(map[string]any)) != 1 {
		t.Fatalf("local recover all streamed %s", r.body)
	}
	if e.fc.PeerMapCalls() != 0 || e.fc.PeerMapsCalls() != before {
		t.Error("a local recover all asked the peers")
	}
}
