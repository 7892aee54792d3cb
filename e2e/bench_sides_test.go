package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The sides that BenchmarkPinAddVsIPFSCluster compares.
const (
	sideKubo           = "kubo"
	sideFlotilla       = "flotilla"
	sideFlotillaLeader = "flotilla-leader"
	sideIncumbent      = "ipfscluster"
)

// benchLevels are the concurrencies measured, each run lasting until its
// CIDs run out or its time is up. A side gets as many CIDs as its rate at
// the level before, scaled by the clients, would pin in that time (rates
// grow more slowly than that), within [minRunCIDs, cids]: putting blocks
// that no run pins only costs time.
var benchLevels = []struct {
	clients int
	cids    int
	limit   time.Duration
}{
	{1, 400, 3 * time.Second},
	{16, 8000, 4 * time.Second},
	{64, 8000, 4 * time.Second},
}

const minRunCIDs = 400

// incumbentBasePort is where the ipfs-cluster peers listen, three ports
// each: the namespace is private, so fixed ports are free.
const incumbentBasePort = 19000

// pinnedWait bounds how long a side's trackers may take to pin a run's
// CIDs on its Kubos before the next run starts.
const pinnedWait = 2 * time.Minute

// benchSide is an endpoint that takes pin/add, the Kubos that end up
// holding the pins, and the processes whose CPU the pins cost.
type benchSide struct {
	name        string
	url         string
	kubos       []*kubo
	replication int
	pids        []int
	idleCPU     float64 // CPU time its daemons use per second when idle
	last        benchRun
	// profiled are admin API addresses by name, whose profiles a run
	// writes to FLOTILLA_BENCH_PROFILE's folder.
	profiled map[string]string
}

// TestPinAddComparisonInNamespace is BenchmarkPinAddVsIPFSCluster's body,
// run inside a private network namespace; it skips anywhere else.
func TestPinAddComparisonInNamespace(t *testing.T) {
	out := os.Getenv(benchResultEnv)
	if out == "" {
		t.Skip("run by BenchmarkPinAddVsIPFSCluster (make bench) inside a private network namespace")
	}
	_, ipfsBin := binaries(t)
	// FLOTILLA_BENCH_SIDES, a comma-separated list of side names, runs
	// only those: for profiling one side without waiting for the others.
	only := os.Getenv("FLOTILLA_BENCH_SIDES")
	wanted := func(name string) bool { return only == "" || slices.Contains(strings.Split(only, ","), name) }
	var sides []*benchSide
	if wanted(sideKubo) {
		solo := startKubo(t, ipfsBin)
		sides = append(sides, &benchSide{name: sideKubo, url: solo.url, kubos: []*kubo{solo}, replication: 1})
	}
	var leaderSide *benchSide
	if wanted(sideFlotilla) || wanted(sideFlotillaLeader) {
		var flotillaSide *benchSide
		flotillaSide, leaderSide = startFlotillaSides(t)
		if wanted(sideFlotilla) {
			sides = append(sides, flotillaSide)
		}
		if !wanted(sideFlotillaLeader) {
			leaderSide = nil
		}
	}
	if wanted(sideIncumbent) {
		sides = append(sides, startIncumbentSide(t, ipfsBin))
	}
	for _, s := range sides {
		s.warmUp(t)
	}
	if leaderSide != nil {
		leaderSide.warmUp(t)
	}
	var runs []benchRun
	for i, lv := range benchLevels {
		// The sides take turns going first, so that a busy moment of the
		// machine does not always fall on the same one.
		order := sides
		if len(sides) > 0 {
			order = append(slices.Clone(sides[i%len(sides):]), sides[:i%len(sides)]...)
		}
		if lv.clients == 1 && leaderSide != nil {
			order = append(order, leaderSide)
		}
		for _, s := range order {
			runs = append(runs, s.run(t, lv.clients, s.runCIDs(lv.clients, lv.cids, lv.limit), lv.limit))
			r := runs[len(runs)-1]
			t.Logf("%s c%d: %d pins (%d failed), %.0f/s, p50 %.2f ms, p99 %.2f ms, pinned after %.1fs, %.0f ms CPU", s.name, lv.clients, r.Pins, r.Errors, r.PerSec, r.P50ms, r.P99ms, r.PinnedSeconds, r.CPUms)
		}
	}
	b, err := json.Marshal(runs)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// startFlotillaSides starts three Flotilla peers that answer pin/add at
// the commit, with replication 2, and returns two sides: through a
// follower, and through the leader.
func startFlotillaSides(t *testing.T) (viaFollower, viaLeader *benchSide) {
	t.Log("starting three Flotilla peers")
	env := []string{
		"FLOTILLA_PROXY_PIN_WAIT=committed",
		"FLOTILLA_CLUSTER_REPLICATION_FACTOR_MIN=2",
		"FLOTILLA_CLUSTER_REPLICATION_FACTOR_MAX=2",
		// The defaults, as the incumbent runs with its own.
		"FLOTILLA_RAFT_HEARTBEAT_TIMEOUT=1s",
		"FLOTILLA_RAFT_ELECTION_TIMEOUT=1s",
	}
	if os.Getenv(benchProfileEnv) != "" {
		env = append(env, "FLOTILLA_API_PPROF=true")
	}
	kubos, peers := threePeersWith(t, "info", env...)
	leader, follower := flotillaRoles(t, peers)
	var pids []int
	profiled := map[string]string{}
	for _, p := range peers {
		pids = append(pids, p.cmd.Process.Pid)
		switch p {
		case leader:
			profiled["leader"] = p.api
		case follower:
			profiled["follower"] = p.api
		default:
			profiled["other"] = p.api
		}
	}
	viaFollower = &benchSide{name: sideFlotilla, url: follower.proxyURL(), kubos: kubos, replication: 2, pids: pids, profiled: profiled}
	viaLeader = &benchSide{name: sideFlotillaLeader, url: leader.proxyURL(), kubos: kubos, replication: 2, pids: pids}
	return viaFollower, viaLeader
}

// startIncumbentSide starts three ipfs-cluster peers, each in front of a
// Kubo of its own, with replication 2, and returns the side through one
// of its followers.
func startIncumbentSide(t *testing.T, ipfsBin string) *benchSide {
	t.Log("starting three ipfs-cluster peers")
	bin := incumbentBinary(t)
	var kubos []*kubo
	for range 3 {
		kubos = append(kubos, startKubo(t, ipfsBin))
	}
	peers := startIncumbentCluster(t, bin, kubos, 2, incumbentBasePort)
	var pids []int
	for _, p := range peers {
		pids = append(pids, p.cmd.Process.Pid)
	}
	return &benchSide{name: sideIncumbent, url: incumbentFollower(t, peers).proxyURL, kubos: kubos, replication: 2, pids: pids}
}

// warmUp pins a few CIDs through the side (the incumbent allocates only
// once it has heard its peers' metrics) and waits until they are held.
func (s *benchSide) warmUp(t *testing.T) {
	t.Helper()
	cids := putBlocks(t, s.kubos, 20)
	client := benchClient(1)
	held := s.countHeld(t)
	waitFor(t, s.name+" to take a pin", 60*time.Second, func() bool { return pinAdd(client, s.url, cids[0]) == nil })
	r := pinLoad(t, client, s.url, cids[1:], 1, time.Minute)
	if !s.waitHeld(t, held, r.Pins+1) {
		t.Fatalf("%s did not pin its first %d CIDs on its Kubos", s.name, r.Pins+1)
	}
	if s.pids != nil {
		// What the daemons burn doing nothing (heartbeats, Raft, metrics)
		// is not what a pin costs: runs subtract it.
		const idle = 3 * time.Second
		cpu := s.cpu(t)
		time.Sleep(idle)
		s.idleCPU = float64(s.cpu(t)-cpu) / float64(idle)
		t.Logf("%s: its daemons use %.0f ms of CPU per second idle", s.name, s.idleCPU*1000)
	}
}

// runCIDs is how many CIDs a run of the side with clients clients gets.
func (s *benchSide) runCIDs(clients, most int, limit time.Duration) int {
	if s.last.Clients == 0 {
		return most
	}
	need := s.last.PerSec * float64(clients) / float64(s.last.Clients) * limit.Seconds()
	return min(most, max(minRunCIDs, int(need)))
}

// run puts cids blocks on the side's Kubos, then pins them with clients
// concurrent clients, and waits until the side's Kubos hold them all.
func (s *benchSide) run(t *testing.T, clients, cids int, limit time.Duration) benchRun {
	t.Helper()
	began := time.Now()
	pool := putBlocks(t, s.kubos, cids)
	t.Logf("%s c%d: put %d blocks on each of its Kubos in %s", s.name, clients, cids, time.Since(began).Round(time.Millisecond))
	client := benchClient(clients)
	held := s.countHeld(t)
	cpu, kuboCPU := s.cpu(t), s.kuboCPU(t)
	start := time.Now()
	profiling := s.profile(t, clients, limit)
	r := benchRun{Side: s.name, Clients: clients, loadResult: pinLoad(t, client, s.url, pool, clients, limit)}
	// Where the machine's CPU went while the clients pinned: what is left
	// of two cores is the benchmark's own clients and everything else.
	t.Logf("%s c%d: during the %.1f s of pinning, its daemons used %.0f ms of CPU and its Kubos %.0f ms",
		s.name, clients, r.Seconds, ms(s.cpu(t)-cpu), ms(s.kuboCPU(t)-kuboCPU))
	profiling()
	if s.waitHeld(t, held, r.Pins) {
		r.PinnedSeconds = time.Since(start).Seconds()
	}
	if s.pids != nil {
		r.CPUms = ms(s.cpu(t) - cpu)
		r.IdleCPUms = s.idleCPU * float64(time.Since(start).Milliseconds())
	}
	client.CloseIdleConnections()
	s.last = r
	return r
}

// waitHeld waits until the side's Kubos hold, on top of the held
// recursive pins they had, the replication of pins more, and says whether
// they did in time.
func (s *benchSide) waitHeld(t *testing.T, held, pins int) bool {
	t.Helper()
	want := held + s.replication*pins
	deadline := time.Now().Add(pinnedWait)
	for {
		got := s.countHeld(t)
		if got >= want {
			return true
		}
		if time.Now().After(deadline) {
			t.Logf("%s: its Kubos hold %d of %d pins after %s", s.name, got, want, pinnedWait)
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *benchSide) countHeld(t *testing.T) int {
	t.Helper()
	total := 0
	for _, k := range s.kubos {
		n, err := recursivePins(k)
		if err != nil {
			t.Fatalf("pin ls on %s: %v", k.url, err)
		}
		total += n
	}
	return total
}

// benchProfileEnv names a folder: with it set, the Flotilla peers serve
// their profiles (api.pprof), and each run writes there, for each peer, a
// CPU profile of the run and the profileAfter after it, and an execution
// trace of its first two seconds
// (`go tool trace -pprof=syscall` and `=sync` show where requests wait):
// <side>-c<clients>-<leader|follower|other>.{cpu.pprof,trace}.
const benchProfileEnv = "FLOTILLA_BENCH_PROFILE"

// profileAfter is how long a CPU profile goes on after the run, while the
// trackers pin what it committed: the run waits for it (its pinned time
// says nothing then).
const profileAfter = 10 * time.Second

// profile starts taking the profiles of the side's peers for the length
// of a run, when asked to, and returns the wait for them.
func (s *benchSide) profile(t *testing.T, clients int, limit time.Duration) (wait func()) {
	dir := os.Getenv(benchProfileEnv)
	if dir == "" || len(s.profiled) == 0 {
		return func() {}
	}
	var wg sync.WaitGroup
	for role, api := range s.profiled {
		for suffix, path := range map[string]string{
			"cpu.pprof": fmt.Sprintf("/debug/pprof/profile?seconds=%d", int((limit + profileAfter).Seconds())),
			"trace":     "/debug/pprof/trace?seconds=2",
		} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := filepath.Join(dir, fmt.Sprintf("%s-c%d-%s.%s", s.name, clients, role, suffix))
				if err := download("http://"+api+path, name); err != nil {
					t.Errorf("profile of the %s: %v", role, err)
				}
			}()
		}
	}
	return wg.Wait
}

func download(url, file string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o644)
}

// flotillaRoles returns the Raft leader of the peers and one follower.
func flotillaRoles(t *testing.T, peers []*peer) (leader, follower *peer) {
	t.Helper()
	waitFor(t, "a Flotilla leader", 30*time.Second, func() bool {
		leader, follower = nil, nil
		for _, p := range peers {
			switch raftState(p) {
			case "leader":
				leader = p
			case "follower":
				follower = p
			}
		}
		return leader != nil && follower != nil
	})
	return leader, follower
}

func raftState(p *peer) string {
	resp, err := http.Get("http://" + p.api + "/id")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var id struct {
		Raft struct{ State string } `json:"raft"`
	}
	json.NewDecoder(resp.Body).Decode(&id)
	return id.Raft.State
}
