package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"
)

func TestAuthorizationsAsKuboChecksThem(t *testing.T) {
	var upstreamAuth []string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upstreamAuth = append(upstreamAuth, r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{}`)
	}))
	defer upstream.Close()
	u, _ := url.Parse(upstream.URL)
	p, err := New(Config{
		Upstream: u,
		Log:      zerolog.Nop(),
		Authorizations: map[string]Authorization{
			"alice": {AuthSecret: "bearer:s3cret", AllowedPaths: []string{"/api/v0/id"}},
			"bob":   {AuthSecret: "basic:bob:pw", AllowedPaths: []string{"/api/v0"}},
		},
	}, notObserving{http.NotFoundHandler()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	defer srv.Close()
	cases := []struct {
		name, path, auth string
		want             int
	}{
		{"no header", "/api/v0/id", "", 403},
		{"wrong token", "/api/v0/id", "Bearer nope", 403},
		{"bearer on an allowed path", "/api/v0/id", "Bearer s3cret", 200},
		{"bearer off its paths", "/api/v0/cat", "Bearer s3cret", 403},
		{"version open to any valid secret", "/api/v0/version", "Bearer s3cret", 200},
		{"basic on its prefix", "/api/v0/cat", "Basic Ym9iOnB3", 200},
		{"basic with a wrong password", "/api/v0/cat", "Basic Ym9iOnd4", 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+tc.path, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tc.want, body)
			}
			if tc.want == 403 && string(body) != accessDenied+"\n" {
				t.Fatalf("refusal body %q", body)
			}
		})
	}
	for _, a := range upstreamAuth {
		if a != "" {
			t.Fatalf("the proxy's secret reached the upstream: %q", a)
		}
	}
}

func TestCommandNameDropsPathArguments(t *testing.T) {
	for path, want := range map[string]string{
		"/api/v0/pin/ls/QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn":               "/api/v0/pin/ls",
		"/api/v0/pin/add/bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi": "/api/v0/pin/add",
		"/api/v0/pin/remote/service/ls":                                               "/api/v0/pin/remote/service/ls",
		"/api/v0/cat":                                                                 "/api/v0/cat",
		"/webui":                                                                      "other",
	} {
		if got := commandName(path); got != want {
			t.Errorf("commandName(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestCommandNameStopsAtFourSegmentsOrAnEmptyOne(t *testing.T) {
	for path, want := range map[string]string{
		"/api/v0/a/b/c/d/e":  "/api/v0/a/b/c/d",
		"/api/v0/pin//ls":    "/api/v0/pin",
		"/api/v0/pin/ls/":    "/api/v0/pin/ls",
		"/api/v0/":           "other",
		"/api/v0/Version":    "other",
		"/api/v0/version?x=": "other",
	} {
		if got := commandName(path); got != want {
			t.Errorf("commandName(%q) = %q, want %q", path, got, want)
		}
	}
}

// An OPTIONS needs the Authorization header like any request that goes on
// to Kubo: only /api/v0/'s, which the proxy answers itself (CORS
// preflights, which carry no credentials), are exempt.
func TestAnOptionsWithoutAuthorizationNeverReachesKubo(t *testing.T) {
	var reached atomic.Int64
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		io.WriteString(w, "ipfs_bitswap_wantlist_total 0\n")
	})
	base := serveProxyWith(t, Config{
		Log:            zerolog.Nop(),
		Authorizations: map[string]Authorization{"ci": {AuthSecret: "bearer:s3cret", AllowedPaths: []string{"/"}}},
	}, upstream, nil)
	for _, path := range []string{"/debug/metrics/prometheus", "/debug/pprof/goroutine", "/webui"} {
		code, body := send(t, http.MethodOptions, base, path, "")
		if code != http.StatusForbidden || body != accessDenied+"\n" {
			t.Errorf("OPTIONS %s without Authorization: %d %q, want Kubo's access denied", path, code, body)
		}
	}
	code, _ := send(t, http.MethodOptions, base, "/api/v0/add", "",
		"Origin", "http://127.0.0.1:"+portOf(strings.TrimPrefix(base, "http://")), "Access-Control-Request-Method", "POST")
	if code != http.StatusNoContent {
		t.Errorf("a CORS preflight of /api/v0/add got %d, want the proxy's own 204", code)
	}
	if n := reached.Load(); n != 0 {
		t.Fatalf("%d OPTIONS without Authorization reached Kubo", n)
	}
	if code, _ := send(t, http.MethodOptions, base, "/debug/metrics/prometheus", "", "Authorization", "Bearer s3cret"); code != http.StatusOK || reached.Load() != 1 {
		t.Fatalf("an authorized OPTIONS got %d and reached Kubo %d times, want Kubo's answer", code, reached.Load())
	}
}
