package e2e

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// docs/operators.md: a peer removed while it is down ("dead or alive")
// comes back by a start with --bootstrap, at the address it had and with
// its data folder, and takes its share of new pins again.
func TestAPeerRemovedWhileDownComesBackWithBootstrap(t *testing.T) {
	kubos, peers := threePeers(t)
	gone := peers[2]
	goneID := peerID(t, gone)
	gone.kill()
	if out, err := peers[0].flotilla("--api", "http://"+peers[0].api, "peers", "rm", goneID); err != nil {
		t.Fatalf("flotilla peers rm: %v\n%s", err, out)
	}
	waitFor(t, "two peers left in the cluster", 30*time.Second, func() bool { return len(peerIDs(t, peers[0])) == 2 })

	// Back at the cluster address it had, which the others' Raft knew.
	gone.env = append(gone.env, "FLOTILLA_CLUSTER_LISTEN="+gone.clust)
	gone.start("--bootstrap", peers[0].clust)
	waitFor(t, "the removed peer a member again", 30*time.Second, func() bool {
		return slices.Contains(peerIDs(t, peers[0]), goneID)
	})
	c := addEverywhere(t, kubos, "pinned once the removed peer came back")
	// The allocator counts the returned peer once its heartbeat arrived:
	// until then a pin on all three is refused, and is asked again.
	waitFor(t, "a pin on all three peers committed", 30*time.Second, func() bool {
		resp, err := http.Post(peers[0].proxyURL()+"/api/v0/pin/add?replication=3&arg="+c, "", nil)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	waitFor(t, "the new pin on the returned peer's Kubo", 30*time.Second, func() bool { return kubos[2].pinned()[c] != "" })
	select {
	case <-gone.exited:
		t.Fatalf("the returned peer stopped:\n%s", gone.logs)
	default:
	}
}

// docs/operators.md: a peer that left with cluster.leave_on_shutdown
// needs --bootstrap to come back; started without it, it stops with the
// error that says so, as a removed peer does, rather than run outside the
// cluster raising alerts for every member.
func TestAPeerThatLeftStopsWhenStartedWithoutBootstrap(t *testing.T) {
	_, peers := threePeersWith(t, "", append(fastHealth, "FLOTILLA_CLUSTER_LEAVE_ON_SHUTDOWN=true")...)
	leaver := peers[2]
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the leaver's log:\n%s", leaver.logs)
		}
	})
	// Its leave asks of its own peer set whether it is a member.
	waitFor(t, "the leaver to know itself a member", 30*time.Second, func() bool { return len(peerIDs(t, leaver)) == 3 })
	leaver.stop()
	waitFor(t, "two peers left in the cluster", 30*time.Second, func() bool { return len(peerIDs(t, peers[0])) == 2 })

	leaver.env = append(leaver.env, "FLOTILLA_CLUSTER_LISTEN="+leaver.clust)
	leaver.startUnready()
	select {
	case <-leaver.exited:
		if code := leaver.cmd.ProcessState.ExitCode(); code == 0 {
			t.Fatalf("the peer that left exited with status 0:\n%s", leaver.logs)
		}
		leaver.cmd = nil
	case <-time.After(10 * time.Second): // a leave of the removed peer would hold it 15 s
		t.Fatalf("the peer that left kept running outside the cluster:\n%s", leaver.logs)
	}
	logs := leaver.logs.String()
	if !strings.Contains(logs, "--bootstrap") {
		t.Fatalf("the peer that left did not say to start it with --bootstrap:\n%s", logs)
	}
	// Its first start's leave is the last: a removed peer has no cluster
	// to leave. (It may raise an alert in the second before it is told it
	// was removed: the members send no heartbeats to a non-member, and the
	// test's heartbeat TTL is 1 s.)
	if strings.Contains(logs, "leave the cluster on shutdown") {
		t.Fatalf("the peer that left, once told it was removed, tried to leave again:\n%s", logs)
	}
}

// docs/operators.md: a removed read-only follower says how to come back,
// --follow, and does come back that way with its data folder, at the
// address it had, mirroring the pins made meanwhile.
func TestARemovedFollowerComesBackWithFollow(t *testing.T) {
	flotillaBin, ipfsBin := binaries(t)
	secrets := clusterSecrets()
	kubos, peers := startPeers(t, 2, append(secrets, fastHealth...))
	fk := startKubo(t, ipfsBin)
	f := newPeer(t, flotillaBin, fk, append([]string{secrets[1]}, fastHealth...)...)
	f.start("--follow", peers[0].clust)
	fid := peerID(t, f)
	waitFor(t, "the follower a member", 30*time.Second, func() bool { return slices.Contains(peerIDs(t, peers[0]), fid) })

	if out, err := peers[0].flotilla("--api", "http://"+peers[0].api, "peers", "rm", fid); err != nil {
		t.Fatalf("flotilla peers rm: %v\n%s", err, out)
	}
	select {
	case <-f.exited:
		f.cmd = nil
	case <-time.After(30 * time.Second):
		t.Fatalf("the removed follower kept running:\n%s", f.logs)
	}
	if !strings.Contains(f.logs.String(), "start it again with --follow") {
		t.Fatalf("the removed follower did not say to start it with --follow:\n%s", f.logs)
	}
	all := append(kubos[:2:2], fk)
	late := addEverywhere(t, all, "pinned while the follower was removed")
	proxyPin(t, peers[0], late, "replication=1")

	f.env = append(f.env, "FLOTILLA_CLUSTER_LISTEN="+f.clust)
	f.start("--follow", peers[1].clust)
	waitFor(t, "the follower a member again", 30*time.Second, func() bool { return slices.Contains(peerIDs(t, peers[0]), fid) })
	waitFor(t, "the pin made meanwhile on the follower's Kubo", 60*time.Second, func() bool { return fk.pinned()[late] == "recursive" })
	select {
	case <-f.exited:
		t.Fatalf("the returned follower stopped:\n%s", f.logs)
	default:
	}
}
