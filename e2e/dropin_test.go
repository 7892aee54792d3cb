package e2e

import (
	"crypto/rand"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// pin rm through the proxy returns once Kubo dropped the pin, as Kubo's
// own does: right after it, pin ls no longer lists the children, and a
// repo gc through the proxy removes the blocks.
func TestPinRmReturnsOnceKuboDroppedThePin(t *testing.T) {
	k, p := onePeer(t)
	content := make([]byte, 600<<10) // three blocks under one root
	rand.Read(content)
	root := strings.TrimSpace(k.run("--api", p.proxyAPI(), "add", "-Q", writeFile(t, content)))
	waitFor(t, "pinned on Kubo", 30*time.Second, func() bool { return k.pinned()[root] == "recursive" })
	children := strings.Fields(k.run("--api", k.api, "pin", "ls", "--type=indirect", "-q"))
	if len(children) == 0 {
		t.Fatal("Kubo lists no indirect pins under the root")
	}

	// Raw HTTP, so that nothing (such as a CLI's start) sits between the
	// answer of pin rm and the next call.
	rpc := func(cmd string) string {
		t.Helper()
		resp, err := http.Post(p.proxyURL()+"/api/v0/"+cmd, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %v\n%s", cmd, resp.StatusCode, err, b)
		}
		return string(b)
	}
	rpc("pin/rm?arg=" + root)
	all := rpc("pin/ls?type=all")
	for _, c := range append(children, root) {
		if strings.Contains(all, c) {
			t.Fatalf("right after pin rm, pin ls still lists %s:\n%s", c, all)
		}
	}
	rpc("repo/gc")
	local := k.run("--api", k.api, "refs", "local")
	for _, c := range append(children, root) {
		if strings.Contains(local, c) {
			t.Fatalf("repo gc right after pin rm kept block %s", c)
		}
	}
	// Kubo's error for a CID that is not pinned stays.
	if out, err := k.try(nil, "--api", p.proxyAPI(), "pin", "rm", root); err == nil || !strings.Contains(out, "not pinned or pinned indirectly") {
		t.Fatalf("second pin rm: %v\n%s", err, out)
	}
}
