package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The other ways Kubo makes pins: each becomes a cluster pin, and Kubo's
// own answer comes back unchanged.
func TestBlockPutDagPutAndDagImportMakeClusterPins(t *testing.T) {
	k, p := onePeer(t)
	clusterPins := func() string { return k.run("--api", p.proxyAPI(), "pin", "ls", "--type=recursive") }

	block := strings.TrimSpace(k.run("--api", p.proxyAPI(), "block", "put", "--pin=true", writeFile(t, []byte("a raw block"))))
	if want := strings.TrimSpace(k.run("--api", k.api, "block", "put", writeFile(t, []byte("a raw block")))); block != want {
		t.Fatalf("block put through the proxy printed %q, Kubo prints %q", block, want)
	}
	unpinned := strings.TrimSpace(k.run("--api", p.proxyAPI(), "block", "put", writeFile(t, []byte("not pinned"))))

	dag := strings.TrimSpace(k.run("--api", p.proxyAPI(), "dag", "put", "--pin=true", writeFile(t, []byte(`{"hello":"cluster"}`))))

	// A CAR made by Kubo itself, imported through the proxy.
	root := strings.TrimSpace(k.run("--api", k.api, "add", "-Q", "--pin=false", writeFile(t, []byte("inside a CAR"))))
	car := filepath.Join(t.TempDir(), "x.car")
	if err := os.WriteFile(car, []byte(k.run("--api", k.api, "dag", "export", root)), 0o600); err != nil {
		t.Fatal(err)
	}
	out := k.run("--api", p.proxyAPI(), "dag", "import", "--stats", car)
	if !strings.Contains(out, "Pinned root") || !strings.Contains(out, root) {
		t.Fatalf("dag import output lacks the pinned root:\n%s", out)
	}

	ls := clusterPins()
	for name, c := range map[string]string{"block put": block, "dag put": dag, "dag import": root} {
		if !strings.Contains(ls, c) {
			t.Errorf("%s: %s is not a cluster pin:\n%s", name, c, ls)
		}
		waitFor(t, name+" pinned on Kubo", 30*time.Second, func() bool { return k.pinned()[c] == "recursive" })
	}
	if strings.Contains(ls, unpinned) {
		t.Errorf("block put without --pin made a cluster pin")
	}
}
