// Package telemetry exports Flotilla's Prometheus metrics on a registry of
// its own (never the global one): request counts and latencies of every
// listener, commit latency and batch sizes, pin durations, and a scrape-time
// view of the pinset, the local pin statuses, Raft and the peers.
package telemetry

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/flotilla-ipfs/flotilla/internal/version"
	"github.com/flotilla-ipfs/flotilla/types"
)

// Metrics holds the collectors of one process.
type Metrics struct {
	registry    *prometheus.Registry
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	commit      prometheus.Histogram
	batch       prometheus.Histogram
	pinDuration *prometheus.HistogramVec
	refused     *prometheus.CounterVec
	refusedReqs *prometheus.CounterVec
	cut         *prometheus.CounterVec
}

// New builds the metrics and registers the Go runtime's.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flotilla_http_requests_total", Help: "HTTP requests by listener, route and status code.",
		}, []string{"listener", "route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "flotilla_http_request_duration_seconds", Help: "HTTP request latency by listener and route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}, []string{"listener", "route"}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "flotilla_raft_commit_duration_seconds", Help: "Time from submitting a group-commit entry to its commit.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "flotilla_raft_batch_pins", Help: "Pin operations carried by one Raft entry.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11),
		}),
		pinDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "flotilla_tracker_pin_duration_seconds", Help: "Time to pin on the IPFS node, by outcome.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 10),
		}, []string{"outcome"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flotilla_http_connections_refused_total", Help: "Connections turned away because the listener served its limit at once.",
		}, []string{"listener"}),
		refusedReqs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flotilla_http_refused_total", Help: "Requests refused by the browser guard (reason browser) or for want of valid credentials (reason credentials), each counted though their log lines are sampled.",
		}, []string{"listener", "reason"}),
		cut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flotilla_http_bodies_cut_total", Help: "Requests whose body came too slowly and was cut (http.body_* limits).",
		}, []string{"listener"}),
	}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "flotilla_build_info", Help: "1, labelled with the version and commit this binary was built from.",
	}, []string{"version", "commit"})
	buildInfo.WithLabelValues(version.Version, version.Commit).Set(1)
	m.registry.MustRegister(m.requests, m.latency, m.commit, m.batch, m.pinDuration, m.refused, m.refusedReqs, m.cut, buildInfo,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// ObserveCommit implements cluster.Observer.
func (m *Metrics) ObserveCommit(d time.Duration, ops int) {
	m.commit.Observe(d.Seconds())
	m.batch.Observe(float64(ops))
}

// ObservePin implements cluster.Observer.
func (m *Metrics) ObservePin(d time.Duration, ok bool) {
	outcome := "pinned"
	if !ok {
		outcome = "error"
	}
	m.pinDuration.WithLabelValues(outcome).Observe(d.Seconds())
}

// WatchNode reports the node's state at every scrape.
func (m *Metrics) WatchNode(stats func() types.Stats) {
	m.registry.MustRegister(&nodeCollector{stats: stats})
}

// WatchIPFS reports at every scrape whether the peer's IPFS node answers,
// as the peer's own watch of it last found (what /health reports).
func (m *Metrics) WatchIPFS(up func() bool) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "flotilla_ipfs_up", Help: "1 when this peer's IPFS node answers.",
	}, func() float64 { return one(up()) }))
}

// ConnRefused returns the function a listener calls for each connection it
// turns away at its limit.
func (m *Metrics) ConnRefused(listener string) func() {
	c := m.refused.WithLabelValues(listener)
	return c.Inc
}

// RequestRefused returns the function a listener calls for each request
// it refuses, with the reason (httpguard.RefusedBrowser, RefusedCredentials).
func (m *Metrics) RequestRefused(listener string) func(reason string) {
	return func(reason string) { m.refusedReqs.WithLabelValues(listener, reason).Inc() }
}

// BodyCut returns the function a listener calls for each request whose
// body it cut for slowness.
func (m *Metrics) BodyCut(listener string) func() {
	return m.cut.WithLabelValues(listener).Inc
}

// HTTPObserver returns the function a listener calls once per request,
// with a route name free of unbounded parts (no CIDs).
func (m *Metrics) HTTPObserver(listener string) func(route string, code int, d time.Duration) {
	return func(route string, code int, d time.Duration) {
		m.requests.WithLabelValues(listener, route, strconv.Itoa(code)).Inc()
		m.latency.WithLabelValues(listener, route).Observe(d.Seconds())
	}
}

// Middleware counts and times the requests of one listener. route names
// the request without unbounded parts such as CIDs.
func (m *Metrics) Middleware(listener string, route func(*http.Request) string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &codeRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		m.HTTPObserver(listener)(route(r), rec.code, time.Since(start))
	})
}

// codeRecorder remembers the status code, and lets streaming handlers
// flush and reach the connection.
type codeRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (c *codeRecorder) WriteHeader(code int) {
	if !c.wrote {
		c.code, c.wrote = code, true
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *codeRecorder) Write(b []byte) (int, error) {
	c.wrote = true
	return c.ResponseWriter.Write(b)
}

func (c *codeRecorder) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (c *codeRecorder) Unwrap() http.ResponseWriter { return c.ResponseWriter }
