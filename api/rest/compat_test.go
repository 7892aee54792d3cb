package rest

import (
	"context"
	"errors"
	"net"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/ipfs-cluster/ipfs-cluster/api"
	"github.com/ipfs-cluster/ipfs-cluster/api/rest/client"
	files "github.com/ipfs/boxo/files"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/flotilla-ipfs/flotilla/health"
	"github.com/flotilla-ipfs/flotilla/internal/fakekubo"
	"github.com/flotilla-ipfs/flotilla/internal/version"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// The compatibility check: ipfs-cluster's own REST client, unchanged,
// against this API over the fake cluster.

func clusterClient(t *testing.T, e *testEnv, user, pass string) client.Client {
	t.Helper()
	u, _ := url.Parse(e.srv.URL)
	host, port, _ := net.SplitHostPort(u.Host)
	c, err := client.NewDefaultClient(&client.Config{Host: host, Port: port, Username: user, Password: pass, LogLevel: "error"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// compatEnv has a resolver and a fake Kubo upstream, so that every client
// method has something to talk to.
func compatEnv(t *testing.T, cfg Config) (*testEnv, client.Client) {
	t.Helper()
	fk := fakekubo.New(t)
	cfg.UpstreamURL, _ = url.Parse(fk.URL())
	e := newEnv(t, cfg)
	return e, clusterClient(t, e, "", "")
}

func pid(t *testing.T, s string) peer.ID {
	t.Helper()
	id, err := peer.Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestCompatIDPeersVersion(t *testing.T) {
	e, c := compatEnv(t, Config{})
	ctx := t.Context()
	id, err := c.ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	self := e.fc.Peer(0)
	if id.ID != pid(t, self.ID) || id.Peername != "peer0" || len(id.ClusterPeers) != 3 ||
		id.IPFS.ID != pid(t, self.IPFS.ID) || len(id.Addresses) != 1 || len(id.ClusterPeersAddresses) != 3 {
		t.Errorf("ID %+v", id)
	}
	if got, _ := id.Addresses[0].ValueForProtocol(421); got != self.ID { // 421 is /p2p
		t.Errorf("address %s does not carry the peer ID", id.Addresses[0])
	}

	out := make(chan api.ID, 10)
	if err := c.Peers(ctx, out); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for p := range out {
		ids = append(ids, p.ID.String())
	}
	if !slices.Equal(ids, e.fc.PeerIDs()) {
		t.Errorf("peers %v, want %v", ids, e.fc.PeerIDs())
	}

	v, err := c.Version(ctx)
	if err != nil || v.Version != version.Version {
		t.Errorf("version %+v %v", v, err)
	}
	if err := c.Health(ctx); err != nil {
		t.Errorf("health: %v", err)
	}

	if err := c.PeerRm(ctx, pid(t, e.fc.Peer(2).ID)); err != nil {
		t.Fatal(err)
	}
	err = c.PeerRm(ctx, pid(t, newPeerID(t)))
	if ae := (api.Error{}); !errors.As(err, &ae) || ae.Code != 404 {
		t.Errorf("removing a stranger: %v", err)
	}
}

func TestCompatPinEveryOption(t *testing.T) {
	e, c := compatEnv(t, Config{})
	ctx := t.Context()
	ci := api.NewCid(testCid(t, "compat"))
	p1 := pid(t, e.fc.Peer(1).ID)
	origin, _ := api.NewMultiaddr("/ip4/1.2.3.4/tcp/4001/p2p/" + p1.String())
	expire := e.fc.Now().Add(time.Hour)
	opts := api.PinOptions{
		ReplicationFactorMin: 1,
		ReplicationFactorMax: 2,
		Name:                 "compat",
		Mode:                 api.PinModeDirect,
		UserAllocations:      []peer.ID{p1},
		ExpireAt:             expire,
		Metadata:             map[string]string{"k1": "v1", "k2": "v2"},
		Origins:              []api.Multiaddr{origin},
	}
	pin, err := c.Pin(ctx, ci, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !pin.Cid.Equals(ci) || pin.Name != "compat" || pin.Mode != api.PinModeDirect || pin.MaxDepth != 0 ||
		pin.ReplicationFactorMin != 1 || pin.ReplicationFactorMax != 2 || !pin.ExpireAt.Equal(expire) ||
		pin.Metadata["k2"] != "v2" || len(pin.Origins) != 1 || pin.Origins[0].String() != origin.String() ||
		pin.Type != api.DataType || len(pin.Allocations) != 2 || pin.Allocations[0] != p1 {
		t.Errorf("pin %+v", pin)
	}
	got := e.fc.LastPin()
	if got.Mode != storage.Direct || got.Name != "compat" || !slices.Equal(got.UserAllocations, []string{p1.String()}) ||
		!got.ExpireAt.Equal(expire) || got.Metadata["k1"] != "v1" || !slices.Equal(got.Origins, []string{origin.String()}) {
		t.Errorf("the cluster got %+v", got)
	}

	// pin update: the new version inherits the old one's options.
	next := api.NewCid(testCid(t, "compat v2"))
	upd, err := c.Pin(ctx, next, api.PinOptions{PinUpdate: ci})
	if err != nil {
		t.Fatal(err)
	}
	if !upd.PinUpdate.Equals(ci) || upd.Name != "compat" || upd.ReplicationFactorMax != 2 || upd.Metadata["k1"] != "v1" {
		t.Errorf("updated pin %+v", upd)
	}

	// Allocation and Allocations read the pinset.
	a, err := c.Allocation(ctx, ci)
	if err != nil || !a.Cid.Equals(ci) || a.Mode != api.PinModeDirect || a.Name != "compat" {
		t.Errorf("allocation %+v %v", a, err)
	}
	for _, filter := range []api.PinType{api.AllType, api.DataType} {
		out := make(chan api.Pin, 10)
		if err := c.Allocations(ctx, filter, out); err != nil {
			t.Fatal(err)
		}
		n := 0
		for range out {
			n++
		}
		if n != 2 {
			t.Errorf("filter %s: %d pins", filter, n)
		}
	}

	un, err := c.Unpin(ctx, ci)
	if err != nil || !un.Cid.Equals(ci) || un.Name != "compat" {
		t.Errorf("unpin %+v %v", un, err)
	}
	_, err = c.Unpin(ctx, ci)
	if ae := (api.Error{}); !errors.As(err, &ae) || ae.Code != 404 || ae.Message != storage.ErrNotFound.Error() {
		t.Errorf("second unpin: %v", err)
	}
	_, err = c.Allocation(ctx, ci)
	if ae := (api.Error{}); !errors.As(err, &ae) || ae.Code != 404 {
		t.Errorf("allocation of an unpinned CID: %v", err)
	}
}

func TestCompatPinPath(t *testing.T) {
	root, leaf := testCid(t, "root"), testCid(t, "leaf")
	e, c := compatEnv(t, Config{Resolver: fakeResolver{"/ipfs/" + root.String() + "/a/b": leaf}})
	ctx := t.Context()
	pin, err := c.PinPath(ctx, "/ipfs/"+root.String()+"/a/b", api.PinOptions{Mode: api.PinModeDirect, Name: "leaf"})
	if err != nil {
		t.Fatal(err)
	}
	if !pin.Cid.Cid.Equals(leaf) || pin.Mode != api.PinModeDirect || pin.Name != "leaf" {
		t.Errorf("pin path %+v", pin)
	}
	// ipfs-cluster-ctl pins a bare CID through the path route.
	if pin, err := c.PinPath(ctx, root.String(), api.PinOptions{}); err != nil || !pin.Cid.Cid.Equals(root) {
		t.Errorf("bare CID pin path %+v %v", pin, err)
	}
	un, err := c.UnpinPath(ctx, "/ipfs/"+root.String()+"/a/b")
	if err != nil || !un.Cid.Cid.Equals(leaf) {
		t.Errorf("unpin path %+v %v", un, err)
	}
	if e.fc.PinCalls() != 2 {
		t.Errorf("%d pins", e.fc.PinCalls())
	}
}

func TestCompatStatusAndRecover(t *testing.T) {
	e, c := compatEnv(t, Config{})
	ctx := t.Context()
	cids := pinSome(t, e, 3)
	p0, p1 := e.fc.Peer(0).ID, e.fc.Peer(1).ID
	e.fc.SetStatus(cids[1], p0, "pin_error")
	e.fc.SetStatus(cids[2], p1, "pin_queued")

	gpi, err := c.Status(ctx, api.NewCid(cids[0]), false)
	if err != nil {
		t.Fatal(err)
	}
	if !gpi.Cid.Cid.Equals(cids[0]) || len(gpi.PeerMap) != 3 || gpi.PeerMap[p0].Status != api.TrackerStatusPinned ||
		gpi.PeerMap[p1].Status != api.TrackerStatusRemote || gpi.PeerMap[p0].PeerName != "peer0" ||
		len(gpi.Allocations) != 1 || gpi.Allocations[0].String() != p0 {
		t.Errorf("status %+v", gpi)
	}
	if local, err := c.Status(ctx, api.NewCid(cids[0]), true); err != nil || len(local.PeerMap) != 1 {
		t.Errorf("local status %+v %v", local, err)
	}
	unknown := testCid(t, "unknown")
	if gpi, err := c.Status(ctx, api.NewCid(unknown), false); err != nil || gpi.PeerMap[p1].Status != api.TrackerStatusUnpinned {
		t.Errorf("status of an unknown CID %+v %v", gpi, err)
	}

	collect := func(filter api.TrackerStatus, cs []api.Cid) []string {
		t.Helper()
		out := make(chan api.GlobalPinInfo, 10)
		var err error
		if cs != nil {
			err = c.StatusCids(ctx, cs, false, out)
		} else {
			err = c.StatusAll(ctx, filter, false, out)
		}
		if err != nil {
			t.Fatalf("filter %s: %v", filter, err)
		}
		var got []string
		for g := range out {
			got = append(got, g.Cid.String())
		}
		return got
	}
	if got := collect(api.TrackerStatusUndefined, nil); len(got) != 3 {
		t.Errorf("status all: %v", got)
	}
	if got := collect(api.TrackerStatusError, nil); !slices.Equal(got, []string{cids[1].String()}) {
		t.Errorf("error filter: %v", got)
	}
	if got := collect(api.TrackerStatusPinError|api.TrackerStatusQueued, nil); !slices.Equal(got, []string{cids[1].String(), cids[2].String()}) {
		t.Errorf("pin_error|queued filter: %v", got)
	}
	if got := collect(api.TrackerStatusUnpinError, nil); len(got) != 0 {
		t.Errorf("unpin_error filter: %v", got)
	}
	if got := collect(0, []api.Cid{api.NewCid(cids[2]), api.NewCid(unknown)}); !slices.Equal(got, []string{cids[2].String(), unknown.String()}) {
		t.Errorf("status cids: %v", got)
	}

	rec, err := c.Recover(ctx, api.NewCid(cids[1]), false)
	if err != nil || rec.PeerMap[p0].Status != api.TrackerStatusPinQueued {
		t.Errorf("recover %+v %v", rec, err)
	}
	e.fc.SetRecoverable(cids[:2]...)
	out := make(chan api.GlobalPinInfo, 10)
	if err := c.RecoverAll(ctx, false, out); err != nil {
		t.Fatal(err)
	}
	n := 0
	for range out {
		n++
	}
	if n != 2 {
		t.Errorf("recover all: %d items", n)
	}
}

func TestCompatMonitorAndErrors(t *testing.T) {
	e, c := compatEnv(t, Config{})
	ctx := t.Context()
	p1 := e.fc.Peer(1).ID
	e.fc.SetMetrics("freespace", []health.Metric{{Name: "freespace", Peer: p1, Value: "1000", Valid: true, Weight: 1000, Expire: 7}})
	cleared := e.fc.Now()
	// Flotilla's own fields (active, cleared_at, peername) do not trouble
	// ipfs-cluster's client.
	e.fc.SetAlerts(health.Alert{Metric: health.Metric{Name: "ping", Peer: p1, Expire: 3}, TriggeredAt: e.fc.Now(), ClearedAt: &cleared, Peername: "peer1"})

	names, err := c.MetricNames(ctx)
	if err != nil || !slices.Equal(names, []string{"freespace"}) {
		t.Errorf("metric names %v %v", names, err)
	}
	ms, err := c.Metrics(ctx, "freespace")
	if err != nil || len(ms) != 1 || ms[0].Peer.String() != p1 || ms[0].Value != "1000" || ms[0].Weight != 1000 || !ms[0].Valid {
		t.Errorf("metrics %+v %v", ms, err)
	}
	alerts, err := c.Alerts(ctx)
	if err != nil || len(alerts) != 1 || alerts[0].Name != "ping" || alerts[0].Peer.String() != p1 || !alerts[0].TriggeredAt.Equal(e.fc.Now()) {
		t.Errorf("alerts %+v %v", alerts, err)
	}
	g, err := c.GetConnectGraph(ctx)
	if err != nil || g.ClusterID.String() != e.fc.Peer(0).ID || len(g.ClusterLinks) != 3 {
		t.Errorf("graph %+v %v", g, err)
	}
	gc, err := c.RepoGC(ctx, false)
	if err != nil || len(gc.PeerMap) != 3 || len(gc.PeerMap[p1].Keys) != 2 || gc.PeerMap[p1].Keys[1].Error != "block in use" {
		t.Errorf("repo gc %+v %v", gc, err)
	}
	_, err = c.Pin(ctx, api.NewCid(testCid(t, "x")), api.PinOptions{ReplicationFactorMin: 9, ReplicationFactorMax: 9})
	if ae := (api.Error{}); !errors.As(err, &ae) || ae.Code != 500 {
		t.Errorf("not enough peers: %v", err)
	}
}

func TestCompatAdd(t *testing.T) {
	e, c := compatEnv(t, Config{})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	dir := files.NewMapDirectory(map[string]files.Node{
		"a.txt": files.NewBytesFile([]byte("hello")),
		"b.txt": files.NewBytesFile([]byte("world")),
	})
	mfr := files.NewMultiFileReader(files.NewSliceDirectory([]files.DirEntry{files.FileEntry("docs", dir)}), true, false)
	params := api.DefaultAddParams()
	params.Name = "docs"
	params.ReplicationFactorMin, params.ReplicationFactorMax = 1, 1
	params.Metadata = map[string]string{"via": "add"}
	out := make(chan api.AddedOutput, 16)
	if err := c.AddMultiFile(ctx, mfr, params, out); err != nil {
		t.Fatal(err)
	}
	var got []api.AddedOutput
	for o := range out {
		got = append(got, o)
	}
	if len(got) != 3 {
		t.Fatalf("outputs %+v", got)
	}
	root := got[2]
	if root.Name != "docs" || !root.Cid.Defined() || len(root.Allocations) != 1 || root.Size != 10 {
		t.Errorf("root output %+v", root)
	}
	p, err := e.fc.Get(ctx, root.Cid.Cid)
	if err != nil || p.Name != "docs" || p.Metadata["via"] != "add" || p.ReplicationFactorMax != 1 {
		t.Errorf("cluster pin %+v %v", p, err)
	}
	if e.fc.PinCalls() != 1 {
		t.Errorf("%d pins: only the top-level directory is pinned", e.fc.PinCalls())
	}
}

func TestCompatBasicAuth(t *testing.T) {
	e := newEnv(t, Config{Auth: AuthConfig{Users: map[string]string{"alice": "s3cret"}}})
	if _, err := clusterClient(t, e, "alice", "s3cret").ID(t.Context()); err != nil {
		t.Errorf("with the password: %v", err)
	}
	_, err := clusterClient(t, e, "alice", "nope").ID(t.Context())
	if ae := (api.Error{}); !errors.As(err, &ae) || ae.Code != 401 || ae.Message != "unauthorized: access denied" {
		t.Errorf("with a wrong password: %v", err)
	}
}
