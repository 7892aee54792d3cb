package e2e

import (
	"crypto/rand"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"
)

// pin update through the proxy returns once Kubo holds the new pin and, with
// unpin=true (Kubo's default), no longer holds the old one, as Kubo's own
// does: right after it, pin ls on the Kubo lists neither the old root nor
// its children.
func TestPinUpdateReturnsOnceKuboDroppedTheOldPin(t *testing.T) {
	flotillaBin, ipfsBin := binaries(t)
	k := startKubo(t, ipfsBin)
	// Kubo drops a pin in a few milliseconds, about as long as the CLI takes
	// to exit: a slow pin/rm upstream makes a proxy that answers before the
	// unpin visibly wrong every time rather than now and then.
	p := newPeer(t, flotillaBin, k, "FLOTILLA_IPFS_API="+slowUnpinUpstream(t, k.url, 1500*time.Millisecond))
	p.start()
	from := addThroughProxy(t, k, p)
	children := strings.Fields(k.run("--api", k.api, "pin", "ls", "--type=indirect", "-q"))
	if len(children) == 0 {
		t.Fatal("Kubo lists no indirect pins under the root")
	}
	content := make([]byte, 600<<10)
	rand.Read(content)
	to := strings.TrimSpace(k.run("add", "-Q", "--pin=false", writeFile(t, content)))

	k.run("--api", p.proxyAPI(), "pin", "update", from, to)
	// Raw HTTP straight to Kubo, so that nothing (such as a CLI's start)
	// sits between the answer of pin update and the look.
	resp, err := http.Post(k.url+"/api/v0/pin/ls?type=all", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("pin ls: %d %v\n%s", resp.StatusCode, err, b)
	}
	all := string(b)
	if !strings.Contains(all, to) {
		t.Fatalf("right after pin update, Kubo does not pin the new root %s:\n%s", to, all)
	}
	for _, c := range append(children, from) {
		if strings.Contains(all, c) {
			t.Fatalf("right after pin update, Kubo still pins %s of the old version:\n%s", c, all)
		}
	}
	if ls := k.run("--api", p.proxyAPI(), "pin", "ls", "--type=recursive", "-q"); strings.Contains(ls, from) {
		t.Fatalf("the old root is still in the cluster pinset:\n%s", ls)
	}
}

// slowUnpinUpstream serves Kubo's API at kuboURL on a loopback port, holding
// each pin/rm for delay before passing it on, and returns its URL.
func slowUnpinUpstream(t *testing.T, kuboURL string, delay time.Duration) string {
	t.Helper()
	target, err := url.Parse(kuboURL)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.FlushInterval = -1
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v0/pin/rm" {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		rp.ServeHTTP(w, r)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}
