package telemetry

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

const dashboardPath = "../../docs/grafana-dashboard.json"

// dashboard is what the test reads of a Grafana dashboard.
type dashboard struct {
	SchemaVersion int                       `json:"schemaVersion"`
	Panels        []panel                   `json:"panels"`
	Templating    struct{ List []variable } `json:"templating"`
}

type panel struct {
	Title      string     `json:"title"`
	Type       string     `json:"type"`
	Datasource datasource `json:"datasource"`
	Targets    []target   `json:"targets"`
	Panels     []panel    `json:"panels"` // a collapsed row's
}

type target struct {
	Expr       string     `json:"expr"`
	Datasource datasource `json:"datasource"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type variable struct {
	Name       string     `json:"name"`
	Type       string     `json:"type"`
	Query      any        `json:"query"`
	Definition string     `json:"definition"`
	Datasource datasource `json:"datasource"`
}

// series are the metrics this package registers, as a Prometheus server
// scraping a peer sees them: family name → label name → values seen.
type series map[string]map[string][]string

// registered scrapes a registry in which every metric has a sample: the
// node collector, one commit, one pin and one request per listener.
func registered(t *testing.T) series {
	t.Helper()
	m := New()
	m.WatchNode(func() types.Stats {
		return types.Stats{RaftState: "leader", LocalStatus: map[storage.TrackerStatus]int{}}
	})
	m.WatchIPFS(func() bool { return true })
	m.ObserveCommit(time.Millisecond, 1)
	m.ObservePin(time.Second, true)
	m.ObservePin(time.Second, false)
	for _, l := range []string{"proxy", "api", "pinsvc"} {
		m.HTTPObserver(l)("/api/v0/pin/add", http.StatusOK, time.Millisecond)
	}
	families, err := m.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := series{}
	for _, f := range families {
		labels := map[string][]string{}
		for _, metric := range f.GetMetric() {
			for _, l := range metric.GetLabel() {
				labels[l.GetName()] = append(labels[l.GetName()], l.GetValue())
			}
		}
		switch f.GetType().String() {
		case "HISTOGRAM", "SUMMARY":
			out[f.GetName()+"_sum"], out[f.GetName()+"_count"] = labels, labels
			buckets := map[string][]string{"le": nil}
			for k, v := range labels {
				buckets[k] = v
			}
			out[f.GetName()+"_bucket"] = buckets
		default:
			out[f.GetName()] = labels
		}
	}
	return out
}

func loadDashboard(t *testing.T) (dashboard, []panel) {
	t.Helper()
	raw, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s is not valid JSON: %v", dashboardPath, err)
	}
	var all []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			all = append(all, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return d, all
}

var (
	// A metric name in a PromQL expression, with its selector when it has
	// one: ours and the Go client's own.
	metricRE   = regexp.MustCompile(`\b((?:flotilla|go|process)_[a-z0-9_]+)(\{[^}]*\})?`)
	matcherRE  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"`)
	groupingRE = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	// Labels the Prometheus server adds to every series it scrapes.
	targetLabels = []string{"instance", "job"}
)

// Every expression of the dashboard names metrics this package registers,
// with their labels, and label values that occur; every panel queries the
// ${DS_PROMETHEUS} data source.
func TestDashboardUsesRegisteredMetrics(t *testing.T) {
	reg := registered(t)
	d, panels := loadDashboard(t)
	if d.SchemaVersion != 39 {
		t.Errorf("schemaVersion %d, want 39", d.SchemaVersion)
	}
	var exprs []string
	for _, p := range panels {
		if p.Type == "row" {
			continue
		}
		if p.Datasource.UID != "${DS_PROMETHEUS}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: data source %+v, %d queries", p.Title, p.Datasource, len(p.Targets))
		}
		for _, tg := range p.Targets {
			if tg.Datasource.UID != "${DS_PROMETHEUS}" {
				t.Errorf("panel %q queries %+v", p.Title, tg.Datasource)
			}
			exprs = append(exprs, tg.Expr)
		}
	}
	var dsVar bool
	for _, v := range d.Templating.List {
		dsVar = dsVar || (v.Name == "DS_PROMETHEUS" && v.Type == "datasource" && v.Query == "prometheus")
		if v.Definition != "" {
			exprs = append(exprs, v.Definition)
		}
	}
	if !dsVar {
		t.Error("no DS_PROMETHEUS data source variable")
	}

	for _, expr := range exprs {
		names := metricRE.FindAllStringSubmatch(expr, -1)
		if len(names) == 0 {
			t.Errorf("%q names no metric of ours", expr)
		}
		known := map[string]bool{"le": true, "instance": true, "job": true}
		for _, m := range names {
			labels, ok := reg[m[1]]
			if !ok {
				t.Errorf("%q: no metric %s is registered", expr, m[1])
				continue
			}
			for l := range labels {
				known[l] = true
			}
			for _, mm := range matcherRE.FindAllStringSubmatch(m[2], -1) {
				name, op, value := mm[1], mm[2], mm[3]
				values, ok := labels[name]
				switch {
				case slices.Contains(targetLabels, name):
				case !ok:
					t.Errorf("%q: %s has no label %s", expr, m[1], name)
				case op == "=" && !slices.Contains(values, value):
					t.Errorf("%q: %s never has %s=%q (only %v)", expr, m[1], name, value, values)
				}
			}
		}
		for _, g := range groupingRE.FindAllStringSubmatch(expr, -1) {
			for _, l := range strings.Split(g[1], ",") {
				if l = strings.TrimSpace(l); l != "" && !known[l] {
					t.Errorf("%q groups by %s, a label none of its metrics has", expr, l)
				}
			}
		}
	}
}

// The dashboard shows what operators asked for, each from the metric that
// measures it.
func TestDashboardCoversTheCluster(t *testing.T) {
	_, panels := loadDashboard(t)
	for title, metric := range map[string]string{
		"Pins by status":               "flotilla_local_pins",
		"Tracker queue":                "flotilla_tracker_queue_length",
		"Commit latency":               "flotilla_raft_commit_duration_seconds_bucket",
		"Commit batch size":            "flotilla_raft_batch_pins",
		"Raft state":                   "flotilla_raft_state",
		"Peer health":                  "flotilla_peers_healthy",
		"Leader known":                 "flotilla_raft_leader_known",
		"Last contact with the leader": "flotilla_raft_last_contact_seconds",
		"IPFS node up":                 "flotilla_ipfs_up",
		"Alerts and versions":          "flotilla_alerts_total",
		// A follower's own commit index is about its applied index: the
		// lag is against the highest commit index of the cluster.
		"Apply lag":                    "max by (job) (flotilla_raft_commit_index) - on (job) group_right flotilla_raft_applied_index",
		"Proxy latency by route (p99)": `flotilla_http_request_duration_seconds_bucket{listener="proxy"`,
	} {
		i := slices.IndexFunc(panels, func(p panel) bool { return p.Title == title })
		if i < 0 {
			t.Errorf("no panel %q", title)
			continue
		}
		if !slices.ContainsFunc(panels[i].Targets, func(tg target) bool { return strings.Contains(tg.Expr, metric) }) {
			t.Errorf("panel %q does not query %s", title, metric)
		}
	}
	if !strings.Contains(strings.Join(exprsOf(panels), "\n"), "by (le, route)") {
		t.Error("no panel splits the proxy's latency by route")
	}
}

func exprsOf(panels []panel) []string {
	var out []string
	for _, p := range panels {
		for _, tg := range p.Targets {
			out = append(out, tg.Expr)
		}
	}
	return out
}
