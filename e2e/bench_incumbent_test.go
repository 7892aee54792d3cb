package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkPinAddVsIPFSCluster measures pin/add through a follower's proxy
// of three Flotilla peers and of three ipfs-cluster peers (the incumbent,
// Raft consensus), each peer in front of its own Kubo, replication 2, both
// answering at the commit; and Kubo's own pin/add as the baseline. All in
// one run, for 1, 16 and 64 concurrent clients, taking turns.
//
// ipfs-cluster's libp2p host probes the network (port mapping), and no
// packet may leave the machine: the whole comparison runs in a private
// network namespace with only loopback (`unshare -n`, which needs root).
// This benchmark re-executes its own test binary there, running
// TestPinAddComparisonInNamespace, and reports what that wrote.
func BenchmarkPinAddVsIPFSCluster(b *testing.B) {
	binaries(b)
	incumbentBinary(b)
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		out := filepath.Join(b.TempDir(), "result.json")
		cmd := exec.Command("unshare", "-n", "sh", "-c", `ip link set lo up && exec "$0" "$@"`,
			exe, "-test.run", "^TestPinAddComparisonInNamespace$", "-test.count", "1", "-test.v", "-test.timeout", "20m")
		cmd.Env = append(os.Environ(), benchResultEnv+"="+out)
		// The child's progress goes to stderr, so that only this
		// benchmark's own line reaches the summary.
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			b.Fatalf("the comparison in a private network namespace (unshare -n, as root): %v", err)
		}
		var runs []benchRun
		readJSONFile(b, out, &runs)
		reportPinRuns(b, runs)
	}
}

// benchResultEnv tells the re-executed test binary where to write its
// results; without it, TestPinAddComparisonInNamespace skips.
const benchResultEnv = "FLOTILLA_BENCH_RESULT"

// incumbentBinary is ipfs-cluster-service, built by `make ipfs-cluster`.
func incumbentBinary(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("IPFS_CLUSTER_SERVICE_BIN")
	if _, err := os.Stat(bin); bin == "" || err != nil {
		t.Fatalf("ipfs-cluster-service %q missing: run `make ipfs-cluster` (make bench does)", bin)
	}
	return bin
}

// benchRun is one measured run: a side, a number of clients, and what
// it did.
type benchRun struct {
	Side    string `json:"side"`
	Clients int    `json:"clients"`
	loadResult
	// PinnedSeconds is how long from the run's start until every
	// allocated Kubo held every pin of the run; 0 if that did not happen
	// within the wait.
	PinnedSeconds float64 `json:"pinned_seconds"`
	// CPUms is the CPU time of the side's cluster daemons (not its
	// Kubos) from the start of the run until the pins were held, and
	// IdleCPUms what they would have used idle in that time.
	CPUms     float64 `json:"cpu_ms"`
	IdleCPUms float64 `json:"idle_cpu_ms"`
}

func (r benchRun) key() string { return fmt.Sprintf("%s-c%d", r.Side, r.Clients) }

// reportPinRuns reports each run's figures and the ratios of each
// concurrency, and prints them as a table.
func reportPinRuns(b *testing.B, runs []benchRun) {
	byKey := map[string]benchRun{}
	var table strings.Builder
	fmt.Fprintf(&table, "\npin/add, replication 2, answering at the commit (Kubo: pin/add on Kubo itself)\n")
	fmt.Fprintf(&table, "%-16s %8s %6s %7s %10s %9s %9s %11s %11s\n", "side", "clients", "pins", "failed", "pins/s", "p50 ms", "p99 ms", "pinned/s", "cpu ms/pin")
	fmt.Fprintf(&table, "(cpu: the side's cluster daemons, from the run's start until its Kubos held every pin, less their idle use)\n")
	for _, r := range runs {
		byKey[r.key()] = r
		b.ReportMetric(r.PerSec, r.key()+"-pins/s")
		b.ReportMetric(r.P50ms, r.key()+"-p50-ms")
		b.ReportMetric(r.P99ms, r.key()+"-p99-ms")
		pinnedRate := 0.0
		if r.PinnedSeconds > 0 {
			pinnedRate = float64(r.Pins) / r.PinnedSeconds
			b.ReportMetric(pinnedRate, r.key()+"-pinned/s")
		}
		cpuPerPin := 0.0
		if r.CPUms > 0 {
			cpuPerPin = max(0, r.CPUms-r.IdleCPUms) / float64(r.Pins)
			b.ReportMetric(cpuPerPin, r.key()+"-cpu-ms/pin")
		}
		if r.Errors > 0 {
			b.ReportMetric(float64(r.Errors), r.key()+"-failed")
		}
		fmt.Fprintf(&table, "%-16s %8d %6d %7d %10.0f %9.2f %9.2f %11.0f %11.3f\n", r.Side, r.Clients, r.Pins, r.Errors, r.PerSec, r.P50ms, r.P99ms, pinnedRate, cpuPerPin)
	}
	fmt.Fprintf(&table, "%-8s %22s %22s\n", "clients", "Flotilla/ipfs-cluster", "Flotilla/Kubo")
	for _, c := range benchLevels {
		f, fok := byKey[fmt.Sprintf("%s-c%d", sideFlotilla, c.clients)]
		i, iok := byKey[fmt.Sprintf("%s-c%d", sideIncumbent, c.clients)]
		k, kok := byKey[fmt.Sprintf("%s-c%d", sideKubo, c.clients)]
		if !fok || !iok || !kok {
			continue
		}
		b.ReportMetric(f.PerSec/i.PerSec, fmt.Sprintf("c%d-flotilla/ipfscluster", c.clients))
		b.ReportMetric(f.PerSec/k.PerSec, fmt.Sprintf("c%d-flotilla/kubo", c.clients))
		fmt.Fprintf(&table, "%-8d %21.2fx %21.2fx\n", c.clients, f.PerSec/i.PerSec, f.PerSec/k.PerSec)
	}
	fmt.Print(table.String())
}
