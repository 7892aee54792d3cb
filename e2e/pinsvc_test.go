package e2e

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestIPFSPinRemoteThroughThePinningService drives Kubo's own `ipfs pin
// remote` commands against a running peer's Pinning Service, with the
// peer's upstream being that same Kubo: content added there unpinned ends up
// pinned by the cluster, and a remote rm unpins it again.
func TestIPFSPinRemoteThroughThePinningService(t *testing.T) {
	const token = "e2e-pinsvc-token"
	flotillaBin, ipfsBin := binaries(t)
	k := startKubo(t, ipfsBin)
	p := newPeer(t, flotillaBin, k, "FLOTILLA_PINSVC_TOKENS="+token)
	p.start()
	endpoint := "http://" + pinsvcAddr(t, p)

	// The token is required: a caller without it learns nothing.
	resp, err := http.Get(endpoint + "/pins")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /pins without a token: %d, want 401", resp.StatusCode)
	}
	k.run("pin", "remote", "service", "add", "flotilla", endpoint, token)
	k.run("pin", "remote", "service", "add", "badkey", endpoint, "not-the-token")
	if out, err := k.try(nil, "pin", "remote", "ls", "--service=badkey"); err == nil || !strings.Contains(out, "UNAUTHORIZED") {
		t.Fatalf("ls with a wrong key: %v\n%s", err, out)
	}

	// Without --background, Kubo polls GET /pins/{requestid} until pinned,
	// with no limit of its own.
	c := addUnpinned(t, k)
	out := k.run("--timeout=60s", "pin", "remote", "add", "--service=flotilla", "--name=x", c)
	if !strings.Contains(out, c) || !strings.Contains(out, "pinned") {
		t.Fatalf("pin remote add printed:\n%s", out)
	}
	if ls := remoteLs(k, "pinned,queued,pinning"); ls[c] != "pinned\tx" {
		t.Fatalf("pin remote ls lacks %s as pinned, named x: %v", c, ls)
	}
	if k.pinned()[c] != "recursive" {
		t.Fatalf("%s reported pinned but not pinned on Kubo", c)
	}

	// With --background it returns at once; ls shows it pinned later.
	bg := addUnpinned(t, k)
	k.run("pin", "remote", "add", "--service=flotilla", "--name=background", "--background", bg)
	if ls := remoteLs(k, "queued,pinning,pinned"); ls[bg] == "" {
		t.Fatalf("pin remote ls lacks the background pin %s: %v", bg, ls)
	}
	waitFor(t, "the background pin to be listed as pinned", 60*time.Second, func() bool {
		return remoteLs(k, "pinned")[bg] == "pinned\tbackground"
	})
	if k.pinned()[bg] != "recursive" {
		t.Fatalf("%s reported pinned but not pinned on Kubo", bg)
	}

	// --stat reads the counts of limit=1 pages, one per status.
	var services struct {
		RemoteServices []struct {
			Service string
			Stat    struct {
				Status   string
				PinCount struct{ Queued, Pinning, Pinned, Failed int }
			}
		}
	}
	if err := json.Unmarshal([]byte(k.run("pin", "remote", "service", "ls", "--stat", "--enc=json")), &services); err != nil {
		t.Fatal(err)
	}
	checked := false
	for _, s := range services.RemoteServices {
		if s.Service == "flotilla" {
			checked = true
			if s.Stat.Status != "valid" || s.Stat.PinCount.Pinned != 2 {
				t.Fatalf("service ls --stat: %+v, want valid with 2 pinned", s.Stat)
			}
		}
	}
	if !checked {
		t.Fatalf("service ls --stat did not list the flotilla service: %+v", services)
	}

	k.run("pin", "remote", "rm", "--service=flotilla", "--cid="+c)
	if ls := remoteLs(k, "queued,pinning,pinned,failed"); ls[c] != "" || ls[bg] == "" {
		t.Fatalf("after rm of %s, pin remote ls shows %v", c, ls)
	}
	waitFor(t, "Kubo to drop the removed pin", 60*time.Second, func() bool {
		_, ok := k.pinned()[c]
		return !ok
	})
}

// addUnpinned adds fresh content to Kubo without pinning it there.
func addUnpinned(t *testing.T, k *kubo) string {
	t.Helper()
	content := make([]byte, 64<<10)
	rand.Read(content)
	c := strings.TrimSpace(k.run("add", "-Q", "--pin=false", writeFile(t, content)))
	if _, ok := k.pinned()[c]; ok {
		t.Fatalf("%s is pinned on Kubo before the test pinned it", c)
	}
	return c
}

// remoteLs runs `ipfs pin remote ls` with the given statuses and returns
// "status\tname" by CID.
func remoteLs(k *kubo, statuses string) map[string]string {
	k.t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(k.run("pin", "remote", "ls", "--service=flotilla", "--status="+statuses)), "\n") {
		if c, rest, ok := strings.Cut(line, "\t"); ok {
			out[c] = rest
		}
	}
	return out
}

// pinsvcAddr reads the Pinning Service's address from the daemon's JSON
// start line, which the harness keeps in the peer's logs.
func pinsvcAddr(t *testing.T, p *peer) string {
	t.Helper()
	for _, line := range strings.Split(p.logs.String(), "\n") {
		var ev map[string]any
		if json.Unmarshal([]byte(line), &ev) != nil || ev["message"] != "flotilla peer started" {
			continue
		}
		if addr, ok := ev["pinsvc"].(string); ok && addr != "" {
			return addr
		}
	}
	t.Fatalf("the daemon's start line has no \"pinsvc\" address: is the Pinning Service wired into the daemon?\n%s", p.logs)
	return ""
}
