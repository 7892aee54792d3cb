package rest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/flotilla-ipfs/flotilla/storage"
)

const browserUA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

// A web page cannot make the admin API change anything, nor read it
// through a rebound name: each refusal is a 403 in the API's error shape,
// given before any handler runs, and the cluster sees no call.
func TestBrowserRequestsAreRefusedAndChangeNothing(t *testing.T) {
	e := newEnv(t, Config{})
	victim := e.fc.add(storage.Pin{Cid: testCid(t, "victim"), Name: "victim", ReplicationFactorMin: -1, ReplicationFactorMax: -1})
	c := testCid(t, "new").String()
	for _, req := range []struct {
		name, method, path string
		hdr                []string
		says               string
	}{
		{"forged Origin pins", http.MethodPost, "/pins/" + c + "?expire-in=1h", []string{"Origin", "http://evil.example"}, "origin"},
		{"forged Origin unpins", http.MethodDelete, "/pins/" + victim.Cid.String(), []string{"Origin", "http://evil.example"}, "origin"},
		{"text/plain cross-site POST", http.MethodPost, "/pins/" + c, []string{"Origin", "http://evil.example",
			"Content-Type", "text/plain", "User-Agent", browserUA}, "origin"},
		{"form POST from an old browser", http.MethodPost, "/pins/" + c, []string{
			"Content-Type", "application/x-www-form-urlencoded", "User-Agent", browserUA}, "browser"},
		{"foreign Referer", http.MethodDelete, "/pins/" + victim.Cid.String(), []string{"Referer", "http://evil.example/x"}, "referer"},
		{"Origin null", http.MethodPost, "/pins/recover", []string{"Origin", "null"}, "origin"},
		{"rebinding Host pins", http.MethodPost, "/pins/" + c, []string{"Host", "evil.example:9094"}, "DNS rebinding"},
		{"rebinding Host unpins", http.MethodDelete, "/pins/" + victim.Cid.String(), []string{"Host", "evil.example:9094"}, "DNS rebinding"},
		{"rebinding Host reads", http.MethodGet, "/pins", []string{"Host", "evil.example:9094"}, "not allowed"},
		{"rebinding Host without port", http.MethodGet, "/id", []string{"Host", "evil.example"}, "not allowed"},
	} {
		t.Run(req.name, func(t *testing.T) {
			e.do(req.method, req.path, strings.NewReader("x"), req.hdr...).wantError(t, http.StatusForbidden, req.says)
		})
	}
	if calls := e.fc.Calls(); len(calls) != 0 {
		t.Fatalf("refused requests reached the cluster: %v", calls)
	}
	if _, ok := e.fc.Stored(victim.Cid); !ok {
		t.Fatal("the victim pin is gone")
	}
}

func TestNonBrowserClientsPass(t *testing.T) {
	e := newEnv(t, Config{})
	c := testCid(t, "a").String()
	e.do(http.MethodPost, "/pins/"+c, nil, "User-Agent", "curl/8.5.0").wantStatus(t, http.StatusOK)
	for _, host := range []string{"localhost:9094", "127.0.0.1", "[::1]:9094"} {
		e.do(http.MethodGet, "/pins/"+c, nil, "Host", host).wantStatus(t, http.StatusOK)
	}
	// A browser may read without naming an origin, as on a page it opened.
	e.do(http.MethodGet, "/id", nil, "User-Agent", browserUA).wantStatus(t, http.StatusOK)
}

func TestAllowedOriginsAndHosts(t *testing.T) {
	e := newEnv(t, Config{
		CORS:         CORSConfig{AllowedOrigins: []string{"https://ui.example"}, AllowedMethods: []string{"GET", "POST", "DELETE"}},
		AllowedHosts: []string{"admin.example"},
	})
	c := testCid(t, "a").String()
	r := e.do(http.MethodPost, "/pins/"+c, nil, "Origin", "https://ui.example", "User-Agent", browserUA).wantStatus(t, http.StatusOK)
	if r.header.Get("Access-Control-Allow-Origin") != "https://ui.example" {
		t.Errorf("no CORS header for the allowed origin: %v", r.header)
	}
	e.do(http.MethodGet, "/pins/"+c, nil, "Host", "admin.example").wantStatus(t, http.StatusOK)
	e.do(http.MethodGet, "/pins/"+c, nil, "Host", "admin.example:443", "Origin", "https://ui.example").wantStatus(t, http.StatusOK)
	e.do(http.MethodDelete, "/pins/"+c, nil, "Host", "admin.example", "Origin", "https://other.example").
		wantError(t, http.StatusForbidden, "origin")
	e.do(http.MethodGet, "/pins/"+c, nil, "Host", "other.example").wantError(t, http.StatusForbidden, "not allowed")
	if got := e.fc.Commits(); len(got) != 1 || !strings.HasPrefix(got[0], "pin ") {
		t.Fatalf("commits %v, want the one allowed pin", got)
	}
}

// Beyond loopback the Host is not checked: the API is reached there by
// names Flotilla cannot know, and its credentials protect it.
func TestHostUncheckedWhenListeningBeyondLoopback(t *testing.T) {
	e := newEnv(t, Config{ListenAddr: "0.0.0.0:9094"})
	e.do(http.MethodGet, "/id", nil, "Host", "cluster.example:9094").wantStatus(t, http.StatusOK)
	// Origins still are.
	e.do(http.MethodPost, "/pins/"+testCid(t, "a").String(), nil, "Origin", "http://evil.example").
		wantError(t, http.StatusForbidden, "origin")
}
