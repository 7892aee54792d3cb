package proxy

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/internal/httpguard"
	"github.com/flotilla-ipfs/flotilla/internal/testkit"
)

// The proxy's two refusals, the browser check's and the Authorization
// check's, share one sampled logger (10 lines a second), so that pages
// cannot flood the log with either; the count keeps every refusal.
func TestRefusalsAreLoggedSampledAndCountedInFull(t *testing.T) {
	counted := map[string]int{}
	var logged testkit.LogLines
	unreached := notObserving{http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("a refused request was served") })}
	p, err := New(Config{
		Upstream:       &url.URL{Scheme: "http", Host: "127.0.0.1:1"},
		ListenAddr:     "127.0.0.1:9095",
		Authorizations: map[string]Authorization{"ci": {AuthSecret: "bearer:s3cret", AllowedPaths: []string{"/api/v0"}}},
		RefusedRequest: func(reason string) { counted[reason]++ },
		Log:            zerolog.New(&logged),
	}, unreached)
	if err != nil {
		t.Fatal(err)
	}
	serve := func(path string, header ...string) {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:9095"+path, nil)
		testkit.SetHeaders(req, header...)
		w := httptest.NewRecorder()
		p.ServeHTTP(w, req)
		if w.Code != http.StatusForbidden {
			t.Fatalf("%s %v: %d, want 403", path, header, w.Code)
		}
	}
	const n = 300
	for range n {
		serve("/api/v0/pin/add", "Authorization", "Bearer s3cret", "Origin", "http://evil.example")
		serve("/debug/pprof/profile", "Authorization", "Bearer s3cret", "Sec-Fetch-Site", "cross-site")
		serve("/api/v0/pin/add")
	}
	// Sampled per second: the requests may straddle a second.
	for _, msg := range []string{"blocked request (possible CSRF or DNS rebinding)", "refused: no valid Authorization"} {
		if lines := len(logged.Find(msg, nil)); lines == 0 || lines > 20 {
			t.Errorf("%d lines %q for the refused requests, want a sample of 10 a second", lines, msg)
		}
	}
	if counted[httpguard.RefusedBrowser] != 2*n || counted[httpguard.RefusedCredentials] != n {
		t.Errorf("counted %v, want %d refused by the guard and %d for want of credentials", counted, 2*n, n)
	}
}
