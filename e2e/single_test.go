package e2e

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/boxo/files"
	"github.com/ipfs/boxo/path"
	"github.com/ipfs/go-cid"
	rpc "github.com/ipfs/kubo/client/rpc"
	iface "github.com/ipfs/kubo/core/coreiface"
	"github.com/ipfs/kubo/core/coreiface/options"
)

func onePeer(t *testing.T, env ...string) (*kubo, *peer) {
	flotillaBin, ipfsBin := binaries(t)
	k := startKubo(t, ipfsBin)
	p := newPeer(t, flotillaBin, k, env...)
	p.start()
	return k, p
}

func writeFile(t testing.TB, content []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "file.bin")
	if err := os.WriteFile(f, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestIPFSCLIThroughTheProxy(t *testing.T) {
	k, p := onePeer(t)
	content := make([]byte, 3<<20) // several blocks, so that the add streams
	rand.Read(content)
	file := writeFile(t, content)

	// add pins through the cluster, not through Kubo's own pinner.
	root := strings.TrimSpace(k.run("--api", p.proxyAPI(), "add", "-Q", file))
	if _, err := cid.Decode(root); err != nil {
		t.Fatalf("add printed %q, not a CID", root)
	}
	if want := strings.TrimSpace(k.run("add", "-Q", "--only-hash", file)); root != want {
		t.Fatalf("CID through the proxy %s differs from Kubo's own %s: the upload was altered", root, want)
	}
	waitFor(t, "Kubo to hold the added file's pin", 30*time.Second, func() bool { return k.pinned()[root] == "recursive" })
	ls := k.run("--api", p.proxyAPI(), "pin", "ls", "--type=recursive")
	if !strings.Contains(ls, root+" recursive") {
		t.Fatalf("cluster pin ls lacks the added file:\n%s", ls)
	}
	if got := k.run("--api", p.proxyAPI(), "cat", root); got != string(content) {
		t.Fatalf("cat through the proxy returned %d bytes, want %d identical", len(got), len(content))
	}

	// pin rm, then pin add with the CID on stdin, as `echo CID | ipfs pin add` sends it.
	k.run("--api", p.proxyAPI(), "pin", "rm", root)
	waitFor(t, "Kubo to drop the pin", 30*time.Second, func() bool { _, ok := k.pinned()[root]; return !ok })
	if out := k.run("--api", p.proxyAPI(), "pin", "ls", "--type=recursive"); strings.Contains(out, root) {
		t.Fatalf("cluster still lists a removed pin:\n%s", out)
	}
	out, err := k.try(strings.NewReader(root+"\n"), "--api", p.proxyAPI(), "pin", "add", "--name", "again")
	if err != nil || !strings.Contains(out, "pinned "+root+" recursively") {
		t.Fatalf("pin add from stdin: %v\n%s", err, out)
	}
	if k.pinned()[root] != "recursive" {
		t.Fatal("pin add returned before the pin was on Kubo")
	}
	if out := k.run("--api", p.proxyAPI(), "pin", "ls", "--names", root); !strings.Contains(out, "again") {
		t.Fatalf("pin name lost: %s", out)
	}

	// Errors keep Kubo's words and exit status.
	other := strings.TrimSpace(k.run("add", "-Q", "--pin=false", writeFile(t, []byte("never pinned"))))
	if out, err := k.try(nil, "--api", p.proxyAPI(), "pin", "rm", other); err == nil || !strings.Contains(out, "not pinned or pinned indirectly") {
		t.Fatalf("pin rm of an unpinned CID: %v\n%s", err, out)
	}
	if out, err := k.try(nil, "--api", p.proxyAPI(), "pin", "ls", other); err == nil || !strings.Contains(out, "is not pinned") {
		t.Fatalf("pin ls of an unpinned CID: %v\n%s", err, out)
	}
}

func TestKuboGoClientThroughTheProxy(t *testing.T) {
	k, p := onePeer(t)
	api, err := rpc.NewURLApiWithClient(p.proxyURL(), &http.Client{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	content := make([]byte, 1<<20)
	rand.Read(content)
	added, err := api.Unixfs().Add(ctx, files.NewBytesFile(content), options.Unixfs.Pin(true, "go-client"))
	if err != nil {
		t.Fatal(err)
	}
	root := added.RootCid()
	waitFor(t, "Kubo to hold the Go client's add", 30*time.Second, func() bool { return k.pinned()[root.String()] == "recursive" })

	direct := strings.TrimSpace(k.run("add", "-Q", "--pin=false", writeFile(t, []byte("direct pin"))))
	dc, _ := cid.Decode(direct)
	if err := api.Pin().Add(ctx, path.FromCid(dc), options.Pin.Recursive(false)); err != nil {
		t.Fatal(err)
	}
	if k.pinned()[direct] != "direct" {
		t.Fatalf("direct pin through the Go client is %q on Kubo", k.pinned()[direct])
	}
	typ, ok, err := api.Pin().IsPinned(ctx, path.FromCid(dc))
	if err != nil || !ok || typ != "direct" {
		t.Fatalf("IsPinned = %q %v %v", typ, ok, err)
	}
	seen := map[string]string{}
	pins := make(chan iface.Pin)
	lsErr := make(chan error, 1)
	go func() { lsErr <- api.Pin().Ls(ctx, pins) }()
	for pin := range pins {
		seen[pin.Path().RootCid().String()] = pin.Type()
	}
	if err := <-lsErr; err != nil {
		t.Fatal(err)
	}
	if seen[root.String()] != "recursive" || seen[direct] != "direct" {
		t.Fatalf("Pin().Ls = %v", seen)
	}
	if err := api.Pin().Rm(ctx, path.FromCid(dc)); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := api.Pin().IsPinned(ctx, path.FromCid(dc)); ok || err != nil {
		t.Fatalf("IsPinned after Rm = %v %v", ok, err)
	}
}

func TestRawHTTPErrors(t *testing.T) {
	_, p := onePeer(t)
	resp, err := http.Get(p.proxyURL() + "/api/v0/pin/ls")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 405 || string(body) != "405 - Method Not Allowed\n" {
		t.Fatalf("GET: %d %q", resp.StatusCode, body)
	}
	var kerr struct {
		Message string
		Code    int
		Type    string
	}
	resp, err = http.Post(p.proxyURL()+"/api/v0/pin/add?arg=notacid", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&kerr)
	resp.Body.Close()
	if resp.StatusCode != 500 || kerr.Type != "error" || !strings.Contains(kerr.Message, "invalid path") {
		t.Fatalf("bad CID: %d %+v", resp.StatusCode, kerr)
	}
	req, _ := http.NewRequest("POST", p.proxyURL()+"/api/v0/id", nil)
	req.Header.Set("Origin", "http://evil.example")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("foreign Origin: %d, want 403", resp.StatusCode)
	}
}

func TestUpstreamDownIsAKuboError(t *testing.T) {
	k, p := onePeer(t)
	k.stop()
	resp, err := http.Post(p.proxyURL()+"/api/v0/id", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var kerr struct{ Message, Type string }
	json.NewDecoder(resp.Body).Decode(&kerr)
	if resp.StatusCode != 500 || kerr.Type != "error" || !strings.Contains(kerr.Message, "IPFS") {
		t.Fatalf("upstream down: %d %+v", resp.StatusCode, kerr)
	}
}

func TestPinsSurviveACrash(t *testing.T) {
	k, p := onePeer(t)
	root := strings.TrimSpace(k.run("--api", p.proxyAPI(), "add", "-Q", writeFile(t, []byte("survive"))))
	p.kill()
	p.start()
	if out := k.run("--api", p.proxyAPI(), "pin", "ls", "--type=recursive"); !strings.Contains(out, root) {
		t.Fatalf("acknowledged pin lost in a crash:\n%s", out)
	}
}

func TestPinRemovedOnKuboIsReconciledBack(t *testing.T) {
	k, p := onePeer(t, "FLOTILLA_IPFS_RECONCILE_INTERVAL=1s")
	root := strings.TrimSpace(k.run("--api", p.proxyAPI(), "add", "-Q", writeFile(t, []byte("keep me"))))
	waitFor(t, "pinned on Kubo", 30*time.Second, func() bool { return k.pinned()[root] == "recursive" })
	k.run("--api", k.api, "pin", "rm", root)
	waitFor(t, "Flotilla to pin it again", 30*time.Second, func() bool { return k.pinned()[root] == "recursive" })
}

func TestUsersOwnKuboPinsAreNeverRemoved(t *testing.T) {
	k, p := onePeer(t)
	own := strings.TrimSpace(k.run("--api", k.api, "add", "-Q", writeFile(t, []byte("the user's own"))))
	k.run("--api", p.proxyAPI(), "pin", "add", own)
	k.run("--api", p.proxyAPI(), "pin", "rm", own)
	// The peer's own status of this CID says when its tracker is done with
	// it: "unpinned" once no unpin is queued or running.
	waitFor(t, "the tracker to be done with the user's CID", 30*time.Second, func() bool { return p.localStatus(own) == "unpinned" })
	if k.pinned()[own] != "recursive" {
		t.Fatal("Flotilla removed a pin the user made directly on Kubo")
	}
}

func TestMetricsEndpoint(t *testing.T) {
	k, p := onePeer(t)
	root := strings.TrimSpace(k.run("--api", p.proxyAPI(), "add", "-Q", writeFile(t, []byte("counted"))))
	k.run("--api", p.proxyAPI(), "pin", "ls", root)
	scrape := func() string {
		resp, err := http.Get("http://" + p.api + "/metrics")
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	waitFor(t, "the pin to be counted as pinned", 30*time.Second, func() bool {
		body := scrape()
		return strings.Contains(body, "flotilla_pinset_pins 1") &&
			strings.Contains(body, `flotilla_local_pins{status="pinned"} 1`) &&
			strings.Contains(body, `flotilla_http_requests_total{code="200",listener="proxy",route="/api/v0/pin/ls"} 1`) &&
			strings.Contains(body, `flotilla_raft_state{state="leader"} 1`) &&
			strings.Contains(body, "flotilla_raft_leader_known 1") &&
			strings.Contains(body, "flotilla_raft_last_contact_seconds 0\n") &&
			strings.Contains(body, "flotilla_ipfs_up 1") &&
			strings.Contains(body, `flotilla_build_info{commit=`)
	})
	// A stopped IPFS node shows in the metrics, as it does in /health.
	k.stop()
	waitFor(t, "flotilla_ipfs_up 0 once Kubo stopped", 30*time.Second, func() bool {
		return strings.Contains(scrape(), "flotilla_ipfs_up 0")
	})
}

// The cluster tracks roots; indirect pins come from the IPFS node, so that
// `pin ls` answers as Kubo does for the blocks under a pin.
func TestIndirectPinsAsKuboReportsThem(t *testing.T) {
	k, p := onePeer(t)
	root := addThroughProxy(t, k, p)

	direct := k.run("--api", k.api, "pin", "ls", "--type=indirect")
	proxied := k.run("--api", p.proxyAPI(), "pin", "ls", "--type=indirect")
	if strings.TrimSpace(direct) == "" || sortedLines(direct) != sortedLines(proxied) {
		t.Fatalf("indirect pins through the proxy:\n%s\nKubo's own:\n%s", proxied, direct)
	}
	child := strings.Fields(strings.Split(strings.TrimSpace(direct), "\n")[0])[0]
	if out := k.run("--api", p.proxyAPI(), "pin", "ls", child); !strings.Contains(out, "indirect through "+root) {
		t.Fatalf("pin ls of a child block: %q", out)
	}
	all := k.run("--api", p.proxyAPI(), "pin", "ls")
	if !strings.Contains(all, root+" recursive") || !strings.Contains(all, child+" indirect") {
		t.Fatalf("pin ls (type all) lacks the root or a child:\n%s", all)
	}
}

func sortedLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
