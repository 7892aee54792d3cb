package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"mime/multipart"
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
	root := addThroughProxy(t, k, p)
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

// POST /add?format=car on the admin API imports a CAR into Kubo and pins its
// root in the cluster, answering ipfs-cluster's AddedOutput with the root.
func TestAddCAROnTheAdminAPI(t *testing.T) {
	k, p := onePeer(t)
	content := make([]byte, 600<<10)
	rand.Read(content)
	root := strings.TrimSpace(k.run("add", "-Q", "--pin=false", writeFile(t, content)))
	data := []byte(k.run("dag", "export", root)) // the CAR, on stdout
	k.run("repo", "gc")                          // the blocks must come from the CAR
	if local := k.run("refs", "local"); strings.Contains(local, root) {
		t.Fatal("repo gc kept the unpinned root")
	}

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, _ := mw.CreateFormFile("file", "upload.car")
	part.Write(data)
	mw.Close()
	resp, err := http.Post("http://"+p.api+"/add?format=car&name=fromcar&stream-channels=false", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	var added []struct {
		Name        string   `json:"name"`
		Cid         string   `json:"cid"`
		Bytes       uint64   `json:"bytes"`
		Allocations []string `json:"allocations"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(out, &added) != nil || len(added) != 1 {
		t.Fatalf("add?format=car: %d %s", resp.StatusCode, out)
	}
	if added[0].Cid != root || added[0].Name != "upload.car" || added[0].Bytes == 0 {
		t.Fatalf("output %+v, want root %s", added[0], root)
	}
	waitFor(t, "Kubo to pin the CAR's root", 30*time.Second, func() bool { return k.pinned()[root] == "recursive" })
	if ls := k.run("--api", p.proxyAPI(), "pin", "ls", "--names", root); !strings.Contains(ls, "fromcar") {
		t.Fatalf("cluster pin of the root: %s", ls)
	}
	if got := k.run("cat", root); got != string(content) {
		t.Fatalf("cat of the imported root: %d bytes, want %d", len(got), len(content))
	}
}

// addThroughProxy adds three blocks under one root through p's proxy and
// waits until Kubo holds the pin.
func addThroughProxy(t *testing.T, k *kubo, p *peer) string {
	t.Helper()
	content := make([]byte, 600<<10)
	rand.Read(content)
	root := strings.TrimSpace(k.run("--api", p.proxyAPI(), "add", "-Q", writeFile(t, content)))
	waitFor(t, "pinned on Kubo", 30*time.Second, func() bool { return k.pinned()[root] == "recursive" })
	return root
}
