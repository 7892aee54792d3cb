package e2e

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ipfs-cluster/ipfs-cluster/api"
	"github.com/ipfs-cluster/ipfs-cluster/api/rest/client"
	"github.com/ipfs/boxo/path"
	"github.com/ipfs/go-cid"
)

// ipfs-cluster's own REST client, unchanged, against a running flotilla in
// front of a real Kubo: what its users would point at Flotilla.
func TestIPFSClusterClientAgainstARunningPeer(t *testing.T) {
	k, p := onePeer(t, "FLOTILLA_IPFS_RECONCILE_INTERVAL=1s")
	host, port, _ := net.SplitHostPort(p.api)
	c, err := client.NewDefaultClient(&client.Config{Host: host, Port: port, LogLevel: "error"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)

	id, err := c.ID(ctx)
	if err != nil || id.ID.String() == "" || len(id.ClusterPeers) != 1 || id.IPFS.ID.String() == "" {
		t.Fatalf("ID %+v %v", id, err)
	}
	peers := make(chan api.ID, 4)
	if err := c.Peers(ctx, peers); err != nil {
		t.Fatal(err)
	}
	if got := <-peers; got.ID != id.ID {
		t.Fatalf("Peers gave %s, want %s", got.ID, id.ID)
	}
	if v, err := c.Version(ctx); err != nil || v.Version == "" {
		t.Fatalf("Version %+v %v", v, err)
	}

	content := func(s string) api.Cid {
		c, err := cid.Decode(strings.TrimSpace(k.run("--api", k.api, "add", "-Q", "--pin=false", writeFile(t, []byte(s)))))
		if err != nil {
			t.Fatal(err)
		}
		return api.NewCid(c)
	}
	rec, dir := content("recursive one"), content("direct one")

	pin, err := c.Pin(ctx, rec, api.PinOptions{
		ReplicationFactorMin: -1, ReplicationFactorMax: -1, Name: "photos",
		Metadata: map[string]string{"owner": "ops"}, ExpireAt: time.Now().Add(time.Hour),
	})
	if err != nil || pin.Name != "photos" || pin.Metadata["owner"] != "ops" || pin.Mode != api.PinModeRecursive {
		t.Fatalf("Pin %+v %v", pin, err)
	}
	if _, err := c.PinPath(ctx, "/ipfs/"+dir.String(), api.PinOptions{Mode: api.PinModeDirect, Name: "raw"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both pins on Kubo", 30*time.Second, func() bool {
		got := k.pinned()
		return got[rec.String()] == "recursive" && got[dir.String()] == "direct"
	})

	got, err := c.Allocation(ctx, dir)
	if err != nil || got.Mode != api.PinModeDirect || got.Name != "raw" {
		t.Fatalf("Allocation %+v %v", got, err)
	}
	allocs := make(chan api.Pin, 8)
	if err := c.Allocations(ctx, api.DataType, allocs); err != nil {
		t.Fatal(err)
	}
	n := 0
	for range allocs {
		n++
	}
	if n != 2 {
		t.Fatalf("Allocations listed %d pins, want 2", n)
	}

	st, err := c.Status(ctx, rec, false)
	if err != nil || st.PeerMap[id.ID.String()].Status != api.TrackerStatusPinned {
		t.Fatalf("Status %+v %v", st, err)
	}
	statuses := make(chan api.GlobalPinInfo, 8)
	if err := c.StatusAll(ctx, api.TrackerStatusPinned, false, statuses); err != nil {
		t.Fatal(err)
	}
	n = 0
	for range statuses {
		n++
	}
	if n != 2 {
		t.Fatalf("StatusAll(pinned) gave %d, want 2", n)
	}
	statuses = make(chan api.GlobalPinInfo, 8)
	if err := c.StatusAll(ctx, api.TrackerStatusError, false, statuses); err != nil {
		t.Fatal(err)
	}
	for s := range statuses {
		t.Fatalf("StatusAll(error) listed %s", s.Cid)
	}
	if _, err := c.Recover(ctx, rec, false); err != nil {
		t.Fatal(err)
	}
	recovered := make(chan api.GlobalPinInfo, 8)
	if err := c.RecoverAll(ctx, false, recovered); err != nil {
		t.Fatal(err)
	}
	for range recovered {
	}

	names, err := c.MetricNames(ctx)
	if err != nil || !contains(names, "freespace") {
		t.Fatalf("MetricNames %v %v", names, err)
	}
	ms, err := c.Metrics(ctx, "freespace")
	if err != nil || len(ms) != 1 || !ms[0].Valid {
		t.Fatalf("Metrics %+v %v", ms, err)
	}
	if alerts, err := c.Alerts(ctx); err != nil || alerts == nil {
		t.Fatalf("Alerts %v %v", alerts, err)
	}

	out := make(chan api.AddedOutput, 8)
	done := make(chan error, 1)
	go func() {
		done <- c.Add(ctx, []string{writeFile(t, []byte("added by ipfs-cluster's client"))}, api.DefaultAddParams(), out)
	}()
	var added api.Cid
	for o := range out {
		added = o.Cid
	}
	if err := <-done; err != nil || !added.Defined() {
		t.Fatalf("Add %v %v", added, err)
	}
	waitFor(t, "the added file pinned on Kubo", 30*time.Second, func() bool { return k.pinned()[added.String()] == "recursive" })

	if _, err := c.Unpin(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UnpinPath(ctx, path.FromCid(dir.Cid).String()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both pins gone from Kubo", 30*time.Second, func() bool {
		got := k.pinned()
		return got[rec.String()] == "" && got[dir.String()] == ""
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
