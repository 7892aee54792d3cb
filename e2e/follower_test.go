package e2e

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/cluster/peerrpc"
	"github.com/flotilla-ipfs/flotilla/cluster/transport"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// Two peers and a read-only follower, each in front of its own Kubo: every
// pin reaches the follower's Kubo whatever its replication, writes through
// the follower are refused in each protocol, the leader refuses a write
// forged with the follower secret, and the follower comes back after a
// restart without --follow.
func TestAFollowerMirrorsThePinsetAndCannotWrite(t *testing.T) {
	flotillaBin, ipfsBin := binaries(t)
	followerSecret := randomSecret()
	kubos, peers := startPeers(t, 2, append([]string{
		"FLOTILLA_CLUSTER_SECRET=" + randomSecret(), "FLOTILLA_CLUSTER_FOLLOWER_SECRET=" + followerSecret,
	}, fastHealth...))
	// The follower keeps the cluster.secret its init made: only the
	// follower secret is given.
	fk := startKubo(t, ipfsBin)
	f := newPeer(t, flotillaBin, fk, append([]string{"FLOTILLA_CLUSTER_FOLLOWER_SECRET=" + followerSecret}, fastHealth...)...)
	f.start("--follow", peers[1].clust)
	fid := peerID(t, f)
	waitFor(t, "the follower listed with its role", 60*time.Second, func() bool {
		return roles(t, peers[0])[fid] == types.RoleFollower && roles(t, f)[fid] == types.RoleFollower
	})
	if out, err := peers[0].flotilla("peers", "ls", "--api", peers[0].api); err != nil || !followerRow(out, fid) {
		t.Fatalf("flotilla peers ls: %v\n%s", err, out)
	}

	// The follower's Kubo has the content (the Kubos are offline), and
	// pins it for every pin of the cluster.
	all := append(kubos[:2:2], fk)
	var pins []string
	for i, query := range []string{"replication=1", "replication=2", ""} {
		c := addEverywhere(t, all, "mirrored "+query+string(rune('a'+i)))
		proxyPin(t, peers[i%2], c, query)
		pins = append(pins, c)
	}
	waitFor(t, "every pin on the follower's Kubo", 60*time.Second, func() bool {
		held := fk.pinned()
		for _, c := range pins {
			if held[c] != "recursive" {
				return false
			}
		}
		return true
	})
	waitFor(t, "the follower's own status of its pins", 30*time.Second, func() bool {
		return f.localStatus(pins[0]) == "pinned"
	})
	if allocs := allocations(t, peers[0], pins[0]); len(allocs) != 1 || allocs[0] == fid {
		t.Fatalf("a pin of replication 1 is allocated to %v", allocs)
	}

	// Writes through the follower: Kubo's error on the proxy, 403 on the
	// admin API; the follower's reads work.
	before := pinCount(t, peers[0])
	unpinned := addEverywhere(t, all, "never pinned")
	for _, call := range []string{"pin/add?arg=" + unpinned, "pin/rm?arg=" + pins[0], "pin/update?arg=" + pins[0] + "&arg=" + unpinned} {
		status, body := post(t, f.proxyURL()+"/api/v0/"+call, "", nil)
		if status != http.StatusInternalServerError || !strings.Contains(body, `"Type":"error"`) || !strings.Contains(body, "read-only follower") {
			t.Errorf("%s through the follower: %d %s", call, status, body)
		}
	}
	if out, err := fk.try(strings.NewReader("uploaded through the follower"), "--api", f.proxyAPI(), "add", "-Q"); err == nil || !strings.Contains(out, "read-only follower") {
		t.Errorf("ipfs add through the follower: %v %s", err, out)
	}
	status, body := post(t, "http://"+f.api+"/pins/"+unpinned, "", nil)
	if status != http.StatusForbidden || !strings.Contains(body, `"code":403`) || !strings.Contains(body, "read-only follower") {
		t.Errorf("POST /pins through the follower: %d %s", status, body)
	}
	if ls := fk.run("--api", f.proxyAPI(), "pin", "ls", "--type=recursive"); !strings.Contains(ls, pins[2]) {
		t.Errorf("pin ls through the follower:\n%s", ls)
	}

	// A write forged with the follower secret, sent straight to the
	// members' cluster ports: the leader among them refuses it.
	forged := forgedApply(t, followerSecret, []string{peers[0].clust, peers[1].clust}, unpinned)
	for addr, err := range forged {
		if !errors.Is(err, types.ErrReadOnlyFollower) {
			t.Errorf("a forged apply to %s = %v", addr, err)
		}
	}
	if after := pinCount(t, peers[0]); after != before {
		t.Fatalf("the pinset went from %d to %d pins", before, after)
	}

	// Restarted without --follow, from another port: it comes back.
	f.stop()
	late := addEverywhere(t, all, "pinned while the follower was away")
	proxyPin(t, peers[0], late, "replication=1")
	f.start()
	waitFor(t, "the pin made while the follower was away on its Kubo", 60*time.Second, func() bool {
		return fk.pinned()[late] == "recursive"
	})
}

func peerID(t *testing.T, p *peer) string {
	t.Helper()
	var id types.ID
	getJSON(t, "http://"+p.api+"/id", &id)
	return id.ID
}

// roles maps each peer that p lists in GET /peers to its role.
func roles(t *testing.T, p *peer) map[string]string {
	t.Helper()
	out := map[string]string{}
	resp, err := http.Get("http://" + p.api + "/peers")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var id types.ID
		if dec.Decode(&id) != nil {
			return out
		}
		out[id.ID] = id.Role
	}
}

func followerRow(table, id string) bool {
	for line := range strings.Lines(table) {
		if f := strings.Fields(line); len(f) > 2 && f[1] == id && f[2] == types.RoleFollower {
			return true
		}
	}
	return false
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func post(t *testing.T, url, contentType string, body io.Reader) (int, string) {
	t.Helper()
	resp, err := http.Post(url, contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func allocations(t *testing.T, p *peer, c string) []string {
	t.Helper()
	var pin struct{ Allocations []string }
	getJSON(t, "http://"+p.api+"/allocations/"+c, &pin)
	return pin.Allocations
}

func pinCount(t *testing.T, p *peer) int {
	t.Helper()
	resp, err := http.Get("http://" + p.api + "/allocations")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n := 0
	dec := json.NewDecoder(resp.Body)
	for {
		var pin json.RawMessage
		if dec.Decode(&pin) != nil {
			return n
		}
		n++
	}
}

// forgedApply sends a pin of c to each cluster address, as a client of the
// cluster port that proves the follower secret alone would, and returns
// each answer.
func forgedApply(t *testing.T, followerSecret string, addrs []string, c string) map[string]error {
	t.Helper()
	secret, _ := hex.DecodeString(followerSecret)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port, err := transport.New(transport.Config{Listener: ln, FollowerSecret: secret, Follower: true, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	ci, err := cid.Decode(c)
	if err != nil {
		t.Fatal(err)
	}
	ops := []storage.Op{{Kind: storage.OpPin, Pin: storage.Pin{Cid: ci, ReplicationFactorMin: -1, ReplicationFactorMax: -1, Timestamp: time.Now()}}}
	client := peerrpc.NewClient(port.DialRPC)
	out := map[string]error{}
	for _, addr := range addrs {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		_, out[addr] = client.Apply(ctx, addr, ops)
		cancel()
	}
	return out
}
