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
	refusedReq := m.RequestRefused("api")
	refusedReq("browser")
	refusedReq("browser")
	refusedReq("credentials")

	out := scrape(t, m)
	for _, want := range []string{
		"flotilla_pinset_pins 42",
		`flotilla_local_pins{status="pinned"} 40`,
		`flotilla_tracker_queue_length{op="pin"} 2`,
		"flotilla_peers_healthy 2",
		`flotilla_raft_state{state="leader"} 1`,
		`flotilla_raft_state{state="follower"} 0`,
		"flotilla_raft_term 7",
		"flotilla_raft_batch_pins_sum 64",
		`flotilla_tracker_pin_duration_seconds_count{outcome="error"} 1`,
		`flotilla_http_requests_total{code="418",listener="pinsvc",route="GET /pins"} 1`,
		`flotilla_http_connections_refused_total{listener="proxy"} 2`,
		`flotilla_http_bodies_cut_total{listener="api"} 1`,
		`flotilla_http_refused_total{listener="api",reason="browser"} 2`,
		`flotilla_http_refused_total{listener="api",reason="credentials"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}

// What an operator alerts on: a peer without a leader, or out of touch
// with it, or whose IPFS node does not answer, and the alerts raised and
// active; each read from the node at the scrape.
func TestMetricsReportWhatAnOperatorAlertsOn(t *testing.T) {
	m := New()
	stats := types.Stats{
		RaftState: "follower", LeaderKnown: true, LastContact: 1500 * time.Millisecond,
		Peers: 3, Followers: 2, HealthyPeers: 2, AlertsRaised: 1200, AlertsActive: 1,
		LocalStatus: map[storage.TrackerStatus]int{
			storage.StatusPinQueued: 1, storage.StatusPinning: 2, storage.StatusUnpinQueued: 4, storage.StatusUnpinning: 1,
		},
	}
	ipfsUp := true
	m.WatchNode(func() types.Stats { return stats })
	m.WatchIPFS(func() bool { return ipfsUp })
	for _, want := range []string{
		"flotilla_raft_leader_known 1",
		"flotilla_raft_last_contact_seconds 1.5",
		"flotilla_ipfs_up 1",
		"flotilla_peers 3",
		"flotilla_followers 2",
		"# TYPE flotilla_alerts_total counter\nflotilla_alerts_total 1200",
		"flotilla_alerts_active 1",
		`flotilla_tracker_queue_length{op="pin"} 3`,
		`flotilla_tracker_queue_length{op="unpin"} 5`,
		`flotilla_build_info{commit="",version="0.2.0"} 1`,
	} {
		if out := scrape(t, m); !strings.Contains(out, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}

	stats.RaftState, stats.LeaderKnown, stats.LastContact = "candidate", false, -1
	ipfsUp = false
	out := scrape(t, m)
	for _, want := range []string{"flotilla_raft_leader_known 0", "flotilla_raft_last_contact_seconds +Inf", "flotilla_ipfs_up 0"} {
		if !strings.Contains(out, want) {
			t.Errorf("a peer that never heard from a leader and whose IPFS node is down: scrape lacks %q", want)
		}
	}
	stats.RaftState, stats.LeaderKnown, stats.LastContact = "leader", true, 0
	if out := scrape(t, m); !strings.Contains(out, "flotilla_raft_last_contact_seconds 0\n") {
		t.Error("the leader does not report 0 since its last contact")
	}
}
