package e2e

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkPinnedOnKuboThroughAPeerNotAllocated times `pin/add` with the default
// proxy.pin_wait=pinned through one peer of three real peers, each in
// front of its own Kubo, replication 1: a pin placed on another peer
// answers once that peer's Kubo holds it, which the receiving peer must
// learn from it. The baseline is the same call for the pins placed on the
// receiving peer itself, in the same run. The blocks are on every Kubo
// beforehand, so that no pin waits for bitswap.
func BenchmarkPinnedOnKuboThroughAPeerNotAllocated(b *testing.B) {
	kubos, peers := threePeersWith(b, "info", fastHealth...)
	const pins = 40
	next := 0
	for b.Loop() {
		var here, elsewhere []time.Duration
		for range pins {
			next++
			c := addEverywhere(b, kubos, fmt.Sprintf("pinned through a peer: %d %d", next, time.Now().UnixNano()))
			start := time.Now()
			proxyPin(b, peers[0], c, "replication-min=1&replication-max=1")
			took := time.Since(start)
			if kubos[0].pinned()[c] != "" {
				here = append(here, took)
			} else {
				elsewhere = append(elsewhere, took)
			}
		}
		if len(here) == 0 || len(elsewhere) == 0 {
			b.Fatalf("of %d pins, %d were placed on the receiving peer: want some of each", pins, len(here))
		}
		h, e := median(here), median(elsewhere)
		b.ReportMetric(float64(e.Microseconds())/1000, "ms-p50-elsewhere")
		b.ReportMetric(float64(h.Microseconds())/1000, "ms-p50-here")
		b.ReportMetric(float64(e)/float64(h), "elsewhere/here")
	}
}
