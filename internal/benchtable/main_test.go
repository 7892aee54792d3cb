package main

import (
	"strings"
	"testing"
)

const sample = `goos: linux
pkg: github.com/flotilla-ipfs/flotilla/cluster/tracker
BenchmarkTrackerOwnCost/workers=4-2         	       1	1234 ns/op	  12000 pins/s-tracked	  30000 pins/s-committed
pkg: github.com/flotilla-ipfs/flotilla/e2e
BenchmarkProxyAgainstKubo-2   	       2	 9 ns/op	  1.50 forwarded-call-ratio	  300 µs/call-direct	  450 µs/call-proxied	  0.97 upload-throughput-ratio
BenchmarkPinAddVsIPFSCluster-2   	       1	 9 ns/op	  3000 flotilla-c16-pins/s	  150 ipfscluster-c16-pins/s	  20.0 c16-flotilla/ipfscluster	  126 flotilla-c16-pinned/s	  120 ipfscluster-c16-pinned/s
BenchmarkMillionPins-2   	       1	61234567890 ns/op	        41.50 MB-anon	         0 newpins-unpinned	  10000000 pins	   9999000 pins-queued-after	        58.20 s-import	         0.1200 s-newpin-p50	         4.200 s-status
BenchmarkTrackerOnKubo-2   	       1	 9 ns/op	  10.00 concurrent-pins	  700.0 pins/s-kubo	  630.0 pins/s-tracker	  0.9000 tracker/kubo
PASS
`

func TestTheTableShowsEachWorkloadsRatioAndWhatIsMissing(t *testing.T) {
	res, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	write(&out, res)
	table := out.String()
	for _, want := range []struct{ workload, cells string }{
		{"pin add, 16 clients, via a follower: pins/s vs ipfs-cluster", "3000/s 150/s 20.00x"},
		{"pin add, 16 clients: pins/s until all held on Kubo vs ipfs-cluster", "126/s 120/s 1.05x"},
		{"a forwarded call (version): µs vs Kubo directly", "450 µs 300 µs 1.50x"},
		{"upload (add 4 MiB, no pin) through the proxy: throughput vs Kubo", "- - 0.97x"},
		{"tracker on Kubo: pins/s vs Kubo's own pin/add, same concurrency", "630/s 700/s 0.90x >= 0.9x"},
		// A ratio the benchmark did not report is measured over baseline.
		{"tracker alone, 4 workers, in-memory IPFS: pins/s", "12000/s 30000/s 0.40x"},
		// A benchmark that did not run shows dashes, not zeros.
		{"pin add, 64 clients, via a follower: pins/s vs ipfs-cluster", "- - -"},
		// The scale lines have no baseline, and name the pinset's size.
		{"10M pins, one peer: state import", "58.2 s - - at 10M: <= 300 s"},
		{"10M pins, one peer: GET /pins ", "4.20 s - - <= 5 s"},
		{"10M pins, one peer: anonymous memory after the listings", "41.5 MB - - <= 100 MB"},
		{"10M pins, one peer: a new pin behind the backlog, p50", "0.120 s - - <= 2 s"},
		{"10M pins, one peer: pin ls --stream through the proxy", "- - - <= 3 s"},
	} {
		line := lineOf(table, want.workload)
		if got := strings.Join(strings.Fields(strings.TrimPrefix(line, want.workload)), " "); !strings.HasPrefix(got, want.cells) {
			t.Errorf("%q: got %q, want it to start with %q\n%s", want.workload, got, want.cells, table)
		}
	}
}

func lineOf(table, prefix string) string {
	for _, l := range strings.Split(table, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

func TestTheScaleLinesNameTheDefaultPinsetWhenTheBenchmarkDidNotRun(t *testing.T) {
	var out strings.Builder
	write(&out, results{})
	if line := lineOf(out.String(), "1M pins, one peer: GET /pins "); line == "" {
		t.Fatalf("no 1M line for the status listing:\n%s", out.String())
	}
}
