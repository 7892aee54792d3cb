package robustness

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/internal/fakekubo"
	"github.com/flotilla-ipfs/flotilla/internal/harness"
)

// Environment variables of the suite (see docs/reliability.md).
const (
	envMode     = "FLOTILLA_ROBUSTNESS"          // "long" for the long form
	envSeed     = "FLOTILLA_ROBUSTNESS_SEED"     // replay one run
	envRuns     = "FLOTILLA_ROBUSTNESS_RUNS"     // long form: runs, each with its own seed
	envDuration = "FLOTILLA_ROBUSTNESS_DURATION" // how long faults are injected, per run
	envDir      = "FLOTILLA_ROBUSTNESS_DIR"      // where failing histories are written
	envStrict   = "FLOTILLA_ROBUSTNESS_STRICT"   // "1": check what open defects break, in the short form too
)

type config struct {
	peers, clients, keys int
	faults               time.Duration // how long the nemesis runs
	faultMin, faultMax   time.Duration // how long one fault lasts
	settle               time.Duration // bound on the invariants, once healed
	checkTimeout         time.Duration // bound on porcupine
	runs                 int
	strict               bool // check the invariants that open defects break
	seeds                []uint64
	dir                  string
}

func loadConfig(t *testing.T) config {
	cfg := config{peers: 3, clients: 4, keys: 8, faults: 15 * time.Second, runs: 1,
		faultMin: time.Second, faultMax: 3 * time.Second, settle: 30 * time.Second, checkTimeout: time.Minute}
	if os.Getenv(envMode) == "long" {
		cfg = config{peers: 5, clients: 6, keys: 16, faults: 3 * time.Minute, runs: 1, strict: true,
			faultMin: time.Second, faultMax: 8 * time.Second, settle: time.Minute, checkTimeout: 5 * time.Minute}
		if v := os.Getenv(envRuns); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				t.Fatalf("%s=%q: want a positive number", envRuns, v)
			}
			cfg.runs = n
		}
	}
	if v := os.Getenv(envDuration); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("%s=%q: %v", envDuration, v, err)
		}
		cfg.faults = d
	}
	if v := os.Getenv(envSeed); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", envSeed, v, err)
		}
		cfg.seeds = []uint64{s}
	} else {
		for range cfg.runs {
			cfg.seeds = append(cfg.seeds, rand.Uint64())
		}
	}
	if os.Getenv(envStrict) == "1" {
		cfg.strict = true
	}
	cfg.dir = os.Getenv(envDir)
	if cfg.dir == "" {
		cfg.dir = filepath.Join(os.TempDir(), "flotilla-robustness")
	}
	return cfg
}

// TestRobustness runs clients against an in-process cluster while a nemesis
// kills peers, partitions the network and breaks the IPFS nodes, then heals
// everything and checks the history (porcupine) and the invariants. See
// model.go for what the history check proves, and invariants_test.go for
// the rest.
func TestRobustness(t *testing.T) {
	if testing.Short() {
		t.Skip("a cluster under faults for tens of seconds: not a unit test (-short)")
	}
	cfg := loadConfig(t)
	for _, seed := range cfg.seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Logf("seed %d: replay with %s=%d (the fault schedule and the clients' choices replay; thread timing does not)", seed, envSeed, seed)
			runOnce(t, cfg, seed)
		})
	}
}

// world is one run: the cluster, its keys, the user's own pins and the
// history.
type world struct {
	t        *testing.T
	cfg      config
	c        *harness.Cluster
	rec      *Recorder
	keys     []cid.Cid
	barrier  cid.Cid
	names    map[string]string // peer ID -> "peer<i>"
	userPins []userPin
}

// userPin is a pin a user made on one Kubo behind Flotilla's back.
type userPin struct {
	peer  *harness.Peer
	cid   cid.Cid
	mode  string
	inKey bool // the cluster's clients pin and unpin it too
}

func runOnce(t *testing.T, cfg config, seed uint64) {
	start := time.Now()
	c := harness.New(t, cfg.peers, harness.Options{Voters: min(cfg.peers, 5), RepinDelay: 500 * time.Millisecond,
		LogLevel: zerolog.ErrorLevel})
	w := &world{t: t, cfg: cfg, c: c, rec: NewRecorder(), names: map[string]string{}, barrier: testCid("barrier")}
	for i, p := range c.Peers {
		w.names[p.ID] = fmt.Sprintf("peer%d", i)
	}
	for i := range cfg.keys {
		w.keys = append(w.keys, testCid(fmt.Sprintf("key %d", i)))
	}
	c.Provide(append([]cid.Cid{w.barrier}, w.keys...)...)
	w.makeUserPins()
	t.Logf("cluster of %d up in %s; %d clients on %d keys, faults for %s", cfg.peers, time.Since(start).Round(time.Millisecond), cfg.clients, cfg.keys, cfg.faults)

	// The clients and the IPFS nemesis run beside the test goroutine. They
	// stop when the faults are over, or at cleanup if the test fails first
	// (before the harness stops the peers: cleanups run last first).
	stop := make(chan struct{})
	var wg sync.WaitGroup
	end := sync.OnceFunc(func() { close(stop); wg.Wait() })
	t.Cleanup(end)
	for i := range cfg.clients {
		cl := &client{w: w, id: w.rec.NewClient(), rng: rand.New(rand.NewPCG(seed, uint64(i)+1)), name: fmt.Sprintf("c%d", i)}
		wg.Go(func() { cl.run(stop) })
	}
	n := &nemesis{w: w, rng: rand.New(rand.NewPCG(seed, 0))}
	wg.Go(func() { n.ipfsFaults(rand.New(rand.NewPCG(seed, 1<<32)), stop) })
	n.clusterFaults(time.Now().Add(cfg.faults))
	end()
	w.healAll()
	counts, unknown := w.rec.Counts()
	t.Logf("faults over after %s: %d pins, %d unpins, %d reads; %d writes with unknown outcome", time.Since(start).Round(time.Millisecond), counts[Pin], counts[Unpin], counts[Read], unknown)

	w.finalReads()
	res, err := w.rec.Check(cfg.checkTimeout, cfg.dir, fmt.Sprintf("history-seed-%d", seed))
	switch {
	case err != nil:
		t.Errorf("porcupine %s; writing the visualization: %v", res.Verdict, err)
	case res.Verdict == porcupine.Unknown:
		t.Errorf("porcupine did not decide within %s, seed %d; visualization of the history: %s", cfg.checkTimeout, seed, res.File)
	case res.Verdict != porcupine.Ok:
		t.Errorf("the history is not linearizable, seed %d; visualization: %s", seed, res.File)
		w.logPeers()
	default:
		t.Logf("history linearizable (%d operations)", len(w.rec.Operations()))
	}
	w.checkInvariants()
	t.Logf("run done in %s", time.Since(start).Round(time.Millisecond))
}

func testCid(s string) cid.Cid {
	mh, _ := multihash.Sum([]byte("robustness "+s), multihash.SHA2_256, -1)
	return cid.NewCidV1(cid.Raw, mh)
}

// makeUserPins pins, on each Kubo, one CID the cluster never touches and
// one of the cluster's keys, alternating direct and recursive.
func (w *world) makeUserPins() {
	for i, p := range w.c.Peers {
		mode := fakekubo.Direct
		if i%2 == 1 {
			mode = fakekubo.Recursive
		}
		own := testCid(fmt.Sprintf("user %d", i))
		key := w.keys[i%len(w.keys)]
		p.Kubo.PinDirect(own, mode)
		p.Kubo.PinDirect(key, mode)
		w.userPins = append(w.userPins, userPin{peer: p, cid: own, mode: mode}, userPin{peer: p, cid: key, mode: mode, inKey: true})
	}
}

// healAll ends every fault the nemesis may have left and waits until every
// peer runs and a leader leads them all.
func (w *world) healAll() {
	w.c.HealPartition()
	for _, p := range w.c.Peers {
		w.c.Heal(p)
		if p.Node == nil {
			w.c.Restart(p)
		}
	}
	w.c.WaitFor("every peer ready under one leader", func() bool {
		l := w.c.Leader()
		if l == nil {
			return false
		}
		for _, p := range w.c.Alive() {
			if p.Node.Ready() != nil || p.Node.RaftInfo().Leader != l.ID {
				return false
			}
		}
		return len(w.c.Alive()) == len(w.c.Peers)
	})
}

// finalReads reads every key on every peer after a barrier through it:
// linearizable reads, so the history must explain the final state.
func (w *world) finalReads() {
	for _, p := range w.c.Alive() {
		id := w.rec.NewClient()
		name := w.names[p.ID]
		w.c.WaitFor("a barrier through "+name, func() bool {
			call := w.rec.Begin(name)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := p.Node.Pin(ctx, w.barrierPin(id))
			w.rec.Barrier(call, err)
			return err == nil
		})
		for k, c := range w.keys {
			call := w.rec.Begin(name)
			got, err := read(p, c)
			if err != nil {
				w.t.Fatalf("final read of key %d on %s: %v", k, name, err)
			}
			w.rec.Read(call, id, k, got)
		}
	}
}

// logPeers says where each peer's Raft stands and what it holds for each
// key, for a history that is not linearizable: a peer that differs names
// itself.
func (w *world) logPeers() {
	for _, p := range w.c.Alive() {
		ri := p.Node.RaftInfo()
		var held []string
		for k, c := range w.keys {
			name, err := read(p, c)
			if err != nil {
				name = err.Error()
			}
			held = append(held, fmt.Sprintf("k%d=%s", k, name))
		}
		w.t.Logf("%s: %s term %d commit %d applied %d: %v", w.names[p.ID], ri.State, ri.Term, ri.CommitIndex, ri.AppliedIndex, held)
	}
}
