package e2e

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBadConfigStopsTheDaemonNamingKeyAndFile(t *testing.T) {
	flotillaBin, ipfsBin := binaries(t)
	k := startKubo(t, ipfsBin)
	p := newPeer(t, flotillaBin, k)
	for key, env := range map[string]string{
		"proxy.listen":   "FLOTILLA_PROXY_LISTEN=not-an-address",
		"cluster.secret": "FLOTILLA_CLUSTER_SECRET=tooshort",
		"raft.voters":    "FLOTILLA_RAFT_VOTERS=many",
	} {
		cmd := exec.Command(flotillaBin, "daemon")
		cmd.Env = append(append([]string{}, p.env...), env)
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() == 0 {
			t.Fatalf("%s: daemon did not fail: %v\n%s", key, err, out)
		}
		if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); len(lines) != 1 || !strings.Contains(lines[0], key) {
			t.Fatalf("%s: want one line naming the key, got:\n%s", key, out)
		}
	}
	// A bad value in the file names the file.
	cfg := filepath.Join(p.home, "service.json")
	if out, err := exec.Command("sed", "-i", `s/"pin_wait": "pinned"/"pin_wait": "sometimes"/`, cfg).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	cmd := exec.Command(flotillaBin, "daemon")
	cmd.Env = p.env
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), cfg) || !strings.Contains(string(out), "proxy.pin_wait") {
		t.Fatalf("message does not name the file and key:\n%s", out)
	}
}

func TestDaemonStartsBeforeIPFSAndBecomesReady(t *testing.T) {
	flotillaBin, ipfsBin := binaries(t)
	k := startKubo(t, ipfsBin)
	// Pin Kubo's API port so that it comes back where Flotilla looks.
	k.run("config", "Addresses.API", k.api)
	k.stop()

	p := newPeer(t, flotillaBin, k)
	p.startUnready()
	health := func() int {
		resp, err := http.Get("http://" + p.api + "/health")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := health(); code != http.StatusServiceUnavailable {
		t.Fatalf("/health with IPFS down: %d, want 503", code)
	}
	resp, err := http.Post(p.proxyURL()+"/api/v0/id", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var kerr struct{ Message, Type string }
	json.NewDecoder(resp.Body).Decode(&kerr)
	resp.Body.Close()
	if resp.StatusCode != 500 || kerr.Type != "error" || !strings.Contains(kerr.Message, "not reachable") {
		t.Fatalf("proxy with IPFS down: %d %+v", resp.StatusCode, kerr)
	}
	k.start()
	waitFor(t, "/health to turn ready once IPFS answers", 30*time.Second, func() bool { return health() == http.StatusNoContent })
}
