package e2e

import (
	"net/http"
	"slices"
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

