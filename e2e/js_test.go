package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The JS client (kubo-rpc-client), installed by `make test` into e2e/js,
// against a running flotilla: the third family of clients the proxy must
// serve unchanged.
func TestJSClientThroughTheProxy(t *testing.T) {
	k, p := onePeer(t)
	// onePeer has already skipped unless the end-to-end tests are on: from
	// here, a missing client is a failure, never a silent skip.
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed: .ci/run installs it with apt-get")
	}
	if _, err := os.Stat(filepath.Join("js", "node_modules", "kubo-rpc-client")); err != nil {
		t.Fatal("e2e/js/node_modules is missing: `make test` installs it with npm ci")
	}
	cmd := exec.Command(node, "client.mjs", p.proxyURL(), time.Now().String())
	cmd.Dir = "js"
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("JS client: %v\n%s", err, out)
	}
	c := strings.TrimSpace(string(out))
	waitFor(t, "the JS client's pin on Kubo", 30*time.Second, func() bool { return k.pinned()[c] == "recursive" })
}
