package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/internal/config"
	"github.com/flotilla-ipfs/flotilla/internal/testkit"
)

// trackerBenchPins is how many CIDs each side pins in a round: at a few
// hundred pins a second, seconds of work, long enough that a pin's latency
// at either end of the run is noise. trackerBenchRounds rounds, either
// side first in turn (ABBA), so that a busy moment of the shared machine
// does not always fall on the same side.
const (
	trackerBenchPins   = 1000
	trackerBenchRounds = 4
)

// BenchmarkTrackerOnKubo measures how fast one Flotilla peer's tracker
// makes its Kubo pin what the cluster allocated to it, against Kubo's own
// pin/add rate, in the same run. Two Kubos hold the same blocks. Kubo's
// rate is pin/add straight to Kubo A by as many concurrent clients as the
// tracker makes calls on its Kubo at once (ipfs.concurrent_pins), until
// all are answered. The tracker's is a new peer in front of Kubo B whose
// pinset was imported while it was stopped (`flotilla state import`), so
// that no commit is measured: from its start it pins the whole backlog.
// Its time runs from the daemon's line saying it started (its tracker
// started a moment before) to its last status written pinned, once Kubo B
// holds every pin.
func BenchmarkTrackerOnKubo(b *testing.B) {
	flotillaBin, ipfsBin := binaries(b)
	bench := &trackerBench{
		b:       b,
		bin:     flotillaBin,
		kuboA:   startKubo(b, ipfsBin),
		kuboB:   startKubo(b, ipfsBin),
		clients: trackerConcurrentPins(b),
	}
	var kuboTook, trackerTook time.Duration
	var kuboPins, trackerPins int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for round := range trackerBenchRounds {
			bench.round++
			cids := putBlocks(b, []*kubo{bench.kuboA, bench.kuboB}, trackerBenchPins)
			kuboSide := func() {
				n, took := bench.kuboRun(cids)
				kuboPins, kuboTook = kuboPins+n, kuboTook+took
			}
			trackerSide := func() {
				n, took := bench.trackerRun(cids)
				trackerPins, trackerTook = trackerPins+n, trackerTook+took
			}
			if round%4 == 0 || round%4 == 3 {
				kuboSide()
				trackerSide()
			} else {
				trackerSide()
				kuboSide()
			}
		}
	}
	kuboRate := float64(kuboPins) / kuboTook.Seconds()
	trackerRate := float64(trackerPins) / trackerTook.Seconds()
	b.ReportMetric(kuboRate, "pins/s-kubo")
	b.ReportMetric(trackerRate, "pins/s-tracker")
	b.ReportMetric(trackerRate/kuboRate, "tracker/kubo")
	b.ReportMetric(float64(bench.clients), "concurrent-pins")
	fmt.Printf("\ntracker on Kubo, %d concurrent calls: Kubo's own pin/add %.0f/s, the tracker %.0f/s: %.2fx\n",
		bench.clients, kuboRate, trackerRate, trackerRate/kuboRate)
}

// trackerConcurrentPins is the tracker's ipfs.concurrent_pins: the
// daemon's default, or what FLOTILLA_IPFS_CONCURRENT_PINS (which the
// daemons of this process inherit) sets.
func trackerConcurrentPins(b *testing.B) int {
	if s := os.Getenv("FLOTILLA_IPFS_CONCURRENT_PINS"); s != "" {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			b.Fatalf("FLOTILLA_IPFS_CONCURRENT_PINS=%q", s)
		}
		return n
	}
	return config.Default().IPFS.ConcurrentPins
}

type trackerBench struct {
	b            *testing.B
	bin          string
	kuboA, kuboB *kubo
	clients      int
	round        int // for the profiles' names
}

// kuboRun pins cids on Kubo A with the tracker's concurrency and returns
// how many it pinned and how long that took.
func (tb *trackerBench) kuboRun(cids []string) (int, time.Duration) {
	tb.b.Helper()
	client := benchClient(tb.clients)
	defer client.CloseIdleConnections()
	cpu := processCPU(tb.b, tb.kuboA.cmd.Process.Pid)
	stop := tb.profile("kubo", map[string]string{"kubo": tb.kuboA.url + "/debug/pprof/profile"})
	r := pinLoad(tb.b, client, tb.kuboA.url, cids, tb.clients, time.Minute)
	stop()
	if r.Errors > 0 || r.Pins != len(cids) {
		tb.b.Fatalf("Kubo pinned %d of %d CIDs (%d failed)", r.Pins, len(cids), r.Errors)
	}
	tb.b.Logf("Kubo: %d pins in %.2f s, %.0f/s, p50 %.2f ms; Kubo's CPU %.2f ms a pin",
		r.Pins, r.Seconds, r.PerSec, r.P50ms, ms(processCPU(tb.b, tb.kuboA.cmd.Process.Pid)-cpu)/float64(r.Pins))
	return r.Pins, time.Duration(r.Seconds * float64(time.Second))
}

// trackerRun starts a new peer in front of Kubo B with cids imported as
// its pinset, waits until Kubo B holds them all, and returns how many the
// tracker pinned and the time from the daemon's start to its last pin.
func (tb *trackerBench) trackerRun(cids []string) (int, time.Duration) {
	b := tb.b
	b.Helper()
	env := []string{}
	if os.Getenv(benchProfileEnv) != "" {
		env = append(env, "FLOTILLA_API_PPROF=true")
	}
	p := newPeer(b, tb.bin, tb.kuboB, env...)
	// At debug level the daemon logs every pin: measure the default's cost.
	p.logLevel = "info"
	pinset := filepath.Join(b.TempDir(), "pinset.ndjson")
	writeExport(b, pinset, len(cids), func(i int) string { return cids[i] })
	if out, err := p.flotilla("state", "import", "--file", pinset); err != nil {
		b.Fatalf("flotilla state import: %v\n%s", err, out)
	}
	held, err := recursivePins(tb.kuboB)
	if err != nil {
		b.Fatal(err)
	}
	kuboCPU := processCPU(b, tb.kuboB.cmd.Process.Pid)
	p.startUnready()
	started := time.Now()
	stop := tb.profile("tracker", map[string]string{
		"flotilla": "http://" + p.api + "/debug/pprof/profile",
		"kubo":     tb.kuboB.url + "/debug/pprof/profile",
	})
	// Seldom: each scrape costs the daemon CPU, and the rate comes from
	// the statuses' times anyway.
	testkit.Eventually(b, "the tracker to pin its backlog", func() bool { return localPinned(p) >= len(cids) },
		testkit.Within(2*time.Minute), testkit.Every(250*time.Millisecond))
	flotillaCPU, kuboCPU := processCPU(b, p.cmd.Process.Pid), processCPU(b, tb.kuboB.cmd.Process.Pid)-kuboCPU
	stop()
	if n, err := recursivePins(tb.kuboB); err != nil || n != held+len(cids) {
		b.Fatalf("the tracker reports %d pinned, and Kubo B holds %d recursive pins of %d (%v)", len(cids), n, held+len(cids), err)
	}
	first, last := pinnedSpan(b, p, cids)
	p.stop()
	took := last.Sub(started)
	b.Logf("tracker: %d pins in %.2f s, %.0f/s, the first after %.0f ms; CPU a pin: the daemon %.2f ms (its start included), Kubo %.2f ms",
		len(cids), took.Seconds(), float64(len(cids))/took.Seconds(), ms(first.Sub(started)),
		ms(flotillaCPU)/float64(len(cids)), ms(kuboCPU)/float64(len(cids)))
	return len(cids), took
}

// localPinned is the peer's count of pins its tracker holds pinned, from
// its metrics: cheap to ask while it works, unlike a listing.
func localPinned(p *peer) int {
	req, err := http.NewRequest(http.MethodGet, "http://"+p.api+"/metrics", nil)
	if err != nil {
		return 0
	}
	// Uncompressed: gzip would cost the daemon more than the scrape.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := p.client().Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	const prefix = `flotilla_local_pins{status="pinned"} `
	for sc := bufio.NewScanner(resp.Body); sc.Scan(); {
		if v, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return int(n)
		}
	}
	return 0
}

// pinnedSpan is when the peer wrote its first and its last status pinned
// among cids, from its local status listing.
func pinnedSpan(b *testing.B, p *peer, cids []string) (first, last time.Time) {
	b.Helper()
	resp, err := p.client().Get("http://" + p.api + "/pins?local=true")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	want := make(map[string]bool, len(cids))
	for _, c := range cids {
		want[c] = true
	}
	seen := 0
	for dec := json.NewDecoder(resp.Body); dec.More(); {
		var info struct {
			Cid     string `json:"cid"`
			PeerMap map[string]struct {
				Status    string    `json:"status"`
				Timestamp time.Time `json:"timestamp"`
			} `json:"peer_map"`
		}
		if err := dec.Decode(&info); err != nil {
			b.Fatal(err)
		}
		for _, st := range info.PeerMap {
			if !want[info.Cid] || st.Status != "pinned" {
				continue
			}
			seen++
			if first.IsZero() || st.Timestamp.Before(first) {
				first = st.Timestamp
			}
			if st.Timestamp.After(last) {
				last = st.Timestamp
			}
		}
	}
	if seen != len(cids) || !last.After(first) {
		b.Fatalf("the peer lists %d of %d CIDs pinned, from %s to %s", seen, len(cids), first, last)
	}
	return first, last
}

// profile takes, when FLOTILLA_BENCH_PROFILE names a folder, a CPU
// profile of each process given (name: its /debug/pprof/profile URL) for
// a few seconds from now, and returns the wait for them:
// tracker-on-kubo-<round>-<side>-<name>.cpu.pprof.
func (tb *trackerBench) profile(side string, urls map[string]string) (wait func()) {
	dir := os.Getenv(benchProfileEnv)
	if dir == "" {
		return func() {}
	}
	var wg sync.WaitGroup
	for name, url := range urls {
		wg.Go(func() {
			file := filepath.Join(dir, fmt.Sprintf("tracker-on-kubo-%d-%s-%s.cpu.pprof", tb.round, side, name))
			resp, err := http.Get(url + "?seconds=3")
			if err != nil {
				tb.b.Errorf("profile of %s: %v", name, err)
				return
			}
			defer resp.Body.Close()
			var buf bytes.Buffer
			buf.ReadFrom(resp.Body)
			if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
				tb.b.Errorf("profile of %s: %v", name, err)
			}
		})
	}
	return wg.Wait
}
