package rest

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/flotilla-ipfs/flotilla/alloc"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

func TestPinCommitsOptionsAndAnswersThePin(t *testing.T) {
	e := newEnv(t, Config{})
	c := testCid(t, "a")
	p1 := e.fc.Peer(1).ID
	origin := "/ip4/1.2.3.4/tcp/4001/p2p/" + p1
	q := "name=foo&mode=direct&replication-min=1&replication-max=2&user-allocations=" + p1 +
		"&expire-in=1h&meta-k1=v1&origins=" + url.QueryEscape(origin)
	r := e.do(http.MethodPost, "/pins/"+c.String()+"?"+q, nil).wantStatus(t, http.StatusOK)

	got := object(t, r.body)
	wantKeys(t, "Pin", got, pinKeys...)
	// The mode is honoured on this route too (ipfs-cluster forces recursive).
	if got["mode"] != "direct" || got["max_depth"] != 0.0 || got["type"] != "pin" {
		t.Errorf("mode %v max_depth %v type %v", got["mode"], got["max_depth"], got["type"])
	}
	if got["cid"] != c.String() || got["name"] != "foo" || got["replication_factor_min"] != 1.0 || got["replication_factor_max"] != 2.0 {
		t.Errorf("pin %v", got)
	}
	if got["expire_at"] != "2030-01-02T04:04:05Z" || got["timestamp"] != "2030-01-02T03:04:05Z" {
		t.Errorf("expire_at %v timestamp %v", got["expire_at"], got["timestamp"])
	}
	if allocs := got["allocations"].([]any); len(allocs) != 2 || allocs[0] != p1 {
		t.Errorf("allocations %v: the user allocation goes first", allocs)
	}
	if md := got["metadata"].(map[string]any); md["k1"] != "v1" {
		t.Errorf("metadata %v", md)
	}
	if o := got["origins"].([]any); len(o) != 1 || o[0] != origin {
		t.Errorf("origins %v", o)
	}
	lp := e.fc.LastPin()
	if lp.Mode != storage.Direct || lp.Name != "foo" || lp.ExpireAt.IsZero() || !lp.Cid.Equals(c) {
		t.Errorf("cluster got %+v", lp)
	}
}

func TestPinErrors(t *testing.T) {
	e := newEnv(t, Config{})
	c := testCid(t, "a").String()
	e.do(http.MethodPost, "/pins/notacid", nil).wantError(t, http.StatusBadRequest, "error decoding Cid")
	e.do(http.MethodPost, "/pins/"+c+"?replication=x", nil).wantError(t, http.StatusBadRequest, "parameter replication invalid")
	// Kubo's bound on a pin name, as the proxy and pin/ls hold it: a
	// longer one would come back from the proxy's pin/ls as no Kubo could.
	e.do(http.MethodPost, "/pins/"+c+"?name="+strings.Repeat("a", 256), nil).
		wantError(t, http.StatusBadRequest, "pin name is 256 bytes (max 255 bytes)")
	e.do(http.MethodPost, "/pins/ipfs/"+c+"?name="+strings.Repeat("é", 128), nil).
		wantError(t, http.StatusBadRequest, "pin name is 256 bytes (max 255 bytes)")
	// A factor no int32 holds is the client's mistake, not the allocator's.
	for _, q := range []string{"replication=2147483648", "replication-min=99999999999999999999", "replication-max=-2147483649"} {
		name, _, _ := strings.Cut(q, "=")
		e.do(http.MethodPost, "/pins/"+c+"?"+q, nil).wantError(t, http.StatusBadRequest, "parameter "+name+" invalid")
		e.do(http.MethodPost, "/pins/ipfs/"+c+"?"+q, nil).wantError(t, http.StatusBadRequest, "out of range")
	}
	e.do(http.MethodPost, "/pins/"+c+"?replication=9", nil).
		wantError(t, http.StatusInternalServerError, "not enough peers to allocate CID. Needed at least: 9")
	e.fc.FailPin(types.ErrNoLeader)
	e.do(http.MethodPost, "/pins/"+c, nil).wantError(t, http.StatusServiceUnavailable, "no leader")
	e.fc.FailPin(errors.New("disk on fire"))
	e.do(http.MethodPost, "/pins/"+c, nil).wantError(t, http.StatusInternalServerError, "disk on fire")
	if e.fc.PinCalls() != 3 {
		t.Errorf("cluster pinned %d times: bad input must not reach it", e.fc.PinCalls())
	}
}

func TestUnpinAnswersThePinAsItWas(t *testing.T) {
	e := newEnv(t, Config{})
	c := testCid(t, "a")
	e.fc.add(storage.Pin{Cid: c, Name: "old", ReplicationFactorMin: -1, ReplicationFactorMax: -1})
	r := e.do(http.MethodDelete, "/pins/"+c.String(), nil).wantStatus(t, http.StatusOK)
	got := object(t, r.body)
	wantKeys(t, "Pin", got, pinKeys...)
	if got["name"] != "old" || got["cid"] != c.String() {
		t.Errorf("unpin answered %v", got)
	}
	e.do(http.MethodDelete, "/pins/"+c.String(), nil).wantError(t, http.StatusNotFound, "pin is not part of the pinset")
}

func TestPinPathResolvesAndHonoursOptions(t *testing.T) {
	root, leaf, named := testCid(t, "root"), testCid(t, "leaf"), testCid(t, "named")
	res := fakeResolver{
		"/ipfs/" + root.String() + "/a/b": leaf,
		"/ipns/docs.example.org":          named,
	}
	e := newEnv(t, Config{Resolver: res})

	r := e.do(http.MethodPost, "/pins/ipfs/"+root.String()+"/a/b?mode=direct&name=leaf", nil).wantStatus(t, http.StatusOK)
	if got := object(t, r.body); got["cid"] != leaf.String() || got["mode"] != "direct" || got["name"] != "leaf" {
		t.Errorf("pin path answered %v", got)
	}
	r = e.do(http.MethodPost, "/pins/ipns/docs.example.org/", nil).wantStatus(t, http.StatusOK)
	if got := object(t, r.body); got["cid"] != named.String() {
		t.Errorf("ipns pin answered %v", got)
	}
	// A bare /ipfs/<cid> needs no resolver round trip.
	r = e.do(http.MethodPost, "/pins/ipfs/"+root.String(), nil).wantStatus(t, http.StatusOK)
	if got := object(t, r.body); got["cid"] != root.String() {
		t.Errorf("bare path pin answered %v", got)
	}

	r = e.do(http.MethodDelete, "/pins/ipfs/"+root.String()+"/a/b", nil).wantStatus(t, http.StatusOK)
	if got := object(t, r.body); got["cid"] != leaf.String() || got["name"] != "leaf" {
		t.Errorf("unpin path answered %v", got)
	}
	e.do(http.MethodDelete, "/pins/ipfs/"+root.String()+"/a/b", nil).wantError(t, http.StatusNotFound, "not part of the pinset")
	e.do(http.MethodPost, "/pins/ipfs/notacid/x", nil).wantError(t, http.StatusBadRequest, "error parsing path")
	e.do(http.MethodPost, "/pins/ipns/unknown.example", nil).wantError(t, http.StatusInternalServerError, "no link named")
	e.do(http.MethodPost, "/pins/ipfs/"+root.String()+"?expire-in=1ms", nil).wantError(t, http.StatusBadRequest, "expire-in")
}

func TestPinPathWithoutResolver(t *testing.T) {
	e := newEnv(t, Config{})
	root := testCid(t, "root")
	e.do(http.MethodPost, "/pins/ipfs/"+root.String(), nil).wantStatus(t, http.StatusOK)
	e.do(http.MethodPost, "/pins/ipfs/"+root.String()+"/a", nil).wantError(t, http.StatusInternalServerError, "no IPFS node to resolve")
}

func TestPinUpdateInheritsFromTheOldPin(t *testing.T) {
	e := newEnv(t, Config{})
	from, to := testCid(t, "v1"), testCid(t, "v2")
	chosen, holder := e.fc.Peer(1).ID, e.fc.Peer(2).ID
	e.fc.add(storage.Pin{Cid: from, Name: "site", Mode: storage.Direct, ReplicationFactorMin: 1, ReplicationFactorMax: 1,
		Allocations: []string{holder}, Metadata: map[string]string{"k": "v"}})

	// The query ipfs-cluster-ctl pin update sends: every option at its
	// zero value, mode=recursive included.
	ctlQuery := "?pin-update=" + from.String() + "&mode=recursive&name=&replication-min=0&replication-max=0&shard-size=0&user-allocations="
	r := e.do(http.MethodPost, "/pins/"+to.String()+ctlQuery, nil).wantStatus(t, http.StatusOK)
	got := object(t, r.body)
	if got["pin_update"] != from.String() || got["name"] != "site" || got["replication_factor_max"] != 1.0 {
		t.Errorf("updated pin %v", got)
	}
	if got["mode"] != "direct" || got["max_depth"] != 0.0 {
		t.Errorf("mode %v max_depth %v: the old pin was direct", got["mode"], got["max_depth"])
	}
	if ua, _ := got["user_allocations"].([]any); len(ua) != 0 {
		t.Errorf("user_allocations %v: want the old pin's (none), not its allocations", ua)
	}
	if lp := e.fc.LastPin(); lp.Mode != storage.Direct || len(lp.UserAllocations) != 0 {
		t.Errorf("cluster got mode %v user allocations %v", lp.Mode, lp.UserAllocations)
	}
	if got["metadata"].(map[string]any)["k"] != "v" {
		t.Errorf("metadata not inherited: %v", got["metadata"])
	}

	// Options the request sets replace the old ones.
	r = e.do(http.MethodPost, "/pins/"+to.String()+"?pin-update="+from.String()+"&name=site2&user-allocations="+holder, nil).
		wantStatus(t, http.StatusOK)
	if got := object(t, r.body); got["name"] != "site2" || got["user_allocations"].([]any)[0] != holder {
		t.Errorf("name %v user_allocations %v", got["name"], got["user_allocations"])
	}
	recursive := testCid(t, "v3")
	e.fc.add(storage.Pin{Cid: recursive, Mode: storage.Recursive, UserAllocations: []string{chosen}, Allocations: []string{holder}})
	r = e.do(http.MethodPost, "/pins/"+to.String()+"?pin-update="+recursive.String()+"&mode=direct", nil).wantStatus(t, http.StatusOK)
	got = object(t, r.body)
	if got["mode"] != "direct" {
		t.Errorf("mode=direct on an update of a recursive pin gave %v", got["mode"])
	}
	if ua := got["user_allocations"].([]any); len(ua) != 1 || ua[0] != chosen {
		t.Errorf("user_allocations %v: want the old pin's", ua)
	}

	e.do(http.MethodPost, "/pins/"+to.String()+"?pin-update="+testCid(t, "nothing").String(), nil).
		wantError(t, http.StatusBadRequest, "pin-update")
}

func TestStatusForMapsSentinels(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{storage.ErrNotFound, 404},
		{types.ErrUnknownPeer, 404},
		{types.ErrNoLeader, 503},
		{types.ErrOnlyVoter, 409},
		{&alloc.NotEnoughPeersError{Needed: 2}, 500},
		{errBadRequest("x"), 400},
		{&http.MaxBytesError{Limit: 1}, 413},
		{errors.New("other"), 500},
	} {
		if got := statusFor(wrapErr(tc.err)); got != tc.want {
			t.Errorf("statusFor(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func wrapErr(err error) error { return errors.Join(errors.New("context"), err) }
