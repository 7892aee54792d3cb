package telemetry

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestMetricsReportTheNodeAndTheListeners(t *testing.T) {
	m := New()
	m.WatchNode(func() types.Stats {
		return types.Stats{
			Pinset: 42, Peers: 3, HealthyPeers: 2, RaftState: "leader", Voter: true, Term: 7,
			LocalStatus: map[storage.TrackerStatus]int{storage.StatusPinned: 40, storage.StatusPinQueued: 2},
		}
	})
	m.ObserveCommit(3*time.Millisecond, 64)
	m.ObservePin(time.Second, false)
	h := m.Middleware("pinsvc", func(*http.Request) string { return "GET /pins" },
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/pins", nil))
	refused := m.ConnRefused("proxy")
	refused()
	refused()
	m.BodyCut("api")()

	out := scrape(t, m)
	for _, want := range []string{
		"flotilla_pinset_pins 42",
		`flotilla_local_pins{status="pinned"} 40`,
		"flotilla_tracker_queue_length 2",
		"flotilla_peers_healthy 2",
		`flotilla_raft_state{state="leader"} 1`,
		`flotilla_raft_state{state="follower"} 0`,
		"flotilla_raft_term 7",
		"flotilla_raft_batch_pins_sum 64",
		`flotilla_tracker_pin_duration_seconds_count{outcome="error"} 1`,
		`flotilla_http_requests_total{code="418",listener="pinsvc",route="GET /pins"} 1`,
		`flotilla_http_connections_refused_total{listener="proxy"} 2`,
		`flotilla_http_bodies_cut_total{listener="api"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}
