package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/flotilla-ipfs/flotilla/internal/testkit"
)

// TestBrowserRequestsRefusedOnTheAPIs is issue 9's opening example against
// the real daemon with default settings (no auth anywhere): a forged
// Origin, a text/plain cross-site POST and a rebinding Host are refused by
// the admin API and the Pinning Service API, and the CID stays unpinned.
func TestBrowserRequestsRefusedOnTheAPIs(t *testing.T) {
	k, p := onePeer(t, "FLOTILLA_API_ALLOWED_HOSTS=admin.example")
	c := addUnpinned(t, k)
	admin, pinsvc := "http://"+p.api, "http://"+pinsvcAddr(t, p)
	call := func(method, url, body string, hdr ...string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		testkit.SetHeaders(req, hdr...)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	browser := "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
	pinJSON := `{"cid":"` + c + `"}`
	for _, r := range []struct {
		name, method, url, body string
		hdr                     []string
		code                    int
		says                    string
	}{
		{"admin: forged Origin", "POST", admin + "/pins/" + c + "?expire-in=1h", "", []string{"Origin", "http://evil.example"}, 403, `"code":403`},
		{"admin: text/plain cross-site POST", "POST", admin + "/pins/" + c, "x",
			[]string{"Origin", "http://evil.example", "Content-Type", "text/plain", "User-Agent", browser}, 403, `"code":403`},
		{"admin: rebinding Host", "POST", admin + "/pins/" + c, "", []string{"Host", "evil.example:9094"}, 403, "DNS rebinding"},
		{"pinsvc: forged Origin", "POST", pinsvc + "/pins", pinJSON,
			[]string{"Origin", "http://evil.example", "Content-Type", "application/json"}, 403, `"FORBIDDEN"`},
		{"pinsvc: text/plain cross-site POST", "POST", pinsvc + "/pins", pinJSON,
			[]string{"Origin", "http://evil.example", "Content-Type", "text/plain", "User-Agent", browser}, 403, `"FORBIDDEN"`},
		{"pinsvc: text/plain POST without Origin", "POST", pinsvc + "/pins", pinJSON,
			[]string{"Content-Type", "text/plain"}, 415, `"UNSUPPORTED_MEDIA_TYPE"`},
		{"pinsvc: rebinding Host", "POST", pinsvc + "/pins", pinJSON,
			[]string{"Content-Type", "application/json", "Host", "evil.example:9097"}, 403, `"FORBIDDEN"`},
	} {
		if code, body := call(r.method, r.url, r.body, r.hdr...); code != r.code || !strings.Contains(body, r.says) {
			t.Errorf("%s: %d %s, want %d and %s", r.name, code, body, r.code, r.says)
		}
	}
	if code, body := call("GET", admin+"/allocations/"+c, ""); code != http.StatusNotFound {
		t.Fatalf("after the refused requests, /allocations/%s: %d %s, want 404 (not pinned)", c, code, body)
	}

	// Allowed Host names and clients that are not browsers pass.
	if code, body := call("GET", admin+"/id", "", "Host", "admin.example"); code != http.StatusOK {
		t.Fatalf("allowed Host: %d %s", code, body)
	}
	if code, body := call("POST", admin+"/pins/"+c, "", "User-Agent", "curl/8.5.0"); code != http.StatusOK {
		t.Fatalf("curl pin: %d %s", code, body)
	}
	code, body := call("GET", admin+"/allocations/"+c, "")
	var pin struct{ Cid string }
	if code != http.StatusOK || json.Unmarshal([]byte(body), &pin) != nil || pin.Cid != c {
		t.Fatalf("after curl's pin, /allocations/%s: %d %s", c, code, body)
	}
}
