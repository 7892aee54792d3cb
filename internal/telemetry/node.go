package telemetry

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

var (
	descPinset       = prometheus.NewDesc("flotilla_pinset_pins", "Pins in the cluster pinset.", nil, nil)
	descLocal        = prometheus.NewDesc("flotilla_local_pins", "This peer's pins by tracker status.", []string{"status"}, nil)
	descQueue        = prometheus.NewDesc("flotilla_tracker_queue_length", "Operations queued or in progress on this peer, by op (pin, unpin).", []string{"op"}, nil)
	descPeers        = prometheus.NewDesc("flotilla_peers", "Full cluster members (voters, and peers on their way to voting); read-only followers are not counted.", nil, nil)
	descFollowers    = prometheus.NewDesc("flotilla_followers", "Read-only followers of the cluster.", nil, nil)
	descHealthy      = prometheus.NewDesc("flotilla_peers_healthy", "Full cluster members with a current heartbeat.", nil, nil)
	descAlerts       = prometheus.NewDesc("flotilla_alerts_total", "Alerts raised since start.", nil, nil)
	descAlertsActive = prometheus.NewDesc("flotilla_alerts_active", "Alerts active now: peers whose heartbeat expired and has not come back.", nil, nil)
	descState        = prometheus.NewDesc("flotilla_raft_state", "1 for this peer's Raft state.", []string{"state"}, nil)
	descLeaderKnown  = prometheus.NewDesc("flotilla_raft_leader_known", "1 when this peer knows a Raft leader.", nil, nil)
	descLastContact  = prometheus.NewDesc("flotilla_raft_last_contact_seconds", "Time since this peer last heard from the Raft leader: 0 on the leader, +Inf when it never has.", nil, nil)
	descVoter        = prometheus.NewDesc("flotilla_raft_voter", "1 when this peer votes in Raft.", nil, nil)
	descTerm         = prometheus.NewDesc("flotilla_raft_term", "Current Raft term.", nil, nil)
	descCommit       = prometheus.NewDesc("flotilla_raft_commit_index", "Raft commit index.", nil, nil)
	descApplied      = prometheus.NewDesc("flotilla_raft_applied_index", "Raft index applied on this peer.", nil, nil)
)

// nodeCollector reads types.Stats at scrape time, so that the numbers
// are never stale and cost nothing between scrapes.
type nodeCollector struct {
	stats func() types.Stats
}

func (c *nodeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		descPinset, descLocal, descQueue, descPeers, descFollowers, descHealthy, descAlerts, descAlertsActive,
		descState, descLeaderKnown, descLastContact, descVoter, descTerm, descCommit, descApplied,
	} {
		ch <- d
	}
}

func (c *nodeCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(descPinset, float64(s.Pinset))
	for _, st := range []storage.TrackerStatus{
		storage.StatusPinQueued, storage.StatusPinning, storage.StatusPinned, storage.StatusPinError,
		storage.StatusUnpinQueued, storage.StatusUnpinning, storage.StatusUnpinError,
	} {
		gauge(descLocal, float64(s.LocalStatus[st]), string(st))
	}
	gauge(descQueue, float64(s.LocalStatus[storage.StatusPinQueued]+s.LocalStatus[storage.StatusPinning]), "pin")
	gauge(descQueue, float64(s.LocalStatus[storage.StatusUnpinQueued]+s.LocalStatus[storage.StatusUnpinning]), "unpin")
	gauge(descPeers, float64(s.Peers))
	gauge(descFollowers, float64(s.Followers))
	gauge(descHealthy, float64(s.HealthyPeers))
	ch <- prometheus.MustNewConstMetric(descAlerts, prometheus.CounterValue, float64(s.AlertsRaised))
	gauge(descAlertsActive, float64(s.AlertsActive))
	for _, st := range []string{"leader", "follower", "candidate", "shutdown"} {
		gauge(descState, one(s.RaftState == st), st)
	}
	gauge(descLeaderKnown, one(s.LeaderKnown))
	// +Inf for never, so that a rule such as "> 10" fires for a peer that
	// has not heard from any leader.
	lastContact := math.Inf(1)
	if s.LastContact >= 0 {
		lastContact = s.LastContact.Seconds()
	}
	gauge(descLastContact, lastContact)
	gauge(descVoter, one(s.Voter))
	gauge(descTerm, float64(s.Term))
	gauge(descCommit, float64(s.CommitIndex))
	gauge(descApplied, float64(s.AppliedIndex))
}

// one is a 0/1 gauge's value.
func one(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
