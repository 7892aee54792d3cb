package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// fastHealth makes failure detection quick enough for a test.
var fastHealth = []string{
	"FLOTILLA_HEALTH_HEARTBEAT_INTERVAL=200ms",
	"FLOTILLA_HEALTH_HEARTBEAT_TTL=1s",
	"FLOTILLA_CLUSTER_REPIN_DELAY=0s",
}

// threePeers starts three Kubos and three flotilla daemons that form one
// cluster through the first.
func threePeers(t *testing.T) ([]*kubo, []*peer) { return threePeersWith(t, "", fastHealth...) }

// threePeersWith is threePeers with the daemons' log level ("" is the
// harness's debug) and environment.
func threePeersWith(t testing.TB, logLevel string, extraEnv ...string) ([]*kubo, []*peer) {
	return startPeersLogging(t, 3, logLevel, append(clusterSecrets(), extraEnv...))
}

// clusterSecrets is the environment that makes peers one cluster: one
// cluster secret and one follower secret for all, as docs/operators.md has
// operators copy both. Each `flotilla init` makes a follower secret of its
// own, and a leader warns at the join of a member with another.
func clusterSecrets() []string {
	return []string{"FLOTILLA_CLUSTER_SECRET=" + randomSecret(), "FLOTILLA_CLUSTER_FOLLOWER_SECRET=" + randomSecret()}
}

// randomSecret is a cluster secret (or follower secret) in hex.
func randomSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// startPeers starts n Kubos and n flotilla daemons with env that form one
// cluster through the first.
func startPeers(t testing.TB, n int, env []string) ([]*kubo, []*peer) {
	return startPeersLogging(t, n, "", env)
}

func startPeersLogging(t testing.TB, n int, logLevel string, env []string) ([]*kubo, []*peer) {
	flotillaBin, ipfsBin := binaries(t)
	var kubos []*kubo
	var peers []*peer
	for i := 0; i < n; i++ {
		k := startKubo(t, ipfsBin)
		p := newPeer(t, flotillaBin, k, append(env, fmt.Sprintf("FLOTILLA_CLUSTER_PEERNAME=peer-%d", i))...)
		p.logLevel = logLevel
		if i == 0 {
			p.start()
		} else {
			p.start("--bootstrap", peers[0].clust)
		}
		kubos, peers = append(kubos, k), append(peers, p)
	}
	waitFor(t, "every peer in the cluster", 60*time.Second, func() bool {
		return len(peerIDs(t, peers[0])) == n
	})
	return kubos, peers
}

func peerIDs(t testing.TB, p *peer) []string {
	resp, err := p.client().Get("http://" + p.api + "/id")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var id struct {
		ClusterPeers []string `json:"cluster_peers"`
	}
	json.NewDecoder(resp.Body).Decode(&id)
	return id.ClusterPeers
}

// addEverywhere puts the same content into every Kubo without pinning it,
// so that placement can be checked without depending on bitswap.
func addEverywhere(t testing.TB, kubos []*kubo, content string) string {
	var c string
	for _, k := range kubos {
		c = strings.TrimSpace(k.run("--api", k.api, "add", "-Q", "--pin=false", writeFile(t, []byte(content))))
	}
	return c
}

func proxyPin(t testing.TB, p *peer, c string, query string) {
	t.Helper()
	resp, err := http.Post(fmt.Sprintf("%s/api/v0/pin/add?arg=%s&%s", p.proxyURL(), c, query), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		var e struct{ Message string }
		json.NewDecoder(resp.Body).Decode(&e)
		t.Fatalf("pin add %s: %d %s", query, resp.StatusCode, e.Message)
	}
}

func holders(kubos []*kubo, c string) int {
	n := 0
	for _, k := range kubos {
		if k.cmd != nil && k.pinned()[c] != "" {
			n++
		}
	}
	return n
}

func TestReplicationTwoOnThreePeersAndRepairAfterDeath(t *testing.T) {
	kubos, peers := threePeers(t)
	c := addEverywhere(t, kubos, "replicated twice")
	proxyPin(t, peers[1], c, "replication=2")
	waitFor(t, "exactly two Kubo nodes to pin it", 30*time.Second, func() bool { return holders(kubos, c) == 2 })

	// repo/stat through any proxy sums every peer's Kubo.
	var want uint64
	for _, k := range kubos {
		want += repoStorageMax(t, k.url)
	}
	if got := repoStorageMax(t, peers[2].proxyURL()); got != want {
		t.Fatalf("repo/stat StorageMax through the proxy = %d, want the sum %d", got, want)
	}

	// Kill the process of a peer that holds it (not the one we ask).
	victim := -1
	for i, k := range kubos {
		if k.pinned()[c] != "" && i != 0 {
			victim = i
			break
		}
	}
	if victim == -1 {
		victim = 0
		for i, k := range kubos {
			if k.pinned()[c] != "" {
				victim = i
			}
		}
	}
	peers[victim].kill()
	var survivors []*kubo
	for i, k := range kubos {
		if i != victim {
			survivors = append(survivors, k)
		}
	}
	waitFor(t, "the dead peer's pin to be pinned on both remaining Kubo nodes", 60*time.Second, func() bool {
		return holders(survivors, c) == 2
	})
}

func TestClusterOfClusters(t *testing.T) {
	flotillaBin, ipfsBin := binaries(t)
	innerKubo := startKubo(t, ipfsBin)
	inner := newPeer(t, flotillaBin, innerKubo)
	inner.start()
	// The outer peer's IPFS node is the inner cluster's proxy.
	outerFake := &kubo{api: inner.proxyAPI()}
	outer := newPeer(t, flotillaBin, outerFake)
	outer.start()

	c := strings.TrimSpace(innerKubo.run("--api", outer.proxyAPI(), "add", "-Q", writeFile(t, []byte("nested"))))
	waitFor(t, "the inner Kubo to hold the outer cluster's pin", 30*time.Second, func() bool {
		return innerKubo.pinned()[c] == "recursive"
	})
	if out := innerKubo.run("--api", inner.proxyAPI(), "pin", "ls", "--type=recursive"); !strings.Contains(out, c) {
		t.Fatalf("the inner cluster's pinset lacks the pin:\n%s", out)
	}
	if out := innerKubo.run("--api", outer.proxyAPI(), "pin", "ls", "--type=recursive"); !strings.Contains(out, c) {
		t.Fatalf("the outer cluster's pinset lacks the pin:\n%s", out)
	}
}

func repoStorageMax(t *testing.T, base string) uint64 {
	t.Helper()
	resp, err := http.Post(base+"/api/v0/repo/stat?size-only=true", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rs struct{ StorageMax uint64 }
	if err := json.NewDecoder(resp.Body).Decode(&rs); err != nil || rs.StorageMax == 0 {
		t.Fatalf("repo/stat at %s: %v %+v", base, err, rs)
	}
	return rs.StorageMax
}

// DELETE /peers on one peer removes another that is still running; that
// peer learns it and stops, as ipfs-cluster's peers do.
func TestRemovedPeerStops(t *testing.T) {
	_, peers := threePeers(t)
	resp, err := http.Get("http://" + peers[2].api + "/id")
	if err != nil {
		t.Fatal(err)
	}
	var victim struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&victim)
	resp.Body.Close()

	req, _ := http.NewRequest(http.MethodDelete, "http://"+peers[0].api+"/peers/"+victim.ID, nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("DELETE /peers: %d", resp.StatusCode)
	}
	select {
	case <-peers[2].exited:
		if code := peers[2].cmd.ProcessState.ExitCode(); code == 0 {
			t.Fatalf("a removed peer exited with status 0:\n%s", peers[2].logs)
		}
		peers[2].cmd = nil
	case <-time.After(30 * time.Second):
		t.Fatalf("the removed peer kept running:\n%s", peers[2].logs)
	}
	waitFor(t, "two peers left in the cluster", 30*time.Second, func() bool { return len(peerIDs(t, peers[0])) == 2 })
}
