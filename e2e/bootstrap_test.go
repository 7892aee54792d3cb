package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// A peer joins through the multiaddr that ipfs-cluster's users pass to
// --bootstrap (/ip4/<host>/tcp/<port>/p2p/<id>), not only through
// HOST:PORT. (It used to retry "http:///ip4/...: no Host in request URL"
// until it gave up.)
func TestJoinThroughAnIPFSClusterStyleMultiaddr(t *testing.T) {
	flotillaBin, ipfsBin := binaries(t)
	secrets := clusterSecrets()
	first := newPeer(t, flotillaBin, startKubo(t, ipfsBin), secrets...)
	first.start()
	resp, err := first.client().Get("http://" + first.api + "/id")
	if err != nil {
		t.Fatal(err)
	}
	var id struct {
		ID string `json:"id"`
	}
	err = json.NewDecoder(resp.Body).Decode(&id)
	resp.Body.Close()
	if err != nil || id.ID == "" {
		t.Fatalf("the first peer's /id: %v %+v", err, id)
	}
	host, port, err := net.SplitHostPort(first.clust)
	if err != nil {
		t.Fatal(err)
	}
	joiner := newPeer(t, flotillaBin, startKubo(t, ipfsBin), secrets...)
	joiner.start("--bootstrap", "/ip4/"+host+"/tcp/"+port+"/p2p/"+id.ID)
	waitFor(t, "the joiner in the first peer's peer set", 60*time.Second, func() bool {
		return len(peerIDs(t, first)) == 2
	})
	if ids := peerIDs(t, joiner); !slices.Contains(ids, id.ID) {
		t.Fatalf("the joiner's peers %v lack the first peer %s", ids, id.ID)
	}
}

// A peer joining a cluster whose log starts after a snapshot (a pinset
// imported with `flotilla state import`) catches up by the snapshot, since
// the leader has no entries to replay: its Raft log then starts at an
// index other than 1. It commits through that log, and after a crash it
// keeps every pin and catches up with what it missed.
func TestAPeerJoinsByASnapshotAndSurvivesACrash(t *testing.T) {
	flotillaBin, ipfsBin := binaries(t)
	secrets := clusterSecrets()
	kubos := []*kubo{startKubo(t, ipfsBin), startKubo(t, ipfsBin), startKubo(t, ipfsBin)}
	// Fixed cluster ports, as in a real deployment: the import writes the
	// first peer's address into the Raft configuration before it ever
	// listens, and a restarted peer must come back where the others look.
	env := func() []string {
		return append(slices.Clone(secrets), fmt.Sprintf("FLOTILLA_CLUSTER_LISTEN=127.0.0.1:%d", freePort(t)))
	}
	first := newPeer(t, flotillaBin, kubos[0], env()...)
	const imported = 200
	export := filepath.Join(t.TempDir(), "pinset.ndjson")
	writeExport(t, export, imported, func(i int) string { return scaleCID(i).String() })
	if out, err := first.flotilla("state", "import", "--file", export); err != nil {
		t.Fatalf("state import: %v\n%s", err, out)
	}
	first.start()
	// Two joiners, so that the cluster keeps a majority while one is down.
	joiner := newPeer(t, flotillaBin, kubos[1], env()...)
	joiner.start("--bootstrap", first.clust)
	newPeer(t, flotillaBin, kubos[2], env()...).start("--bootstrap", first.clust)
	pins := func(p *peer) int {
		n, err := listAll(t, p.client(), http.MethodPost, p.proxyURL()+"/api/v0/pin/ls?type=recursive&stream=true", countLines)
		if err != nil {
			return -1
		}
		return n
	}
	waitFor(t, "the joiner to hold the imported pinset", 60*time.Second, func() bool { return pins(joiner) == imported })

	before := addEverywhere(t, kubos, "committed through the joiner's log")
	proxyPin(t, joiner, before, "")
	joiner.kill()
	missed := addEverywhere(t, kubos, "committed while the joiner was down")
	proxyPin(t, first, missed, "")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the joiner's log:\n%s", joiner.logs)
		}
	})
	joiner.start()
	waitFor(t, "the restarted joiner to hold every pin", 60*time.Second, func() bool { return pins(joiner) == imported+2 })
	for _, c := range []string{before, missed} {
		if kubos[1].pinned()[c] != "recursive" {
			t.Errorf("the joiner's Kubo does not pin %s recursively: %v", c, kubos[1].pinned()[c])
		}
	}
}

// A member that restarts at another address (a container given a new IP)
// is reached there: it tells the cluster through the other members, and
// the leader points Raft at the new address. (The leader used to keep
// sending to the old one: the peer never heard of a new pin again.)
func TestAMemberRestartedAtAnotherAddressIsReachedThere(t *testing.T) {
	// Each peer listens on a port of the system's choosing, so a restarted
	// one comes back at another.
	kubos, peers := startPeers(t, 3, clusterSecrets())
	moved := peers[2]
	old := moved.clust
	moved.stop()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the moved peer's log:\n%s\nthe first peer's log:\n%s", moved.logs, peers[0].logs)
		}
	})
	moved.start()
	if moved.clust == old {
		t.Fatalf("the peer came back at %s, its old address", old)
	}
	c := addEverywhere(t, kubos, "pinned after a peer moved")
	proxyPin(t, peers[0], c, "")
	waitFor(t, "the moved peer's Kubo to pin the new pin", 60*time.Second, func() bool {
		return kubos[2].pinned()[c] == "recursive"
	})
}

// The peers the harness makes into one cluster hold one follower secret,
// as operators are told to give theirs: the leader then has no member of
// another follower secret to warn of when the second peer joins.
func TestTheHarnessGivesAClusterOneFollowerSecret(t *testing.T) {
	_, peers := startPeers(t, 2, clusterSecrets())
	leaderLog := func() []string { return strings.Split(peers[0].logs.String(), "\n") }
	waitFor(t, "the leader's line of the second peer's join", 30*time.Second, func() bool {
		return slices.ContainsFunc(leaderLog(), func(line string) bool {
			return strings.Contains(line, "a member joined the cluster") && strings.Contains(line, `"peer_name":"peer-1"`)
		})
	})
	for _, line := range leaderLog() {
		if strings.Contains(line, "another cluster.follower_secret") {
			t.Fatalf("the leader warns of the joiner's follower secret: %s", line)
		}
	}
}

// The only member of a cluster, restarted at another address, has no one
// to tell: it leads alone and points Raft at its own new address, which a
// member joining later is given. (It used to try to join through no one
// for a minute and log a warning, and Raft kept the old address.)
func TestAnOnlyMemberRestartedAtAnotherAddressRecordsIt(t *testing.T) {
	_, peers := startPeers(t, 1, clusterSecrets())
	p := peers[0]
	old := p.clust
	p.stop()
	p.start()
	if p.clust == old {
		t.Fatalf("the peer came back at %s, its old address", old)
	}
	waitFor(t, "the leader to record its own move", 30*time.Second, func() bool {
		return strings.Contains(p.logs.String(), "a member moved to another address")
	})
	p.stop()
	out, _ := p.flotilla("state", "recover-quorum")
	if !strings.Contains(out, p.clust) || strings.Contains(out, old) {
		t.Fatalf("the raft configuration does not hold the new address %s alone:\n%s", p.clust, out)
	}
	if strings.Contains(p.logs.String(), "could not tell its cluster") {
		t.Fatalf("the only member warned that it could not tell its cluster:\n%s", p.logs)
	}
}
