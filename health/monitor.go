package health

import (
	"slices"
	"sort"
	"sync"
	"time"
)

// maxAlerts bounds the alert history, most recent kept.
const maxAlerts = 1000

// Monitor holds the latest metrics of every peer. Its size is peers ×
// metric names: small, whatever the size of the pinset.
type Monitor struct {
	mu      sync.Mutex
	started time.Time
	latest  map[string]map[string]Metric // peer -> metric name -> latest
	down    map[string]time.Time         // peer -> when its heartbeat expired
	listed  map[string]time.Time         // peer -> first Check that listed it
	alerts  []Alert
	raised  uint64 // alerts raised since start, beyond the history's cap
}

// silentGrace is how long a member may go unheard after it first appears
// (a peer that is still joining) before it counts as down.
const silentGrace = 5 * time.Second

// NewMonitor starts watching at now: a peer never heard from counts as
// down since then.
func NewMonitor(now time.Time) *Monitor {
	return &Monitor{started: now, latest: map[string]map[string]Metric{}, down: map[string]time.Time{}, listed: map[string]time.Time{}}
}

// Accept records a heartbeat's metrics. A fresh ping ends a peer's outage.
func (m *Monitor) Accept(ms []Metric, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range ms {
		x.ReceivedAt = now.UnixNano()
		byName := m.latest[x.Peer]
		if byName == nil {
			byName = map[string]Metric{}
			m.latest[x.Peer] = byName
		}
		byName[x.Name] = x
		if _, down := m.down[x.Peer]; down && x.Name == PingMetric && !x.Expired(now) {
			delete(m.down, x.Peer)
			m.clearAlert(x.Peer, now)
		}
	}
}

// Healthy reports whether peer's heartbeat is current.
func (m *Monitor) Healthy(peer string, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.latest[peer][PingMetric]
	return ok && !p.Expired(now)
}

// LastHeard is when peer's latest heartbeat arrived, current or not.
func (m *Monitor) LastHeard(peer string) (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.latest[peer][PingMetric]
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(0, p.ReceivedAt).UTC(), true
}

// Latest returns the current, valid metrics called name, one per peer,
// ordered by peer.
func (m *Monitor) Latest(name string, now time.Time) []Metric {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Metric
	for _, byName := range m.latest {
		if x, ok := byName[name]; ok && x.Valid && !x.Expired(now) {
			out = append(out, x)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Peer < out[j].Peer })
	return out
}

// PeerMetrics returns a peer's current metrics by name.
func (m *Monitor) PeerMetrics(peer string, now time.Time) map[string]Metric {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]Metric{}
	for name, x := range m.latest[peer] {
		if !x.Expired(now) {
			out[name] = x
		}
	}
	return out
}

// MetricNames lists every metric name heard of.
func (m *Monitor) MetricNames() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[string]bool{}
	for _, byName := range m.latest {
		for name := range byName {
			seen[name] = true
		}
	}
	out := make([]string, 0, len(seen))
	for name := range seen {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Check looks at every member's heartbeat and returns the peers that went
// down since the last check, raising one alert for each.
func (m *Monitor) Check(members []string, now time.Time) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var newlyDown []string
	for _, peer := range members {
		if _, already := m.down[peer]; already {
			continue
		}
		ping, heard := m.latest[peer][PingMetric]
		if heard && !ping.Expired(now) {
			continue
		}
		if _, ok := m.listed[peer]; !ok {
			m.listed[peer] = now
		}
		since := m.listed[peer]
		if heard {
			since = time.Unix(0, ping.Expire)
		} else if now.Sub(since) < silentGrace {
			// Never heard from: still joining, or we just started.
			continue
		}
		m.down[peer] = since
		newlyDown = append(newlyDown, peer)
		alert := Alert{Metric: Metric{Name: PingMetric, Peer: peer, Expire: since.UnixNano()}, TriggeredAt: now.UTC(), Active: true}
		if heard {
			alert.Metric = ping
		}
		m.alerts = append(m.alerts, alert)
		m.raised++
		if len(m.alerts) > maxAlerts {
			m.alerts = slices.Clone(m.alerts[len(m.alerts)-maxAlerts:])
		}
	}
	return newlyDown
}

// DownFor reports how long peer has been down, if it is.
func (m *Monitor) DownFor(peer string, now time.Time) (time.Duration, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	since, ok := m.down[peer]
	if !ok {
		return 0, false
	}
	return now.Sub(since), true
}

// Alerts returns the alert history, most recent first.
func (m *Monitor) Alerts() []Alert {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := slices.Clone(m.alerts)
	slices.Reverse(out)
	if out == nil {
		out = []Alert{}
	}
	return out
}

// Forget drops a peer that left the cluster.
func (m *Monitor) Forget(peer string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.latest, peer)
	delete(m.down, peer)
	delete(m.listed, peer)
	m.clearAlert(peer, time.Now())
}

// clearAlert ends peer's active alert, the latest of its own: a peer has
// at most one, as Check raises none for a peer already down.
func (m *Monitor) clearAlert(peer string, now time.Time) {
	for i := len(m.alerts) - 1; i >= 0; i-- {
		if a := &m.alerts[i]; a.Peer == peer && a.Active {
			cleared := now.UTC()
			a.Active, a.ClearedAt = false, &cleared
			return
		}
	}
}

// AlertCounts reports the alerts raised since start, which the history's
// cap does not bound, and the alerts active now: peers whose heartbeat
// expired and has not come back.
func (m *Monitor) AlertCounts() (raised uint64, active int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.raised, len(m.down)
}
