package pinsvc

import (
	"errors"
	"net/http"
	"testing"
)

// GET /health (and HEAD, a prober's GET) answers without a token, as ipfs-cluster's pinning service
// and the admin API do, 204 when the peer is ready and 503 with the reason
// when not; the rest of the API, /health's other methods included, still
// wants the token, and the browser guard still runs first.
func TestHealthIsOpenAndTellsReadiness(t *testing.T) {
	ready := errors.New("waiting for a leader")
	a := newAPIWith(t, Config{Tokens: []string{"s3cret"}, Ready: func() error { return ready }})

	details := a.raw("GET", "/health", "").failure(t, http.StatusServiceUnavailable, "NOT_READY")
	if details != "waiting for a leader" {
		t.Errorf("not ready details %q", details)
	}
	ready = nil
	for _, hdr := range [][]string{nil, {"Authorization", "Bearer s3cret"}, {"Authorization", "Bearer wrong"}} {
		for _, method := range []string{"GET", "HEAD"} {
			if r := a.raw(method, "/health", "", hdr...); r.code != http.StatusNoContent || len(r.body) != 0 {
				t.Errorf("%s /health with %v: %d %s, want 204 and no body", method, hdr, r.code, r.body)
			}
		}
	}
	a.raw("POST", "/health", "").failure(t, http.StatusUnauthorized, "UNAUTHORIZED")
	a.raw("GET", "/pins", "").failure(t, http.StatusUnauthorized, "UNAUTHORIZED")
	a.raw("GET", "/health", "", "Host", "evil.example:9097").failure(t, http.StatusForbidden, "FORBIDDEN")
	a.raw("GET", "/health", "", "Origin", "http://evil.example", "User-Agent", browserUA).failure(t, http.StatusForbidden, "FORBIDDEN")
}

// Without a readiness check the API is always ready.
func TestHealthWithoutReadinessIsReady(t *testing.T) {
	a := newAPI(t)
	if r := a.raw("GET", "/health", ""); r.code != http.StatusNoContent {
		t.Errorf("GET /health: %d %s, want 204", r.code, r.body)
	}
}
