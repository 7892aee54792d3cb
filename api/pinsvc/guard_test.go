package pinsvc

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/flotilla-ipfs/flotilla/internal/httpguard"
	"github.com/flotilla-ipfs/flotilla/internal/testkit"
	"github.com/flotilla-ipfs/flotilla/storage"
)

const browserUA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

func newAPIWith(t *testing.T, cfg Config) *api {
	t.Helper()
	f := newFake()
	srv := httptest.NewServer(New(f, cfg))
	t.Cleanup(srv.Close)
	return &api{t: t, fake: f, url: srv.URL}
}

// raw sends exactly the headers given ("Host" sets the Host).
func (a *api) raw(method, path, body string, hdr ...string) response {
	a.t.Helper()
	req, err := http.NewRequest(method, a.url+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	testkit.SetHeaders(req, hdr...)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	return response{code: resp.StatusCode, hdr: resp.Header, body: readAll(a.t, resp)}
}

// With no tokens configured, as by default, a web page can neither add,
// replace nor remove a pin, nor read the pinset through a rebound name: the
// guard answers 403 and a body that is not JSON 415, and the cluster sees
// no call.
func TestBrowserRequestsAreRefusedAndChangeNothing(t *testing.T) {
	a := newAPI(t)
	victim := testCid(1)
	a.fake.put(storage.Pin{Cid: victim, Name: "victim", Mode: storage.Recursive}, "pinned")
	other := testCid(2).String()
	pinBody := `{"cid":"` + other + `"}`
	evil := []string{"Origin", "http://evil.example", "User-Agent", browserUA}
	for _, c := range []struct {
		name, method, path, body string
		hdr                      []string
		code                     int
		reason                   string
	}{
		{"forged Origin adds", "POST", "/pins", pinBody, append([]string{"Content-Type", "application/json"}, evil...), 403, "FORBIDDEN"},
		{"text/plain cross-site POST replaces", "POST", "/pins/" + victim.String(), pinBody,
			append([]string{"Content-Type", "text/plain"}, evil...), 403, "FORBIDDEN"},
		{"text/plain cross-site POST adds", "POST", "/pins", pinBody, append([]string{"Content-Type", "text/plain"}, evil...), 403, "FORBIDDEN"},
		{"forged Origin removes", "DELETE", "/pins/" + victim.String(), "", evil, 403, "FORBIDDEN"},
		{"foreign Referer removes", "DELETE", "/pins/" + victim.String(), "", []string{"Referer", "http://evil.example/"}, 403, "FORBIDDEN"},
		{"form POST from an old browser", "POST", "/pins/" + victim.String(), pinBody,
			[]string{"Content-Type", "application/x-www-form-urlencoded", "User-Agent", browserUA}, 403, "FORBIDDEN"},
		{"text/plain replace without Origin", "POST", "/pins/" + victim.String(), pinBody,
			[]string{"Content-Type", "text/plain"}, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"multipart add without Origin", "POST", "/pins", pinBody,
			[]string{"Content-Type", "multipart/form-data; boundary=x"}, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"add without a content type", "POST", "/pins", pinBody, nil, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"rebinding Host adds", "POST", "/pins", pinBody,
			[]string{"Content-Type", "application/json", "Host", "evil.example:9097"}, 403, "FORBIDDEN"},
		{"rebinding Host removes", "DELETE", "/pins/" + victim.String(), "", []string{"Host", "evil.example:9097"}, 403, "FORBIDDEN"},
		{"rebinding Host lists", "GET", "/pins", "", []string{"Host", "evil.example:9097"}, 403, "FORBIDDEN"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a.raw(c.method, c.path, c.body, c.hdr...).failure(t, c.code, c.reason)
		})
	}
	if calls := a.fake.Calls(); len(calls) != 0 {
		t.Fatalf("refused requests reached the cluster: %v", calls)
	}
	if _, ok := a.fake.Stored(victim); !ok {
		t.Fatal("the victim pin is gone")
	}
	// Kubo's client, with its JSON label and no Origin, still pins.
	a.do("POST", "/pins/"+victim.String(), map[string]any{"cid": other}).status(t, http.StatusAccepted)
	a.raw("POST", "/pins", `{"cid":"`+victim.String()+`"}`, "Content-Type", "application/json; charset=utf-8").
		status(t, http.StatusAccepted)
}

func TestAllowedOriginsAndHostsPass(t *testing.T) {
	a := newAPIWith(t, Config{Tokens: []string{"tok"}, AllowedOrigins: []string{"https://ui.example"}, AllowedHosts: []string{"pins.example"}})
	c := testCid(1).String()
	// The preflight passes without a token and allows what a page needs.
	r := a.raw("OPTIONS", "/pins", "", "Origin", "https://ui.example",
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type")
	if r.code >= 300 || r.hdr.Get("Access-Control-Allow-Origin") != "https://ui.example" {
		t.Fatalf("preflight %d %v", r.code, r.hdr)
	}
	r = a.raw("POST", "/pins", `{"cid":"`+c+`"}`, "Origin", "https://ui.example", "User-Agent", browserUA,
		"Content-Type", "application/json", "Authorization", "Bearer tok", "Host", "pins.example")
	r.status(t, http.StatusAccepted)
	if r.hdr.Get("Access-Control-Allow-Origin") != "https://ui.example" {
		t.Fatalf("no CORS header for the allowed origin: %v", r.hdr)
	}
	// The guard runs before the token check: a valid token does not let a
	// foreign page in.
	a.raw("DELETE", "/pins/"+c, "", "Origin", "https://other.example", "Authorization", "Bearer tok").
		failure(t, http.StatusForbidden, "FORBIDDEN")
	a.raw("GET", "/pins", "", "Host", "other.example", "Authorization", "Bearer tok").failure(t, http.StatusForbidden, "FORBIDDEN")
	if got := a.fake.Commits(); len(got) != 1 {
		t.Fatalf("commits %v, want the one allowed pin", got)
	}
}

// Tokens are compared as digests: a wrong token is refused whatever its
// length, the right one is accepted, and no raw token is kept.
func TestTokenComparisonHidesTheLength(t *testing.T) {
	a := newAPI(t, "0123456789abcdef", "second")
	for _, tok := range []string{"0123456789abcdeX", "0123456789abcde", "0123456789abcdef0", "0", "",
		strings.Repeat("0123456789abcdef", 64), "secon"} {
		a.token = tok
		a.do("GET", "/pins", nil).failure(t, http.StatusUnauthorized, "UNAUTHORIZED")
	}
	for _, tok := range []string{"0123456789abcdef", "second"} {
		a.token = tok
		a.do("GET", "/pins", nil).results(t)
	}
	s := &server{}
	for _, tok := range []string{"a", "a much longer token"} {
		s.tokens = append(s.tokens, digest(tok))
	}
	if !s.validToken("a much longer token") || s.validToken("a much longer toke") || s.validToken("b") {
		t.Fatal("validToken compares digests wrongly")
	}
}

// Every request the guard or the token check refuses is counted, for the
// daemon's flotilla_http_refused_total.
func TestRefusalsAreCounted(t *testing.T) {
	counted := map[string]int{}
	a := newAPIWith(t, Config{Tokens: []string{"s3cret"}, Refused: func(reason string) { counted[reason]++ }})
	a.raw("GET", "/pins", "", "Authorization", "Bearer s3cret", "Origin", "http://evil.example").failure(t, http.StatusForbidden, "FORBIDDEN")
	a.raw("GET", "/pins", "", "Host", "evil.example:9097").failure(t, http.StatusForbidden, "FORBIDDEN")
	a.raw("GET", "/pins", "", "Authorization", "Bearer wrong").failure(t, http.StatusUnauthorized, "UNAUTHORIZED")
	a.raw("GET", "/pins", "", "Authorization", "Bearer s3cret")
	if counted[httpguard.RefusedBrowser] != 2 || counted[httpguard.RefusedCredentials] != 1 {
		t.Errorf("counted %v, want 2 refused by the guard and 1 for want of credentials", counted)
	}
}
