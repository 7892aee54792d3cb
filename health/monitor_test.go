package health

import (
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestHeartbeatExpiryRaisesOneAlertAndRecovers(t *testing.T) {
	t0 := time.Unix(1000, 0)
	m := NewMonitor(t0)
	ttl := 6 * time.Second
	m.Accept(Sample{FreeSpace: 100, IPFSOK: true, Tags: map[string]string{"region": "eu"}}.Metrics("a", t0, ttl), t0)
	m.Accept(Sample{FreeSpace: 50, IPFSOK: true}.Metrics("b", t0, ttl), t0)

	if got := m.Check([]string{"a", "b"}, t0.Add(time.Second)); len(got) != 0 {
		t.Fatalf("fresh peers reported down: %v", got)
	}
	t1 := t0.Add(5 * time.Second)
	m.Accept(Sample{FreeSpace: 100, IPFSOK: true}.Metrics("a", t1, ttl), t1)

	t2 := t0.Add(7 * time.Second)
	if got := m.Check([]string{"a", "b"}, t2); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("down = %v, want [b]", got)
	}
	if got := m.Check([]string{"a", "b"}, t2.Add(time.Second)); len(got) != 0 {
		t.Fatalf("alerted twice for one outage: %v", got)
	}
	if m.Healthy("b", t2) || !m.Healthy("a", t2) {
		t.Fatal("health wrong")
	}
	if d, ok := m.DownFor("b", t0.Add(16*time.Second)); !ok || d != 10*time.Second {
		t.Fatalf("DownFor = %v %v, want 10s since its heartbeat expired", d, ok)
	}
	// A silent peer's last heartbeat stays known, for the status page.
	if heard, ok := m.LastHeard("b"); !ok || !heard.Equal(t0) {
		t.Fatalf("LastHeard(b) = %v %v, want %v", heard, ok, t0)
	}
	if _, ok := m.LastHeard("never"); ok {
		t.Fatal("a peer never heard has a last heartbeat")
	}
	if alerts := m.Alerts(); len(alerts) != 1 || alerts[0].Peer != "b" || alerts[0].Name != PingMetric {
		t.Fatalf("alerts = %+v", alerts)
	}
	t3 := t0.Add(20 * time.Second)
	m.Accept(Sample{IPFSOK: true}.Metrics("b", t3, ttl), t3)
	if _, down := m.DownFor("b", t3); down || !m.Healthy("b", t3) {
		t.Fatal("a fresh heartbeat did not end the outage")
	}
	if fs := m.Latest(FreeSpace, t1.Add(time.Second)); len(fs) != 2 || fs[0].Uint() != 100 {
		t.Fatalf("latest freespace = %+v", fs)
	}
	if !slices.Contains(m.MetricNames(), "tag:region") {
		t.Fatalf("metric names %v lack the tag", m.MetricNames())
	}
}

func TestPeerNeverHeardFromIsDownAfterGrace(t *testing.T) {
	t0 := time.Unix(1000, 0)
	m := NewMonitor(t0)
	m.Check([]string{"ghost"}, t0.Add(10*time.Second)) // first listed now, long after start
	if got := m.Check([]string{"ghost"}, t0.Add(12*time.Second)); len(got) != 0 {
		t.Fatal("no grace for a peer that has just joined")
	}
	if got := m.Check([]string{"ghost"}, t0.Add(16*time.Second)); !slices.Equal(got, []string{"ghost"}) {
		t.Fatalf("silent peer never reported: %v", got)
	}
}

func TestInvalidMetricsAreNotCandidates(t *testing.T) {
	t0 := time.Unix(1000, 0)
	m := NewMonitor(t0)
	m.Accept(Sample{FreeSpace: 100, IPFSOK: false}.Metrics("a", t0, time.Minute), t0)
	if got := m.Latest(FreeSpace, t0); len(got) != 0 {
		t.Fatalf("a peer whose IPFS is down offered free space: %+v", got)
	}
	if !m.Healthy("a", t0) {
		t.Fatal("the peer itself is alive")
	}
}

// An alert is active while its peer is silent and cleared once its
// heartbeat comes back; the count of alerts raised only grows, past the
// history's cap.
func TestAlertsClearAndAreCountedPastTheHistory(t *testing.T) {
	t0 := time.Unix(1000, 0)
	m := NewMonitor(t0)
	ttl := 6 * time.Second
	m.Accept(Sample{IPFSOK: true}.Metrics("a", t0, ttl), t0)
	t1 := t0.Add(10 * time.Second)
	m.Check([]string{"a"}, t1)
	if alerts := m.Alerts(); len(alerts) != 1 || !alerts[0].Active || alerts[0].ClearedAt != nil {
		t.Fatalf("alerts of a silent peer = %+v, want one active", alerts)
	}
	if raised, active := m.AlertCounts(); raised != 1 || active != 1 {
		t.Fatalf("AlertCounts = %d raised, %d active; want 1, 1", raised, active)
	}
	t2 := t1.Add(time.Second)
	m.Accept(Sample{IPFSOK: true}.Metrics("a", t2, ttl), t2)
	alerts := m.Alerts()
	if len(alerts) != 1 || alerts[0].Active || alerts[0].ClearedAt == nil || !alerts[0].ClearedAt.Equal(t2) {
		t.Fatalf("alerts after the heartbeat came back = %+v, want one cleared at %v", alerts, t2)
	}
	if raised, active := m.AlertCounts(); raised != 1 || active != 0 {
		t.Fatalf("AlertCounts = %d raised, %d active; want 1, 0", raised, active)
	}

	// A peer that leaves while silent clears its alert too.
	now := t2
	for i := range maxAlerts + 5 {
		now = now.Add(time.Minute)
		peer := "p" + strconv.Itoa(i)
		m.Check([]string{peer}, now)
		m.Check([]string{peer}, now.Add(silentGrace+time.Second))
		m.Forget(peer)
	}
	raised, active := m.AlertCounts()
	if raised != maxAlerts+6 || active != 0 {
		t.Fatalf("AlertCounts = %d raised, %d active; want %d, 0", raised, active, maxAlerts+6)
	}
	if alerts := m.Alerts(); len(alerts) != maxAlerts || alerts[0].Active {
		t.Fatalf("history of %d, latest %+v; want %d, cleared", len(alerts), alerts[0], maxAlerts)
	}
}
