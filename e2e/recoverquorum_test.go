package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Two of three peers burn for good: the survivor cannot elect a leader
// until `state recover-quorum` makes it the only voter. It then serves every
// pin it held, commits new ones, takes over the lost peers' pins, lets the
// operator remove them (the pins held only by them then go to the
// survivor), and lets a new peer join.
func TestRecoverQuorumAfterLosingTwoOfThreePeers(t *testing.T) {
	const repinDelay = "3s"
	kubos, peers := threePeersWith(t, "",
		"FLOTILLA_HEALTH_HEARTBEAT_INTERVAL=200ms", "FLOTILLA_HEALTH_HEARTBEAT_TTL=1s",
		"FLOTILLA_CLUSTER_REPIN_DELAY="+repinDelay)
	survivor, survivorKubo := peers[2], kubos[2]

	self, lost := peerID(t, survivor), []string{peerID(t, peers[0]), peerID(t, peers[1])}
	// Content is in every Kubo, so that the survivor's pins the lost
	// peers held need no bitswap from the dead. Pins that need one peer
	// and were placed on the two lost peers move to the survivor alone;
	// those that need two wait for the lost peers' removal.
	queries := []string{"replication=3", "replication=2", ""}
	var cids, movable []string
	for i := range 9 {
		c := addEverywhere(t, kubos, fmt.Sprintf("held before the fire %d", i))
		want := 2
		switch i % 3 {
		case 2:
			if out, err := peers[i%3].flotilla("--api", "http://"+peers[i%3].api, "pin", "add", "--replication-min", "1",
				"--replication-max", "2", "--user-allocations", strings.Join(lost, ","), c); err != nil {
				t.Fatalf("pin add with user allocations: %v\n%s", err, out)
			}
			movable = append(movable, c)
		case 0:
			want = 3
			fallthrough
		default:
			pinEventually(t, peers[i%3], c, queries[i%3])
		}
		waitFor(t, "the pin placed on its peers", 30*time.Second, func() bool { return holders(kubos, c) == want })
		cids = append(cids, c)
	}
	if pinned := survivorKubo.pinned(); pinned[movable[0]] != "" {
		t.Fatalf("a pin allocated to the lost peers is on the survivor's Kubo before they are lost")
	}
	for i := range 2 {
		peers[i].kill()
		kubos[i].stop()
	}

	if out, err := survivor.flotilla("state", "recover-quorum", "--force"); err == nil || !strings.Contains(out, "in use") {
		t.Fatalf("recover-quorum beside the running daemon: %v\n%s", err, out)
	}
	survivor.stop()
	out, err := survivor.flotilla("state", "recover-quorum")
	if err == nil || !strings.Contains(out, "ends at index") || !strings.Contains(out, "--force") {
		t.Fatalf("recover-quorum without --force: %v\n%s", err, out)
	}
	out, err = survivor.flotilla("state", "recover-quorum", "--force")
	if err != nil {
		t.Fatalf("recover-quorum --force: %v\n%s", err, out)
	}
	_, now, _ := strings.Cut(out, "configuration now:")
	if !strings.Contains(now, self) || strings.Contains(now, lost[0]) || strings.Contains(now, lost[1]) {
		t.Fatalf("the new configuration is not the survivor alone:\n%s", out)
	}

	survivor.start()
	list := survivorKubo.run("--api", survivor.proxyAPI(), "pin", "ls", "--type=recursive")
	for _, c := range cids {
		if !strings.Contains(list, c) {
			t.Fatalf("pin ls after the recovery lacks %s:\n%s", c, list)
		}
	}
	fresh := addEverywhere(t, []*kubo{survivorKubo}, "pinned after the recovery")
	proxyPin(t, survivor, fresh, "")
	waitFor(t, "the lost peers' pins that need one peer pinned on the survivor's Kubo", 60*time.Second, func() bool {
		return holders([]*kubo{survivorKubo}, fresh) == 1 && allPinned(survivorKubo, movable)
	})

	for _, id := range lost {
		if out, err := survivor.flotilla("--api", "http://"+survivor.api, "peers", "rm", id); err != nil {
			t.Fatalf("peers rm %s: %v\n%s", id, err, out)
		}
	}
	waitFor(t, "the lost peers gone from the peer set", 30*time.Second, func() bool { return len(peerIDs(t, survivor)) == 1 })
	// A pin whose every allocation was lost is held by no one until it
	// has a member: the repair then places it on the survivor, below its
	// minimum, rather than leave it nowhere.
	waitFor(t, "every pin on the survivor's Kubo", 60*time.Second, func() bool { return allPinned(survivorKubo, cids) })

	flotillaBin, ipfsBin := binaries(t)
	newKubo := startKubo(t, ipfsBin)
	var clusterEnv []string
	for _, kv := range survivor.env {
		if strings.HasPrefix(kv, "FLOTILLA_CLUSTER_SECRET=") || strings.HasPrefix(kv, "FLOTILLA_CLUSTER_FOLLOWER_SECRET=") ||
			strings.HasPrefix(kv, "FLOTILLA_HEALTH_") {
			clusterEnv = append(clusterEnv, kv)
		}
	}
	joiner := newPeer(t, flotillaBin, newKubo, clusterEnv...)
	joiner.start("--bootstrap", survivor.clust)
	waitFor(t, "the new peer in the cluster", 30*time.Second, func() bool { return len(peerIDs(t, survivor)) == 2 })
	second := addEverywhere(t, []*kubo{survivorKubo, newKubo}, "pinned through the new peer")
	pinEventually(t, joiner, second, "replication=2")
	waitFor(t, "the new pin on both Kubos", 30*time.Second, func() bool {
		return holders([]*kubo{survivorKubo, newKubo}, second) == 2
	})
}

func allPinned(k *kubo, cids []string) bool {
	pinned := k.pinned()
	for _, c := range cids {
		if pinned[c] == "" {
			return false
		}
	}
	return true
}

// Step 6 of the operators' guide: a survivor that was not chosen comes back
// with its data folder as it is, by --bootstrap to the recovered peer, as
// a removed peer does, and the two commit together again. (A wiped folder
// would take the cluster's pins on its Kubo for its user's.)
func TestASurvivorNotChosenRejoinsTheRecoveredPeerWithItsData(t *testing.T) {
	kubos, peers := threePeersWith(t, "", fastHealth...)
	chosen, other := peers[2], peers[1]
	for i := range 3 {
		c := addEverywhere(t, kubos, fmt.Sprintf("held before the fire %d", i))
		pinEventually(t, peers[i], c, "replication=2")
	}
	peers[0].kill()
	kubos[0].stop()
	other.stop()
	chosen.stop()
	if out, err := chosen.flotilla("state", "recover-quorum", "--force"); err != nil {
		t.Fatalf("recover-quorum --force: %v\n%s", err, out)
	}
	chosen.start()
	other.start("--bootstrap", chosen.clust)
	otherID := peerID(t, other)
	waitFor(t, "the survivor back as a voter", 30*time.Second, func() bool {
		out, _ := chosen.flotilla("--api", "http://"+chosen.api, "peers", "ls")
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, otherID) && strings.Contains(line, "voter") && !strings.Contains(line, "non-voter") {
				return true
			}
		}
		return false
	})
	live := []*kubo{kubos[1], kubos[2]}
	c := addEverywhere(t, live, "pinned after the survivor came back")
	pinEventually(t, other, c, "replication=2")
	waitFor(t, "the new pin on both live Kubos", 30*time.Second, func() bool { return holders(live, c) == 2 })
}

// pinEventually pins c through p's proxy with the query's options. The
// allocator counts a peer once its first heartbeat arrived: until then a
// pin on more peers than it counts is refused, and is asked again.
func pinEventually(t *testing.T, p *peer, c, query string) {
	t.Helper()
	waitFor(t, "a pin ("+query+") committed through "+p.proxy, 30*time.Second, func() bool {
		resp, err := http.Post(p.proxyURL()+"/api/v0/pin/add?"+query+"&arg="+c, "", nil)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}
