package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

var (
	descPinset  = prometheus.NewDesc("flotilla_pinset_pins", "Pins in the cluster pinset.", nil, nil)
	descLocal   = prometheus.NewDesc("flotilla_local_pins", "This peer's pins by tracker status.", []string{"status"}, nil)
	descQueue   = prometheus.NewDesc("flotilla_tracker_queue_length", "Pins queued or in progress on this peer.", nil, nil)
	descPeers   = prometheus.NewDesc("flotilla_peers", "Cluster members.", nil, nil)
	descHealthy = prometheus.NewDesc("flotilla_peers_healthy", "Cluster members with a current heartbeat.", nil, nil)
	descAlerts  = prometheus.NewDesc("flotilla_alerts", "Alerts raised since start.", nil, nil)
	descState   = prometheus.NewDesc("flotilla_raft_state", "1 for this peer's Raft state.", []string{"state"}, nil)
	descVoter   = prometheus.NewDesc("flotilla_raft_voter", "1 when this peer votes in Raft.", nil, nil)
	descTerm    = prometheus.NewDesc("flotilla_raft_term", "Current Raft term.", nil, nil)
	descCommit  = prometheus.NewDesc("flotilla_raft_commit_index", "Raft commit index.", nil, nil)
	descApplied = prometheus.NewDesc("flotilla_raft_applied_index", "Raft index applied on this peer.", nil, nil)
)

// nodeCollector reads types.Stats at scrape time, so that the numbers
// are never stale and cost nothing between scrapes.
type nodeCollector struct {
	stats func() types.Stats
}

func (c *nodeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPinset, descLocal, descQueue, descPeers, descHealthy, descAlerts, descState, descVoter, descTerm, descCommit, descApplied} {
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
	gauge(descQueue, float64(s.LocalStatus[storage.StatusPinQueued]+s.LocalStatus[storage.StatusPinning]))
	gauge(descPeers, float64(s.Peers))
	gauge(descHealthy, float64(s.HealthyPeers))
	gauge(descAlerts, float64(s.Alerts))
	for _, st := range []string{"leader", "follower", "candidate", "shutdown"} {
		v := 0.0
		if s.RaftState == st {
			v = 1
		}
		gauge(descState, v, st)
	}
	voter := 0.0
	if s.Voter {
		voter = 1
	}
	gauge(descVoter, voter)
	gauge(descTerm, float64(s.Term))
	gauge(descCommit, float64(s.CommitIndex))
	gauge(descApplied, float64(s.AppliedIndex))
}
