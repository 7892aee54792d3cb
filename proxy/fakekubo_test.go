package proxy

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/flotilla-ipfs/flotilla/internal/fakekubo"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// wire renders an answer without the headers that legitimately differ
// (Date, Server), trailers included, for comparing the proxy with Kubo.
func wire(t *testing.T, method, target string) string {
	t.Helper()
	req, _ := http.NewRequest(method, target, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var keys []string
	for k := range res.Header {
		if k != "Date" && k != "Server" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%d\n", res.StatusCode)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(res.Header[k], " | "))
	}
	fmt.Fprintf(&b, "\n%s\ntrailer: %q\n", body, res.Trailer.Get("X-Stream-Error"))
	return b.String()
}

// TestPinCallsMatchFakeKubo compares the proxy's intercepted answers with
// those of the fake Kubo (which reproduces Kubo's wire format) for the same
// one-pin pinset: same status, headers, bytes and trailer.
func TestPinCallsMatchFakeKubo(t *testing.T) {
	fk := fakekubo.New(t)
	m := newMemCluster()
	base := serveProxy(t, fk, func(up string) Intercepted { return wiredHandlers(t, up, m) })
	c, other := cidOf("pinned"), cidOf("absent")
	fk.PinDirect(c, fakekubo.Recursive)
	m.Pin(t.Context(), storage.Pin{Cid: c, Mode: storage.Recursive})

	for _, q := range []string{
		"pin/ls",
		"pin/ls?stream=true",
		"pin/ls?names=true&type=recursive",
		"pin/ls?type=direct",
		"pin/ls?stream=true&type=direct",
		"pin/ls?arg=/ipfs/" + c.String(),
		"pin/ls?arg=" + url.QueryEscape("/ipfs/"+other.String()),
		"pin/ls?type=bogus",
		"pin/ls?stream=maybe",
		"pin/ls?type=all&type=direct",
		"pin/rm?arg=" + other.String(),
		"pin/rm",
		"pin/add?arg=" + c.String() + "&r=maybe",
		"pin/add?arg=" + c.String() + "&name=" + strings.Repeat("x", 256),
		"pin/update?arg=" + c.String(),
		"pin/update?arg=" + other.String() + "&arg=" + c.String(),
	} {
		want := wire(t, http.MethodPost, fk.URL()+"/api/v0/"+q)
		if got := wire(t, http.MethodPost, base+"/api/v0/"+q); got != want {
			t.Errorf("%s:\nproxy:\n%s\nkubo:\n%s", q, got, want)
		}
	}
	for _, m := range []string{http.MethodGet, http.MethodPut} {
		want := wire(t, m, fk.URL()+"/api/v0/pin/ls")
		if got := wire(t, m, base+"/api/v0/pin/ls"); got != want {
			t.Errorf("%s:\nproxy:\n%s\nkubo:\n%s", m, got, want)
		}
	}
}

// TestAddThroughFakeKuboPinsInClusterOnly: the upstream stores the content
// but holds no pin; the cluster holds it, named.
func TestAddThroughFakeKuboPinsInClusterOnly(t *testing.T) {
	fk := fakekubo.New(t)
	m := newMemCluster()
	base := serveProxy(t, fk, func(up string) Intercepted { return wiredHandlers(t, up, m) })

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, _ := mw.CreateFormFile("file", "hello.txt")
	part.Write([]byte("hello flotilla\n"))
	mw.Close()
	res, err := http.Post(base+"/api/v0/add?pin-name=greeting&stream-channels=true", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Trailer.Get("X-Stream-Error") != "" {
		t.Fatalf("add: %d %s trailer %q", res.StatusCode, out, res.Trailer.Get("X-Stream-Error"))
	}
	added := fk.AddData([]byte("hello flotilla\n")) // the CID the fake gives these bytes
	if !strings.Contains(string(out), added.String()) {
		t.Errorf("add answer %s does not name %s", out, added)
	}
	if p, ok := m.Stored(added); !ok || p.Name != "greeting" {
		t.Errorf("cluster pin %+v %v", p, ok)
	}
	if fk.IsPinned(added) {
		t.Error("the upstream pinned it itself")
	}
}
