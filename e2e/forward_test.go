package e2e

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Commands the proxy does not intercept must come back exactly as Kubo
// answers them: byte streams, tar archives, CARs, MFS.
func TestForwardedCommandsMatchKubo(t *testing.T) {
	k, p := onePeer(t)
	content := make([]byte, 2<<20)
	rand.Read(content)
	root := strings.TrimSpace(k.run("--api", k.api, "add", "-Q", writeFile(t, content)))

	for _, args := range [][]string{
		{"dag", "export", root},
		{"block", "get", root},
		{"cat", "--offset", "1000", "--length", "70000", root},
		{"dag", "stat", "--progress=false", root},
	} {
		direct := k.run(append([]string{"--api", k.api}, args...)...)
		proxied := k.run(append([]string{"--api", p.proxyAPI()}, args...)...)
		if direct != proxied {
			t.Errorf("ipfs %s: %d bytes through the proxy differ from Kubo's %d", strings.Join(args, " "), len(proxied), len(direct))
		}
	}

	out := filepath.Join(t.TempDir(), "got")
	k.run("--api", p.proxyAPI(), "get", "-o", out, root)
	got, err := os.ReadFile(out)
	if err != nil || string(got) != string(content) {
		t.Fatalf("ipfs get through the proxy: %v, %d bytes", err, len(got))
	}

	k.run("--api", p.proxyAPI(), "files", "write", "--create", "/notes.txt", writeFile(t, []byte("mutable")))
	if got := k.run("--api", k.api, "files", "read", "/notes.txt"); got != "mutable" {
		t.Fatalf("MFS write through the proxy, read from Kubo: %q", got)
	}
}
