package e2e

import (
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"syscall"
	"time"
)

// A fault applies itself and returns what it did and how to undo it, or ok
// false when it does not apply now (no leader, say).
type nemesisFault func(w *nemesisWorld, rng *mrand.Rand) (what string, heal func(), ok bool)

var nemesisFaults = []nemesisFault{killLeader, killFollower, freezePeer, stopKubo, killKubo}

// runNemesis applies one fault at a time from the test goroutine (a restart
// may fail the test), each for a random bounded time, until until; every
// fault is healed before the next. The seed fixes the schedule: which fault,
// on which role, for how long, with which gaps; not who happens to lead.
func (w *nemesisWorld) runNemesis(until time.Time) {
	// A test that fails while a peer is frozen must wake it for its
	// SIGTERM, and one that fails in a partition must heal it, so that the
	// peers stop as they would; this cleanup runs before the peers' own.
	w.t.Cleanup(func() {
		for _, p := range w.peers {
			p.signal(syscall.SIGCONT)
		}
		if w.lab != nil {
			w.lab.heal()
		}
	})
	faults := nemesisFaults
	if w.lab != nil {
		faults = append(slices.Clone(faults), partitionFaults...)
	}
	if w.disks != nil {
		faults = append(slices.Clone(faults), powerCutPeer, powerCutAll)
	}
	rng := mrand.New(mrand.NewPCG(w.cfg.seed, 0))
	for time.Now().Before(until) {
		pause(rng, 200*time.Millisecond, time.Second)
		f := faults[rng.IntN(len(faults))]
		what, heal, ok := f(w, rng)
		if !ok {
			continue
		}
		w.t.Logf("nemesis: %s at %s", what, w.since())
		pause(rng, w.cfg.faultMin, w.cfg.faultMax)
		heal()
		w.t.Logf("nemesis: healed %s at %s", what, w.since())
	}
}

// pause waits a random time in [lo, hi): a fault's length or the gap
// between faults, which is what the nemesis is about, not a wait for state.
func pause(rng *mrand.Rand, lo, hi time.Duration) {
	time.Sleep(lo + time.Duration(rng.Int64N(int64(hi-lo))))
}

// leader is the index of the peer that says it leads, or -1.
func (w *nemesisWorld) leader() int {
	for i, p := range w.peers {
		var id struct{ Raft struct{ State string } }
		if p.cmd != nil && w.getJSON(p, "/id", &id) == nil && id.Raft.State == "leader" {
			return i
		}
	}
	return -1
}

func (w *nemesisWorld) kill(i int, role string) (string, func(), bool) {
	p := w.peers[i]
	p.kill()
	return fmt.Sprintf("kill -9 %s peer%d", role, i), func() { p.start() }, true
}

func killLeader(w *nemesisWorld, _ *mrand.Rand) (string, func(), bool) {
	l := w.leader()
	if l < 0 {
		return "", nil, false
	}
	return w.kill(l, "leader")
}

func killFollower(w *nemesisWorld, rng *mrand.Rand) (string, func(), bool) {
	l := w.leader()
	if l < 0 {
		return "", nil, false
	}
	return w.kill(w.follower(l, rng), "follower")
}

// follower draws one of the peers that leader l leads: followers in peer
// order, so that the draw happens whoever leads.
func (w *nemesisWorld) follower(l int, rng *mrand.Rand) int {
	return (l + 1 + rng.IntN(len(w.peers)-1)) % len(w.peers)
}

// freezePeer stops a peer with SIGSTOP: it holds its connections open and
// answers nothing, unlike a dead one, until SIGCONT.
func freezePeer(w *nemesisWorld, rng *mrand.Rand) (string, func(), bool) {
	i := rng.IntN(len(w.peers))
	p := w.peers[i]
	p.signal(syscall.SIGSTOP)
	return fmt.Sprintf("SIGSTOP peer%d", i), func() { p.signal(syscall.SIGCONT) }, true
}

// stopKubo stops a Kubo cleanly; it comes back on the same port.
func stopKubo(w *nemesisWorld, rng *mrand.Rand) (string, func(), bool) {
	i := rng.IntN(len(w.kubos))
	k := w.kubos[i]
	k.stop()
	return fmt.Sprintf("stop kubo%d", i), k.start, true
}

// killKubo ends a Kubo with SIGKILL, in the middle of whatever it does.
func killKubo(w *nemesisWorld, rng *mrand.Rand) (string, func(), bool) {
	i := rng.IntN(len(w.kubos))
	k := w.kubos[i]
	k.cmd.Process.Kill()
	k.cmd.Wait()
	k.cmd = nil
	return fmt.Sprintf("kill -9 kubo%d", i), k.start, true
}
