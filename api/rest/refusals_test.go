package rest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/internal/httpguard"
	"github.com/flotilla-ipfs/flotilla/internal/testkit"
)

// Any page can make its visitors' browsers send refused requests by the
// hundred: the operator's log keeps a sample of them (10 a second), and
// the count, which the daemon exports, keeps every one.
func TestRefusalsAreLoggedSampledAndCountedInFull(t *testing.T) {
	var logged testkit.LogLines
	counted := map[string]int{}
	api := NewWithConfig(newFakeCluster(t, 3), Config{
		Log:     zerolog.New(&logged),
		Auth:    AuthConfig{Users: map[string]string{"alice": "s3cret"}},
		Refused: func(reason string) { counted[reason]++ },
	})
	const n = 300
	for i := range n {
		req := httptest.NewRequest(http.MethodPost, "/pins/"+testCid(t, "a").String(), nil)
		if i%2 == 0 {
			req.Header.Set("Origin", "http://evil.example")
		} else {
			req.Header.Set("Sec-Fetch-Site", "cross-site")
		}
		w := httptest.NewRecorder()
		api.ServeHTTP(w, req)
		if w.Code != http.StatusForbidden {
			t.Fatalf("request %d: %d, want 403", i, w.Code)
		}
		api.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/id", nil))
	}
	// Sampled per second: the requests may straddle a second.
	if lines := len(logged.Find("refused a browser request", nil)); lines == 0 || lines > 20 {
		t.Errorf("%d warn lines for %d refused requests, want a sample of 10 a second", lines, n)
	}
	if counted[httpguard.RefusedBrowser] != n || counted[httpguard.RefusedCredentials] != n {
		t.Errorf("counted %v, want %d of each", counted, n)
	}
}
