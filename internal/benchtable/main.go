// Command benchtable reads the output of `go test -bench` on its standard
// input and prints one table of the ratios that issue 10 sets targets for,
// one line per workload, each measured against its baseline in the same
// run. `make bench` runs it after the benchmarks.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// results holds the metrics of each benchmark, by name without the
// "Benchmark" prefix and the GOMAXPROCS suffix; a later line wins.
type results map[string]map[string]float64

var benchLine = regexp.MustCompile(`^Benchmark(\S+?)(-\d+)?\s+\d+\s+(.*)$`)

func parse(r io.Reader) (results, error) {
	res := results{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		metrics := map[string]float64{}
		fields := strings.Fields(m[3])
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				break
			}
			metrics[fields[i+1]] = v
		}
		res[m[1]] = metrics
	}
	return res, sc.Err()
}

// row is one workload: a measured figure, its baseline from the same
// run, and their ratio (the named metric, or measured over baseline).
type row struct {
	workload string
	bench    string
	measured string
	baseline string
	ratio    string
	unit     string // of measured and baseline
	target   string
}

const pinAdd = "PinAddVsIPFSCluster"

var rows = []row{
	{"pin add, 1 client, via a follower: pins/s vs ipfs-cluster", pinAdd, "flotilla-c1-pins/s", "ipfscluster-c1-pins/s", "c1-flotilla/ipfscluster", "/s", ">= 2x"},
	{"pin add, 1 client, via a follower: p50 vs ipfs-cluster", pinAdd, "flotilla-c1-p50-ms", "ipfscluster-c1-p50-ms", "", " ms", "<= 3 ms"},
	{"pin add, 1 client, via the leader: p50", pinAdd, "flotilla-leader-c1-p50-ms", "", "", " ms", "<= 2 ms"},
	{"pin add, 16 clients, via a follower: pins/s vs ipfs-cluster", pinAdd, "flotilla-c16-pins/s", "ipfscluster-c16-pins/s", "c16-flotilla/ipfscluster", "/s", ">= 10x; 5,000/s"},
	{"pin add, 64 clients, via a follower: pins/s vs ipfs-cluster", pinAdd, "flotilla-c64-pins/s", "ipfscluster-c64-pins/s", "c64-flotilla/ipfscluster", "/s", ">= 10x; 10,000/s"},
	{"pin add, 1 client, via a follower: pins/s vs Kubo's own pin/add", pinAdd, "flotilla-c1-pins/s", "kubo-c1-pins/s", "c1-flotilla/kubo", "/s", ""},
	{"pin add, 16 clients, via a follower: pins/s vs Kubo's own pin/add", pinAdd, "flotilla-c16-pins/s", "kubo-c16-pins/s", "c16-flotilla/kubo", "/s", ""},
	{"pin add, 64 clients, via a follower: pins/s vs Kubo's own pin/add", pinAdd, "flotilla-c64-pins/s", "kubo-c64-pins/s", "c64-flotilla/kubo", "/s", ""},
	// From the run's first commit until the side's Kubos held every pin:
	// what the Kubos' pinning allows, whichever cluster feeds them.
	{"pin add, 16 clients: pins/s until all held on Kubo vs ipfs-cluster", pinAdd, "flotilla-c16-pinned/s", "ipfscluster-c16-pinned/s", "", "/s", ""},
	{"pin add, 64 clients: pins/s until all held on Kubo vs ipfs-cluster", pinAdd, "flotilla-c64-pinned/s", "ipfscluster-c64-pinned/s", "", "/s", ""},
	{"CPU ms per pin, 16 clients: the 3 daemons vs ipfs-cluster's", pinAdd, "flotilla-c16-cpu-ms/pin", "ipfscluster-c16-cpu-ms/pin", "", " ms", ""},
	{"CPU ms per pin, 64 clients: the 3 daemons vs ipfs-cluster's", pinAdd, "flotilla-c64-cpu-ms/pin", "ipfscluster-c64-cpu-ms/pin", "", " ms", ""},
	{"a forwarded call (version): µs vs Kubo directly", "ProxyAgainstKubo", "µs/call-proxied", "µs/call-direct", "forwarded-call-ratio", " µs", "<= 1.1x"},
	{"a call (version) through a bare TCP relay process: µs vs Kubo directly", "ProxyAgainstKubo", "µs/call-relayed", "µs/call-direct", "relayed-call-ratio", " µs", ""},
	{"upload (add 4 MiB, no pin) through the proxy: throughput vs Kubo", "ProxyAgainstKubo", "", "", "upload-throughput-ratio", "", ">= 0.95x"},
	{"add and pin 256 KiB through the proxy: ms vs Kubo", "ProxyAgainstKubo", "ms/add-proxied", "ms/add-direct", "pinned-add-ratio", " ms", ""},
	{"pin add (pin_wait=pinned), 3 peers on Kubo, replication 1: p50 through a peer not allocated vs the allocated one", "PinnedOnKuboThroughAPeerNotAllocated", "ms-p50-elsewhere", "ms-p50-here", "elsewhere/here", " ms", ""},
	{"in-process proxy: a call vs a bare upstream", "Forwarding", "µs/call-proxied", "µs/call-direct", "latency-ratio", " µs", ""},
	{"in-process proxy: upload throughput vs a bare upstream", "Forwarding", "", "", "upload-throughput-ratio", "", ""},
	{"tracker on an in-memory IPFS (whole Node): pins/s vs committing", "TrackerThroughput", "pins/s-tracked", "pins/s-committed", "", "/s", ">= 10,000/s"},
	{"tracker alone, 4 workers, in-memory IPFS: pins/s", "TrackerOwnCost/workers=4", "pins/s-tracked", "pins/s-committed", "", "/s", ">= 10,000/s"},
	{"tracker alone, 10 workers, in-memory IPFS: pins/s", "TrackerOwnCost/workers=10", "pins/s-tracked", "pins/s-committed", "", "/s", ">= 10,000/s"},
	{"in-process, 1 client: p50 via a follower vs via the leader", "PinThroughAFollower", "ms-p50-follower", "ms-p50-leader", "follower/leader", " ms", ""},
	{"in-process, 16 clients: pins/s via a follower vs via the leader", "ConcurrentPinsThroughAFollower", "pins/s-follower-c16", "pins/s-leader-c16", "follower/leader-c16", "/s", ""},
	{"in-process, 64 clients: pins/s via a follower vs via the leader", "ConcurrentPinsThroughAFollower", "pins/s-follower-c64", "pins/s-leader-c64", "follower/leader-c64", "/s", ""},
	{"in-process, pinned (pin_wait=pinned), 1 client: p50 via a follower vs via the leader", "PinnedThroughAFollower", "ms-p50-follower", "ms-p50-leader", "follower/leader", " ms", ""},
	{"in-process, pinned (pin_wait=pinned) through a peer not allocated: p50 vs through the allocated peer", "PinnedThroughAPeerNotAllocated", "ms-p50-elsewhere", "ms-p50-here", "elsewhere/here", " ms", ""},
	{"in-process, one peer: commits/s, 64 clients vs 1", "PinCommit", "pins/s-64-clients", "pins/s-sequential", "group-commit-ratio", "/s", ""},
	{"tracker on Kubo: pins/s vs Kubo's own pin/add, same concurrency", "TrackerOnKubo", "pins/s-tracker", "pins/s-kubo", "tracker/kubo", "/s", ">= 0.9x"},
	// One real peer holding the imported pinset: measured against the
	// issue's targets, since no baseline does the same work.
	{"{pins} pins, one peer: state import", scale, "s-import", "", "", " s", "at 10M: <= 300 s"},
	{"{pins} pins, one peer: start until its API answers", scale, "s-start", "", "", " s", ""},
	{"{pins} pins, one peer: pin ls --stream through the proxy", scale, "s-pinls-stream", "", "", " s", "<= 3 s"},
	{"{pins} pins, one peer: pin ls (Keys) through the proxy", scale, "s-pinls-keys", "", "", " s", "<= 3 s"},
	{"{pins} pins, one peer: GET /pins?local=true", scale, "s-status-local", "", "", " s", ""},
	{"{pins} pins, one peer: GET /pins", scale, "s-status", "", "", " s", "<= 5 s"},
	{"{pins} pins, one peer: anonymous memory after the listings", scale, "MB-anon", "", "", " MB", "<= 100 MB, at 10M too"},
	{"{pins} pins, one peer: a new pin behind the backlog, p50", scale, "s-newpin-p50", "", "", " s", "<= 2 s"},
}

const scale = "MillionPins"

func main() {
	res, err := parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	write(os.Stdout, res)
}

func write(w io.Writer, res results) {
	fmt.Fprintf(w, "\n%-68s %14s %14s %9s  %s\n", "workload (all measured in this run)", "measured", "baseline", "ratio", "target")
	for _, r := range rows {
		m := res[r.bench]
		measured, mok := m[r.measured]
		baseline, bok := m[r.baseline]
		ratio, rok := m[r.ratio]
		if !rok && mok && bok && baseline != 0 {
			ratio, rok = measured/baseline, true
		}
		fmt.Fprintf(w, "%-68s %14s %14s %9s  %s\n", strings.ReplaceAll(r.workload, "{pins}", count(m["pins"])), figure(measured, mok, r.unit), figure(baseline, bok, r.unit), ratioText(ratio, rok), r.target)
	}
}

// count writes a pinset's size as the issue does: 1M, 10M, 100k.
func count(n float64) string {
	switch {
	case n >= 1e6 && int64(n)%1e6 == 0:
		return strconv.FormatInt(int64(n/1e6), 10) + "M"
	case n >= 1e3 && int64(n)%1e3 == 0:
		return strconv.FormatInt(int64(n/1e3), 10) + "k"
	case n > 0:
		return strconv.FormatInt(int64(n), 10)
	default:
		return "1M" // the benchmark's default, when it did not run
	}
}

func figure(v float64, ok bool, unit string) string {
	if !ok {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', decimals(v), 64) + unit
}

func decimals(v float64) int {
	switch {
	case v >= 100:
		return 0
	case v >= 10:
		return 1
	case v >= 1:
		return 2
	default:
		return 3
	}
}

func ratioText(v float64, ok bool) string {
	if !ok {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + "x"
}
