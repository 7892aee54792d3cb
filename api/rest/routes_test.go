package rest

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/health"
	"github.com/flotilla-ipfs/flotilla/internal/version"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

func TestIDAndVersion(t *testing.T) {
	e := newEnv(t, Config{})
	self := e.fc.Peer(0)
	got := object(t, e.get("/id").wantStatus(t, http.StatusOK).body)
	wantKeys(t, "ID", got, idKeys...)
	if got["id"] != self.ID || got["peername"] != "peer0" || got["rpc_protocol_version"] != "/flotilla/1.0/rpc" {
		t.Errorf("id %v", got)
	}
	// host:port becomes a multiaddr that ipfs-cluster's clients parse.
	if a := got["addresses"].([]any); len(a) != 1 || a[0] != "/ip4/127.0.0.1/tcp/9096/p2p/"+self.ID {
		t.Errorf("addresses %v", a)
	}
	if a := got["cluster_peers_addresses"].([]any); len(a) != 3 || a[1] != "/ip4/127.0.0.1/tcp/9097/p2p/"+e.fc.Peer(1).ID {
		t.Errorf("cluster_peers_addresses %v", a)
	}
	ipfs := got["ipfs"].(map[string]any)
	wantKeys(t, "ipfs", ipfs, "id", "addresses", "error")

	v := object(t, e.get("/version").wantStatus(t, http.StatusOK).body)
	wantKeys(t, "Version", v, "version")
	if v["version"] != version.Version {
		t.Errorf("version %v", v)
	}
}

func TestIDWithoutIPFSOmitsItsID(t *testing.T) {
	e := newEnv(t, Config{})
	e.fc.EditPeer(0, func(p *types.ID) { p.IPFS = types.IPFSID{Error: "connection refused"} })
	ipfs := object(t, e.get("/id").body)["ipfs"].(map[string]any)
	if _, has := ipfs["id"]; has || ipfs["error"] != "connection refused" {
		t.Errorf("ipfs %v: an empty peer ID is not valid JSON for ipfs-cluster's clients", ipfs)
	}
}

func TestToMultiaddr(t *testing.T) {
	id := newPeerID(t)
	for in, want := range map[string]string{
		"10.0.0.1:9096":      "/ip4/10.0.0.1/tcp/9096/p2p/" + id,
		"[::1]:9096":         "/ip6/::1/tcp/9096/p2p/" + id,
		"node.example:9096":  "/dns/node.example/tcp/9096/p2p/" + id,
		"/ip4/1.2.3.4/tcp/1": "/ip4/1.2.3.4/tcp/1",
		"/bogus":             "",
		"no port":            "",
	} {
		if got := toMultiaddr(in, id); got != want {
			t.Errorf("toMultiaddr(%q) = %q, want %q", in, got, want)
		}
	}
	if got := toMultiaddr("10.0.0.1:1", "not-an-id"); got != "/ip4/10.0.0.1/tcp/1" {
		t.Errorf("without a valid ID: %q", got)
	}
}

func TestPeers(t *testing.T) {
	e := newEnv(t, Config{})
	r := e.get("/peers").wantStatus(t, http.StatusOK)
	items := ndjson(t, r.body)
	if len(items) != 3 {
		t.Fatalf("%d peers", len(items))
	}
	for i, it := range items {
		wantKeys(t, "ID", it, idKeys...)
		if it["id"] != e.fc.Peer(i).ID {
			t.Errorf("peer %d: %v", i, it["id"])
		}
	}

	gone := e.fc.Peer(2).ID
	r = e.do(http.MethodDelete, "/peers/"+gone, nil).wantStatus(t, http.StatusNoContent)
	if len(r.body) != 0 || len(e.fc.Removed()) != 1 || e.fc.Removed()[0] != gone {
		t.Errorf("removed %v, body %q", e.fc.Removed(), r.body)
	}
	e.do(http.MethodDelete, "/peers/"+gone, nil).wantError(t, http.StatusNotFound, "not a member")
	e.do(http.MethodDelete, "/peers/nope", nil).wantError(t, http.StatusBadRequest, "error decoding Peer ID")
	e.do(http.MethodPost, "/peers", strings.NewReader(`{"peer_id":"x"}`)).wantError(t, http.StatusNotImplemented, "--bootstrap")
}

func TestAllocations(t *testing.T) {
	e := newEnv(t, Config{})
	cids := pinSome(t, e, 2)
	for _, q := range []string{"", "?filter=all", "?filter=pin", "?filter=pin,meta-pin", "?filter=pin,bogus"} {
		items := ndjson(t, e.get("/allocations"+q).wantStatus(t, http.StatusOK).body)
		if len(items) != 2 || items[0]["cid"] != cids[0].String() {
			t.Fatalf("%s: %v", q, items)
		}
		wantKeys(t, "Pin", items[0], pinKeys...)
	}
	e.get("/allocations?filter=shard-pin").wantStatus(t, http.StatusNoContent)
	e.get("/allocations?filter=bogus").wantError(t, http.StatusBadRequest, "invalid filter value")

	got := object(t, e.get("/allocations/"+cids[1].String()).wantStatus(t, http.StatusOK).body)
	wantKeys(t, "Pin", got, pinKeys...)
	if got["cid"] != cids[1].String() {
		t.Errorf("allocation %v", got)
	}
	e.get("/allocations/"+testCid(t, "absent").String()).wantError(t, http.StatusNotFound, "not part of the pinset")
	e.get("/allocations/xyz").wantError(t, http.StatusBadRequest, "error decoding Cid")
}

func TestMonitorAndHealth(t *testing.T) {
	e := newEnv(t, Config{})
	p1 := e.fc.Peer(1).ID
	m := health.Metric{Name: "freespace", Peer: p1, Value: "100", Expire: 5, Valid: true, Weight: 100, ReceivedAt: 4}
	e.fc.SetMetrics("freespace", []health.Metric{m})
	e.fc.SetMetrics("ping", nil)
	cleared := e.fc.Now()
	e.fc.SetAlerts(health.Alert{Metric: health.Metric{Name: "ping", Peer: p1}, TriggeredAt: e.fc.Now(), Active: true, Peername: "peer1"},
		health.Alert{Metric: health.Metric{Name: "ping", Peer: p1}, TriggeredAt: e.fc.Now(), ClearedAt: &cleared})

	names := e.get("/monitor/metrics").wantStatus(t, http.StatusOK).body
	if string(names) != "[\"freespace\",\"ping\"]\n" {
		t.Errorf("names %s", names)
	}
	var ms []map[string]any
	if err := jsonUnmarshal(e.get("/monitor/metrics/freespace").wantStatus(t, http.StatusOK).body, &ms); err != nil || len(ms) != 1 {
		t.Fatalf("metrics %v %v", ms, err)
	}
	wantKeys(t, "Metric", ms[0], "name", "peer", "value", "expire", "valid", "weight", "partitionable", "received_at")
	if b := e.get("/monitor/metrics/nothing").wantStatus(t, http.StatusOK).body; string(b) != "[]\n" {
		t.Errorf("unknown metric: %s", b)
	}

	var alerts []map[string]any
	if err := jsonUnmarshal(e.get("/health/alerts").wantStatus(t, http.StatusOK).body, &alerts); err != nil || len(alerts) != 2 {
		t.Fatalf("alerts %v %v", alerts, err)
	}
	// ipfs-cluster's fields, and Flotilla's own that tell an active alert
	// from a cleared one.
	alertKeys := []string{"name", "peer", "value", "expire", "valid", "weight", "partitionable", "received_at", "triggered_at", "active"}
	wantKeys(t, "Alert", alerts[0], append(alertKeys, "peername")...)
	wantKeys(t, "cleared Alert", alerts[1], append(alertKeys, "cleared_at")...)
	if alerts[0]["active"] != true || alerts[1]["active"] != false {
		t.Errorf("active: %v, %v; want true, false", alerts[0]["active"], alerts[1]["active"])
	}
	e.fc.SetAlerts()
	if b := e.get("/health/alerts").body; string(b) != "[]\n" {
		t.Errorf("no alerts: %s", b)
	}

	g := object(t, e.get("/health/graph").wantStatus(t, http.StatusOK).body)
	wantKeys(t, "ConnectGraph", g, "cluster_id", "id_to_peername", "ipfs_links", "cluster_links", "cluster_trust_links", "cluster_to_ipfs")
	links := g["cluster_links"].(map[string]any)
	if g["cluster_id"] != e.fc.Peer(0).ID || len(links) != 3 || len(links[p1].([]any)) != 2 {
		t.Errorf("graph %v", g)
	}
	if g["id_to_peername"].(map[string]any)[p1] != "peer1" || g["cluster_to_ipfs"].(map[string]any)[p1] != e.fc.Peer(1).IPFS.ID {
		t.Errorf("graph names %v", g)
	}
	// ipfs-cluster-ctl health graph wants a node in ipfs_links for every
	// IPFS ID cluster_to_ipfs names, links or not.
	ipfsLinks := g["ipfs_links"].(map[string]any)
	for _, ipfsID := range g["cluster_to_ipfs"].(map[string]any) {
		if l, ok := ipfsLinks[ipfsID.(string)].([]any); !ok || len(l) != 0 {
			t.Errorf("ipfs_links[%s] = %v, want []", ipfsID, ipfsLinks[ipfsID.(string)])
		}
	}
	if len(ipfsLinks) != 3 {
		t.Errorf("ipfs_links %v, want the 3 IPFS nodes", ipfsLinks)
	}

	gc := object(t, e.do(http.MethodPost, "/ipfs/gc", nil).wantStatus(t, http.StatusOK).body)
	pm := gc["peer_map"].(map[string]any)
	if len(pm) != 3 {
		t.Fatalf("repo gc peer_map %v", gc)
	}
	entry := pm[p1].(map[string]any)
	wantKeys(t, "RepoGC", entry, "peer", "peername", "keys")
	if keys := entry["keys"].([]any); len(keys) != 2 || keys[1].(map[string]any)["key"] != nil || keys[1].(map[string]any)["error"] != "block in use" {
		t.Errorf("repo gc keys %v", keys)
	}
	if b := e.get("/health/bandwidth").wantStatus(t, http.StatusOK).body; string(b) != "{}\n" {
		t.Errorf("bandwidth %s", b)
	}
}

func TestHealth(t *testing.T) {
	ready := errors.New("waiting for a leader")
	e := newEnv(t, Config{Ready: func() error { return ready }})
	e.get("/health").wantError(t, http.StatusServiceUnavailable, "waiting for a leader")
	ready = nil
	if r := e.get("/health").wantStatus(t, http.StatusNoContent); len(r.body) != 0 {
		t.Errorf("body %q", r.body)
	}
}

func TestRouting(t *testing.T) {
	e := newEnv(t, Config{})
	e.get("/nope").wantError(t, http.StatusNotFound, "not found")
	r := e.get("/nope")
	if got := object(t, r.body); len(got) != 2 || got["message"] != "not found" || got["code"] != 404.0 {
		t.Errorf("404 body %s", r.body)
	}
	e.do(http.MethodPut, "/pins", nil).wantError(t, http.StatusMethodNotAllowed, "method not allowed")
	// Trailing slashes route like the path without them, POST included.
	e.get("/id/").wantStatus(t, http.StatusOK)
	c := testCid(t, "slash").String()
	e.do(http.MethodPost, "/pins/"+c+"/", nil).wantStatus(t, http.StatusOK)
	e.get("/pins/"+c+"/").wantStatus(t, http.StatusOK)
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t, Config{MaxBodyBytes: 16})
	req, _ := http.NewRequest(http.MethodPost, "/x", strings.NewReader(strings.Repeat("x", 64)))
	var seen error
	h := e.api.limitBody(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, seen = r.Body.Read(make([]byte, 64))
		for seen == nil {
			_, seen = r.Body.Read(make([]byte, 64))
		}
	}))
	h.ServeHTTP(discardWriter{http.Header{}}, req)
	var tooBig *http.MaxBytesError
	if !errors.As(seen, &tooBig) {
		t.Errorf("read past the limit: %v", seen)
	}
	req, _ = http.NewRequest(http.MethodPost, "/add", strings.NewReader(strings.Repeat("x", 64)))
	h.ServeHTTP(discardWriter{http.Header{}}, req)
	if seen == nil || errors.As(seen, &tooBig) {
		t.Errorf("/add must not be limited: %v", seen)
	}
}

type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d discardWriter) WriteHeader(int)             {}

func TestPinListIsStoredPinJSON(t *testing.T) {
	// The Pin shape comes from storage.Pin's MarshalJSON: check it once
	// here through the API, with every field set.
	e := newEnv(t, Config{})
	c, prev := testCid(t, "x"), testCid(t, "y")
	e.fc.add(storage.Pin{Cid: c, PinUpdate: prev, ExpireAt: time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)})
	got := object(t, e.get("/allocations/"+c.String()).body)
	if got["pin_update"] != prev.String() || got["expire_at"] != "2031-01-01T00:00:00Z" || got["reference"] != nil {
		t.Errorf("pin %v", got)
	}
}

func TestProfilesAreServedOnlyWhenGivenAndBehindAuth(t *testing.T) {
	profiles := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("profile at " + r.URL.Path))
	})
	e := newEnv(t, Config{Profiles: profiles, Auth: AuthConfig{Users: map[string]string{"alice": "s3cret"}}})
	e.do(http.MethodGet, "/debug/pprof/heap", nil).wantError(t, http.StatusUnauthorized, "")
	for path, want := range map[string]string{
		"/debug/pprof/heap": "/debug/pprof/heap",
		// pprof's index lists the profiles only at its own path, with
		// the slash that the API's routing otherwise strips.
		"/debug/pprof/": "/debug/pprof/",
		"/debug/pprof":  "/debug/pprof/",
	} {
		r := e.do(http.MethodGet, path, nil, "Authorization", basic("alice", "s3cret")).wantStatus(t, http.StatusOK)
		if string(r.body) != "profile at "+want {
			t.Errorf("GET %s reached %q, want %q", path, r.body, want)
		}
	}
	newEnv(t, Config{}).get("/debug/pprof/heap").wantError(t, http.StatusNotFound, "not found")
}

// A GET of /debug/pprof/profile starts a CPU profile, and a page on another
// site can send one (an image) with neither Origin nor Referer: the
// browser's own mark of a cross-site request must turn it away.
func TestProfilesRefuseAGetAPageOfAnotherSiteSends(t *testing.T) {
	profiled := false
	profiles := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { profiled = true })
	e := newEnv(t, Config{Profiles: profiles})
	e.do(http.MethodGet, "/debug/pprof/profile?seconds=20", nil, "Sec-Fetch-Site", "cross-site").wantStatus(t, http.StatusForbidden)
	if profiled {
		t.Fatal("a cross-site GET reached the profiler")
	}
	e.do(http.MethodGet, "/debug/pprof/profile?seconds=1", nil, "Sec-Fetch-Site", "none").wantStatus(t, http.StatusOK)
	if !profiled {
		t.Fatal("the operator's own navigation did not reach the profiler")
	}
}
