package e2e

import (
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The real-process half of the robustness suite (docs/reliability.md, "Real
// processes"): clients pin and unpin through the proxies of three real
// flotilla daemons, each in front of its own real Kubo, while a seeded
// nemesis kills, freezes and restarts them and their Kubos, and, with
// partitions on, cuts the network between them (nemesis_partitions_test.go).
// Once everything is healed, the invariants must hold within a bound.
//
// Every key is owned by one client, which runs one call at a time on it, so
// the key's expected state is what that client's last acknowledged call
// left. A call that was not acknowledged (an error, a timeout, a non-200) is
// retried, through any peer, until it is: the key's state is then well
// defined without a linearizability checker. This assumes that a call that
// failed takes effect, if ever, before the same client's next acknowledged
// call on that key; the in-process suite, checked with porcupine, does not
// assume it. A failure message lists a key's unacknowledged calls so that a
// late write can be told apart.

const (
	envNemesisSeed     = "FLOTILLA_NEMESIS_SEED"
	envNemesisDuration = "FLOTILLA_NEMESIS_DURATION"
	envRobustnessMode  = "FLOTILLA_ROBUSTNESS"
	envRobustnessStict = "FLOTILLA_ROBUSTNESS_STRICT"
)

type nemesisConfig struct {
	seed               uint64
	long, strict       bool
	keys, clients      int
	faults             time.Duration // how long faults are injected
	faultMin, faultMax time.Duration // how long one fault lasts
	settle             time.Duration // the bound on each invariant
	callTimeout        time.Duration
	partitions         bool // faults include network partitions (a netLab)
	powerCuts          bool // faults include power cuts (nemesis_powercut_test.go)
}

func newNemesisConfig(t *testing.T) nemesisConfig {
	cfg := nemesisConfig{
		long: os.Getenv(envRobustnessMode) == "long", strict: os.Getenv(envRobustnessStict) != "",
		keys: 8, clients: 4, faults: 30 * time.Second,
		faultMin: time.Second, faultMax: 4 * time.Second,
		settle: 60 * time.Second, callTimeout: 20 * time.Second,
	}
	if cfg.long {
		cfg.strict = true
		cfg.keys, cfg.faults, cfg.faultMax, cfg.settle = 16, 5*time.Minute, 10*time.Second, 2*time.Minute
	}
	cfg.partitions = partitionsOn(t, cfg.long)
	cfg.powerCuts = powerCutsOn(t)
	if d := os.Getenv(envNemesisDuration); d != "" {
		v, err := time.ParseDuration(d)
		if err != nil {
			t.Fatalf("%s=%q: %v", envNemesisDuration, d, err)
		}
		cfg.faults = v
	}
	cfg.seed = uint64(time.Now().UnixNano())
	if s := os.Getenv(envNemesisSeed); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", envNemesisSeed, s, err)
		}
		cfg.seed = v
	}
	return cfg
}

type nemesisWorld struct {
	t     *testing.T
	cfg   nemesisConfig
	start time.Time
	kubos []*kubo
	peers []*peer
	ids   []string // flotilla peer IDs, in peer order
	keys  []string
	owned []*keyState // per key
	// baseline is each Kubo's pins before the run: its user's, and what
	// Kubo pins itself (the empty directory, on a fresh repo).
	baseline []map[string]string
	lab      *netLab     // the peers' network, when partitions are on
	disks    []*peerDisk // the peers' disks, in peer order, when power cuts are on
}

// keyState is what its owning client saw of one key.
type keyState struct {
	mu         sync.Mutex
	acked      int    // acknowledged calls
	pinned     bool   // the state its last acknowledged call left
	unresolved string // a call never acknowledged, even by its retries
	failed     []string
}

func TestNemesisRealProcesses(t *testing.T) {
	cfg := newNemesisConfig(t)
	w := &nemesisWorld{t: t, cfg: cfg}
	w.setup()
	t.Logf("seed %d: replay with %s=%d (faults for %s; partitions: %v; power cuts: %v)", cfg.seed, envNemesisSeed, cfg.seed, cfg.faults, cfg.partitions, cfg.powerCuts)
	if w.lab != nil {
		w.provePartitionsCut()
		if t.Failed() {
			w.saveLogs()
			return
		}
	}
	w.start = time.Now()
	until := w.start.Add(cfg.faults)
	var wg sync.WaitGroup
	for i := range cfg.clients {
		wg.Add(1)
		go func() { defer wg.Done(); w.runClient(i, until) }()
	}
	w.runNemesis(until)
	t.Logf("faults healed at %s; waiting for the clients", w.since())
	wg.Wait()
	acked, failed, pinned := 0, 0, 0
	for _, ks := range w.owned {
		acked, failed = acked+ks.acked, failed+len(ks.failed)
		if ks.pinned {
			pinned++
		}
	}
	t.Logf("clients done at %s: %d calls acknowledged, %d not (retried); %d of %d keys pinned", w.since(), acked, failed, pinned, len(w.keys))
	w.waitForCluster()
	if t.Failed() {
		return
	}
	w.checkInvariants()
	if t.Failed() {
		w.saveLogs()
	}
}

// setup starts three Kubos and three peers on fixed ports, so that each
// comes back at the same address after a restart (each pair in a namespace
// of its own when partitions are on); adds the keys' content to every Kubo
// unpinned; and makes the users' own pins.
func (w *nemesisWorld) setup() {
	t := w.t
	flotillaBin, ipfsBin := binaries(t)
	env := append(append(clusterSecrets(),
		"FLOTILLA_CLUSTER_REPLICATION_FACTOR_MIN=2",
		"FLOTILLA_CLUSTER_REPLICATION_FACTOR_MAX=2",
	), fastHealth...)
	if w.cfg.partitions {
		w.lab = newNetLab(t, 3)
	}
	for i := range 3 {
		var k *kubo
		var p *peer
		bin, diskEnv := w.peerDisk(i, flotillaBin)
		peerEnv := append(slices.Clone(env), diskEnv...)
		if w.lab != nil {
			k, p = w.peerInLab(i, bin, ipfsBin, peerEnv)
		} else {
			k = startKuboAt(t, ipfsBin, fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", freePort(t)))
			p = newPeer(t, bin, k, append(peerEnv,
				fmt.Sprintf("FLOTILLA_PROXY_LISTEN=127.0.0.1:%d", freePort(t)),
				fmt.Sprintf("FLOTILLA_API_LISTEN=127.0.0.1:%d", freePort(t)),
				fmt.Sprintf("FLOTILLA_CLUSTER_LISTEN=127.0.0.1:%d", freePort(t)),
				fmt.Sprintf("FLOTILLA_PINSVC_LISTEN=127.0.0.1:%d", freePort(t)),
			)...)
		}
		if i == 0 {
			p.start()
		} else {
			p.start("--bootstrap", w.peers[0].clust)
		}
		w.kubos, w.peers = append(w.kubos, k), append(w.peers, p)
	}
	waitFor(t, "three peers in the cluster", 60*time.Second, func() bool { return len(peerIDs(t, w.peers[0])) == 3 })
	for _, p := range w.peers {
		var id struct{ ID string }
		if err := w.getJSON(p, "/id", &id); err != nil || id.ID == "" {
			t.Fatalf("GET /id: %v", err)
		}
		w.ids = append(w.ids, id.ID)
	}
	for i := range w.cfg.keys {
		w.keys = append(w.keys, addEverywhere(t, w.kubos, fmt.Sprintf("nemesis key %d %d", i, w.cfg.seed)))
		w.owned = append(w.owned, &keyState{})
	}
	// Each user pins one key directly, another recursively, and a CID of
	// their own that the cluster never pins.
	for j, k := range w.kubos {
		k.run("--api", k.api, "pin", "add", "--recursive=false", w.keys[j])
		k.run("--api", k.api, "pin", "add", w.keys[j+3])
		k.run("--api", k.api, "add", "-Q", writeFile(t, []byte(fmt.Sprintf("user %d's own file", j))))
		w.baseline = append(w.baseline, k.pinned())
	}
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (w *nemesisWorld) since() string {
	return time.Since(w.start).Truncate(time.Millisecond).String()
}

func (w *nemesisWorld) getJSON(p *peer, path string, v any) error {
	c := http.Client{Timeout: 2 * time.Second, Transport: p.client().Transport}
	resp, err := c.Get("http://" + p.api + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// runClient pins and unpins its own keys (key i belongs to client
// i % clients) through random peers until the faults end, then resolves
// its last call.
func (w *nemesisWorld) runClient(n int, until time.Time) {
	rng := mrand.New(mrand.NewPCG(w.cfg.seed, uint64(n)+1))
	var mine []int
	for i := n; i < len(w.keys); i += w.cfg.clients {
		mine = append(mine, i)
	}
	if len(mine) == 0 {
		return
	}
	giveUp := until.Add(w.cfg.settle)
	for time.Now().Before(until) {
		i := mine[rng.IntN(len(mine))]
		ks := w.owned[i]
		ks.mu.Lock()
		pin := !ks.pinned || rng.IntN(3) == 0 // mostly toggles; sometimes pins again
		ks.mu.Unlock()
		w.call(rng, n, i, pin, giveUp)
		time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond)
	}
}

// call makes one pin or unpin of key i, through a random peer, retrying it
// until it is acknowledged or giveUp.
func (w *nemesisWorld) call(rng *mrand.Rand, client, i int, pin bool, giveUp time.Time) {
	ks := w.owned[i]
	verb := map[bool]string{true: "pin/add", false: "pin/rm"}[pin]
	for try := 0; ; try++ {
		p := w.peers[rng.IntN(len(w.peers))]
		start := w.since()
		err := w.rpc(p, verb, w.keys[i])
		// An unpin retried after a failure that took effect finds nothing to
		// unpin: that answer acknowledges the state it asked for.
		if err != nil && !pin && try > 0 && strings.Contains(err.Error(), "not pinned") {
			err = nil
		}
		ks.mu.Lock()
		if err == nil {
			ks.acked++
			ks.pinned = pin
			ks.unresolved = ""
			ks.mu.Unlock()
			return
		}
		desc := fmt.Sprintf("client %d %s through %s [%s–%s]: %v", client, verb, w.peerName(p), start, w.since(), err)
		ks.failed = append(ks.failed, desc)
		ks.unresolved = desc
		ks.mu.Unlock()
		if time.Now().After(giveUp) {
			return
		}
		time.Sleep(200*time.Millisecond + time.Duration(rng.IntN(800))*time.Millisecond)
	}
}

// rpc calls the Kubo RPC through a peer's proxy with raw HTTP (the ipfs CLI
// makes requests of its own first) and returns an error unless it is a 200.
func (w *nemesisWorld) rpc(p *peer, verb, c string) error {
	return w.rpcWithin(p, verb, c, w.cfg.callTimeout)
}

// rpcWithin is rpc that gives up after timeout.
func (w *nemesisWorld) rpcWithin(p *peer, verb, c string, timeout time.Duration) error {
	hc := http.Client{Timeout: timeout, Transport: p.client().Transport}
	resp, err := hc.Post(p.proxyURL()+"/api/v0/"+verb+"?arg="+c, "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct{ Message string }
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, body.Message)
	}
	return nil
}

func (w *nemesisWorld) peerName(p *peer) string {
	return fmt.Sprintf("peer%d", slices.Index(w.peers, p))
}

// waitForCluster waits, after the faults, for every peer to run, to know
// three members and to agree on a leader.
func (w *nemesisWorld) waitForCluster() {
	w.settleWithin("every peer up under one leader", func() error {
		leader := ""
		for i, p := range w.peers {
			var id struct {
				ClusterPeers []string `json:"cluster_peers"`
				Raft         struct{ Leader string }
			}
			if err := w.getJSON(p, "/id", &id); err != nil {
				return fmt.Errorf("peer%d: %v", i, err)
			}
			if len(id.ClusterPeers) != 3 || id.Raft.Leader == "" || (leader != "" && id.Raft.Leader != leader) {
				return fmt.Errorf("peer%d sees members %v, leader %q", i, id.ClusterPeers, id.Raft.Leader)
			}
			leader = id.Raft.Leader
		}
		return nil
	})
}

// settleWithin fails the test unless check holds within the settle bound.
func (w *nemesisWorld) settleWithin(what string, check func() error) {
	w.t.Helper()
	if err := w.within(check); err != nil {
		w.t.Fatalf("%s: %v", what, err)
	}
}

// within waits until check returns nil, for at most the settle bound, and
// returns its last error if it never did.
func (w *nemesisWorld) within(check func() error) error {
	deadline := time.Now().Add(w.cfg.settle)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s (seed %d); still wrong: %w", w.cfg.settle, w.cfg.seed, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// saveLogs writes every peer's log where it outlives the test.
func (w *nemesisWorld) saveLogs() {
	dir := filepath.Join(os.TempDir(), "flotilla-nemesis", fmt.Sprint("seed-", w.cfg.seed))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		w.t.Log(err)
		return
	}
	for i, p := range w.peers {
		if p.logs != nil {
			os.WriteFile(filepath.Join(dir, fmt.Sprintf("peer%d.log", i)), []byte(p.logs.String()), 0o644)
		}
	}
	w.t.Logf("the peers' logs are in %s", dir)
}

// signal sends sig to a running peer; a frozen one is woken by the
// cleanup, so that its SIGTERM is heard.
func (p *peer) signal(sig syscall.Signal) {
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Signal(sig)
	}
}
