package e2e

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// localStatus is this peer's own status of c, as GET /pins/<cid>?local=true
// reports it ("" when it cannot be read).
func (p *peer) localStatus(c string) string {
	status, _ := p.localAttempt(c)
	return status
}

// After the cluster pins a CID the user holds as a direct pin on Kubo, and
// unpins it again, Kubo holds the user's direct pin, as before.
func TestUsersDirectPinIsPutBackAfterTheCluster(t *testing.T) {
	k, p := onePeer(t)
	own := strings.TrimSpace(k.run("--api", k.api, "add", "-Q", "--pin=false", writeFile(t, []byte("the user's direct pin"))))
	k.run("--api", k.api, "pin", "add", "--recursive=false", own)
	k.run("--api", p.proxyAPI(), "pin", "add", own)
	if got := k.pinned()[own]; got != "recursive" {
		t.Fatalf("the cluster's pin on Kubo is %q, want recursive", got)
	}
	k.run("--api", p.proxyAPI(), "pin", "rm", own)
	waitFor(t, "the tracker to be done with the CID", 30*time.Second, func() bool { return p.localStatus(own) == "unpinned" })
	if got := k.pinned()[own]; got != "direct" {
		t.Fatalf("after the cluster's unpin Kubo holds %q, want the user's direct pin back", got)
	}
}

// Pins committed while Kubo is down are pinned once it answers again,
// without a recover; and a recursive pin the user held before is never taken
// over, though the tracker could not check it while Kubo was down.
func TestPinsMadeWhileKuboIsDownArePinnedWhenItReturns(t *testing.T) {
	flotillaBin, ipfsBin := binaries(t)
	k := startKubo(t, ipfsBin)
	// Kubo comes back on the same port, where the peer expects it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	k.stop()
	k.run("config", "Addresses.API", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port))
	k.start()
	p := newPeer(t, flotillaBin, k, "FLOTILLA_PROXY_PIN_WAIT=committed")
	p.start()

	users := strings.TrimSpace(k.run("--api", k.api, "add", "-Q", writeFile(t, []byte("the user's recursive pin"))))
	var cids []string
	for i := range 3 {
		cids = append(cids, strings.TrimSpace(k.run("--api", k.api, "add", "-Q", "--pin=false", writeFile(t, []byte(fmt.Sprint("arrives while Kubo is down ", i))))))
	}
	k.stop()
	for _, c := range append(cids, users) {
		// Raw RPC: the ipfs CLI makes a request of its own first, which the
		// proxy forwards to the stopped Kubo and fails.
		resp, err := http.Post(p.proxyURL()+"/api/v0/pin/add?arg="+c, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("pin add of %s while Kubo is down: %s", c, resp.Status)
		}
	}
	waitFor(t, "the pins to fail while Kubo is down", 30*time.Second, func() bool {
		for _, c := range cids {
			if p.localStatus(c) != "pin_error" {
				return false
			}
		}
		return true
	})
	k.start()
	waitFor(t, "every pin on Kubo once it is back", 60*time.Second, func() bool {
		got := k.pinned()
		for _, c := range cids {
			if got[c] != "recursive" {
				return false
			}
		}
		return p.localStatus(users) == "pinned"
	})
	k.run("--api", p.proxyAPI(), "pin", "rm", users)
	waitFor(t, "the tracker to be done with the user's CID", 30*time.Second, func() bool { return p.localStatus(users) == "unpinned" })
	if got := k.pinned()[users]; got != "recursive" {
		t.Fatalf("the user's recursive pin is now %q: the cluster took it over while Kubo was down", got)
	}
}
