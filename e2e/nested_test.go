package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// localAttempt is this peer's own status of c and how many attempts it
// counts ("" when it cannot be read).
func (p *peer) localAttempt(c string) (status string, attempts int) {
	resp, err := p.client().Get("http://" + p.api + "/pins/" + c + "?local=true")
	if err != nil {
		return "", 0
	}
	defer resp.Body.Close()
	var info struct {
		PeerMap map[string]struct {
			Status   string `json:"status"`
			Attempts int    `json:"attempt_count"`
		} `json:"peer_map"`
	}
	if json.NewDecoder(resp.Body).Decode(&info) != nil {
		return "", 0
	}
	for _, st := range info.PeerMap {
		return st.Status, st.Attempts
	}
	return "", 0
}

// A pin that fails on every peer of the inner cluster stays committed
// there, and reads pinned to the inner proxy's Kubo users; the outer
// cluster, whose IPFS node that proxy is, must not take it for a pin
// (and, taking it for the user's, never unpin it): its retries keep
// failing until the content exists.
func TestClusterOfClustersDoesNotTakeAnInnerFailureForAPin(t *testing.T) {
	flotillaBin, ipfsBin := binaries(t)
	innerKubo := startKubo(t, ipfsBin)
	inner := newPeer(t, flotillaBin, innerKubo)
	inner.start()
	outer := newPeer(t, flotillaBin, &kubo{api: inner.proxyAPI()})
	outer.start()

	// Only hashed: no node has the block, and the offline Kubo fails the
	// pin at once.
	missing := strings.TrimSpace(innerKubo.run("add", "-Q", "--only-hash", writeFile(t, []byte("held by no node"))))
	if out, err := innerKubo.try(nil, "--api", outer.proxyAPI(), "pin", "add", missing); err == nil {
		t.Fatalf("pin add of a block no node has succeeded:\n%s", out)
	}
	if out := innerKubo.run("--api", inner.proxyAPI(), "pin", "ls", "--type=recursive", missing); !strings.Contains(out, missing) {
		t.Fatalf("the inner proxy's Kubo users no longer see the committed pin:\n%s", out)
	}
	status := ""
	waitFor(t, "the outer peer to try the pin again", 60*time.Second, func() bool {
		var attempts int
		status, attempts = outer.localAttempt(missing)
		return status == "pinned" || attempts >= 2
	})
	if status != "pin_error" {
		t.Fatalf("after a retry the outer peer's status is %q, want pin_error: the inner cluster holds nothing", status)
	}
}

// pin ls through the proxy shows the cluster's pins: a file under a
// directory that only the Kubo user pinned is not indirectly pinned
// through the proxy, since the directory itself is not.
func TestPinLsThroughTheProxyIgnoresTheUsersOwnRoots(t *testing.T) {
	k, p := onePeer(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "child"), []byte("under the user's own root"), 0o600); err != nil {
		t.Fatal(err)
	}
	root := strings.TrimSpace(k.run("add", "-r", "-Q", dir))
	child := strings.TrimSpace(k.run("resolve", "-r", "/ipfs/"+root+"/child"))
	child = strings.TrimPrefix(child, "/ipfs/")
	if out := k.run("pin", "ls", child); !strings.Contains(out, "indirect through "+root) {
		t.Fatalf("Kubo itself does not pin the child indirectly:\n%s", out)
	}
	for _, arg := range []string{root, child} {
		out, err := k.try(nil, "--api", p.proxyAPI(), "pin", "ls", arg)
		if err == nil || !strings.Contains(out, "is not pinned") {
			t.Errorf("pin ls %s through the proxy: %v\n%s\nwant: is not pinned", arg, err, out)
		}
	}
}
