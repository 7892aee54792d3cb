package robustness

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/flotilla-ipfs/flotilla/internal/harness"
)

// nemesis injects one cluster fault at a time from the test goroutine (Kill
// and Restart may fail the test), and IPFS faults from another goroutine,
// each for a random bounded time. Every fault is healed before the next.
//
// Kill is the harness's: Node.Close without leaving the cluster. In one
// process that is as close to kill -9 as it gets: the peer stops answering
// at once and keeps its data folder, but its files are closed cleanly.
type nemesis struct {
	w   *world
	rng *rand.Rand
}

// fault applies itself and returns what it did and how to undo it, or ok
// false when it does not apply now (no leader, say).
type fault func(n *nemesis) (what string, heal func(), ok bool)

var clusterFaults = []fault{killLeader, killFollower, isolateOne, partitionLeaderInMinority, partitionLeaderInMajority}

func (n *nemesis) clusterFaults(until time.Time) {
	for time.Now().Before(until) {
		n.pause(200*time.Millisecond, time.Second)
		f := clusterFaults[n.rng.IntN(len(clusterFaults))]
		what, heal, ok := f(n)
		if !ok {
			continue
		}
		n.hold("nemesis", what, heal)
	}
}

// hold keeps a fault on for a random bounded time, then heals it, and
// records both in the log and the history's annotations.
func (n *nemesis) hold(tag, what string, heal func()) {
	start := n.w.rec.Now()
	n.w.t.Logf("%s: %s at %s", tag, what, ms(start))
	n.pause(n.w.cfg.faultMin, n.w.cfg.faultMax)
	heal()
	end := n.w.rec.Now()
	n.w.t.Logf("%s: healed %s at %s", tag, what, ms(end))
	n.w.rec.Annotate(tag, start, end, what)
}

// pause waits a random time in [lo, hi): the fault's length or the gap
// between faults, which is what the nemesis is about, not a wait for state.
func (n *nemesis) pause(lo, hi time.Duration) {
	time.Sleep(lo + time.Duration(n.rng.Int64N(int64(hi-lo))))
}

func (n *nemesis) name(p *harness.Peer) string { return n.w.names[p.ID] }

// followers are the running peers that do not lead, in peer order.
func (n *nemesis) followers(leader *harness.Peer) []*harness.Peer {
	var out []*harness.Peer
	for _, p := range n.w.c.Peers {
		if p != leader && p.Node != nil {
			out = append(out, p)
		}
	}
	return out
}

func (n *nemesis) pick(ps []*harness.Peer) *harness.Peer { return ps[n.rng.IntN(len(ps))] }

func (n *nemesis) kill(p *harness.Peer, role string) (string, func(), bool) {
	n.w.c.Kill(p)
	return fmt.Sprintf("kill %s %s", role, n.name(p)), func() { n.w.c.Restart(p) }, true
}

// leader is the harness's Peer (not a copy) that leads now, or nil.
func (n *nemesis) leader() *harness.Peer {
	l := n.w.c.Leader()
	if l == nil {
		return nil
	}
	for _, p := range n.w.c.Peers {
		if p.ID == l.ID {
			return p
		}
	}
	return nil
}

func killLeader(n *nemesis) (string, func(), bool) {
	l := n.leader()
	if l == nil {
		return "", nil, false
	}
	return n.kill(l, "leader")
}

func killFollower(n *nemesis) (string, func(), bool) {
	fs := n.followers(n.leader())
	if len(fs) == 0 {
		return "", nil, false
	}
	return n.kill(n.pick(fs), "follower")
}

func isolateOne(n *nemesis) (string, func(), bool) {
	p := n.pick(n.w.c.Peers)
	n.w.c.Cut(p)
	return fmt.Sprintf("isolate %s", n.name(p)), func() { n.w.c.Heal(p) }, true
}

// partition splits the peers in two with the leader on the minority side
// (a new leader must be elected) or on the majority side (the minority
// must fail its writes and catch up after).
func (n *nemesis) partition(leaderInMinority bool) (string, func(), bool) {
	l := n.leader()
	if l == nil {
		return "", nil, false
	}
	others := n.followers(l)
	n.rng.Shuffle(len(others), func(i, j int) { others[i], others[j] = others[j], others[i] })
	size := (len(n.w.c.Peers) - 1) / 2 // the largest minority
	var minority, majority []*harness.Peer
	if leaderInMinority {
		minority = append([]*harness.Peer{l}, others[:min(size-1, len(others))]...)
		majority = others[len(minority)-1:]
	} else {
		minority = others[:min(size, len(others))]
		majority = append([]*harness.Peer{l}, others[len(minority):]...)
	}
	n.w.c.Partition(minority, majority)
	return fmt.Sprintf("partition %s | %s", n.names(minority), n.names(majority)), n.w.c.HealPartition, true
}

func (n *nemesis) names(ps []*harness.Peer) string {
	s := ""
	for i, p := range ps {
		if i > 0 {
			s += ","
		}
		s += n.name(p)
	}
	return "{" + s + "}"
}

func partitionLeaderInMinority(n *nemesis) (string, func(), bool) { return n.partition(true) }
func partitionLeaderInMajority(n *nemesis) (string, func(), bool) { return n.partition(false) }

// ipfsFaults breaks one peer's Kubo at a time until stop: down, slow, 500s
// on pin and unpin, a pin that hangs after its first progress line, and
// IsPinned (pin/ls) failing.
func (n *nemesis) ipfsFaults(rng *rand.Rand, stop <-chan struct{}) {
	m := &nemesis{w: n.w, rng: rng}
	for {
		m.pause(200*time.Millisecond, 1500*time.Millisecond)
		select {
		case <-stop:
			return
		default:
		}
		p := m.pick(m.w.c.Peers)
		k := p.Kubo
		var what string
		var heal func()
		switch rng.IntN(5) {
		case 0:
			k.SetDown(true)
			what, heal = "down", func() { k.SetDown(false) }
		case 1:
			d := time.Duration(100+rng.IntN(700)) * time.Millisecond
			for _, ep := range []string{"pin/add", "pin/rm", "pin/ls"} {
				k.SetDelay(ep, d)
			}
			what = fmt.Sprintf("slow (%s per call)", d)
			heal = func() {
				for _, ep := range []string{"pin/add", "pin/rm", "pin/ls"} {
					k.SetDelay(ep, 0)
				}
			}
		case 2:
			k.FailAll("pin/add", "injected: 500 on pin/add")
			k.FailAll("pin/rm", "injected: 500 on pin/rm")
			what, heal = "500s on pin/add and pin/rm", func() { k.ClearFail("pin/add"); k.ClearFail("pin/rm") }
		case 3:
			what, heal = "pin/add hangs after its first line", k.PauseAfter("pin/add", 1)
		case 4:
			k.FailAll("pin/ls", "injected: 500 on pin/ls")
			what, heal = "IsPinned (pin/ls) fails", func() { k.ClearFail("pin/ls") }
		}
		m.hold("ipfs", fmt.Sprintf("kubo of %s %s", m.name(p), what), heal)
	}
}
