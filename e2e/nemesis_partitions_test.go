package e2e

import (
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// Network partitions between the real processes of the nemesis, in a
// netLab: on in the long form, or with FLOTILLA_NEMESIS_PARTITIONS=1.

const envNemesisPartitions = "FLOTILLA_NEMESIS_PARTITIONS"

var partitionFaults = []nemesisFault{partitionLeader, partitionFollower, unplugPeer}

// peerInLab starts peer i's Kubo and makes its daemon, not yet started, in
// its namespace of the lab, as on a machine of its own: everything on the
// namespace's loopback at the default ports, but the cluster port on the
// lab's network.
func (w *nemesisWorld) peerInLab(i int, flotillaBin, ipfsBin string, env []string) (*kubo, *peer) {
	ns := w.lab.peers[i]
	k := startKuboIn(w.t, ipfsBin, "/ip4/127.0.0.1/tcp/5001", ns)
	p := newPeer(w.t, flotillaBin, k, append(slices.Clone(env),
		"FLOTILLA_PROXY_LISTEN=127.0.0.1:9095",
		"FLOTILLA_API_LISTEN=127.0.0.1:9094",
		"FLOTILLA_CLUSTER_LISTEN="+w.lab.addr(i)+":9096",
		"FLOTILLA_PINSVC_LISTEN=127.0.0.1:9097",
	)...)
	p.netns = ns
	return k, p
}

// partitionLeader cuts the leader off: the others must elect a new one,
// and the old one must step down.
func partitionLeader(w *nemesisWorld, _ *mrand.Rand) (string, func(), bool) {
	l := w.leader()
	if l < 0 {
		return "", nil, false
	}
	w.lab.split(l)
	return fmt.Sprintf("partition leader peer%d from the others", l), w.lab.heal, true
}

// partitionFollower cuts a follower off; the leader keeps its majority.
func partitionFollower(w *nemesisWorld, rng *mrand.Rand) (string, func(), bool) {
	l := w.leader()
	if l < 0 {
		return "", nil, false
	}
	f := w.follower(l, rng)
	w.lab.split(f)
	return fmt.Sprintf("partition follower peer%d from the others", f), w.lab.heal, true
}

// unplugPeer takes a peer's network interface down, whatever its role.
func unplugPeer(w *nemesisWorld, rng *mrand.Rand) (string, func(), bool) {
	i := rng.IntN(len(w.peers))
	w.lab.unplug(i)
	return fmt.Sprintf("unplug peer%d's network", i), w.lab.heal, true
}

// provePartitionsCut shows, before the nemesis relies on them, that the
// lab's faults cut the traffic between the real processes and that healing
// restores it. It fails the test if not.
func (w *nemesisWorld) provePartitionsCut() {
	w.t.Run("a partitioned leader cannot commit and steps down; healed, it catches up", func(t *testing.T) {
		w.proveCut(t, w.waitForLeader(t), w.lab.split)
	})
	if w.t.Failed() {
		return
	}
	w.t.Run("an unplugged follower cannot commit; plugged in again, it catches up", func(t *testing.T) {
		w.proveCut(t, (w.waitForLeader(t)+1)%len(w.peers), func(i ...int) { w.lab.unplug(i[0]) })
	})
}

// proveCut cuts peer victim off with cut, then checks that a write through
// it is not acknowledged while the others elect a leader if they need one
// and commit a write of their own, which victim does not learn; once
// healed, victim learns that write and can commit again.
func (w *nemesisWorld) proveCut(t *testing.T, victim int, cut func(...int)) {
	alone := w.peers[victim]
	var majority []*peer
	for i, p := range w.peers {
		if i != victim {
			majority = append(majority, p)
		}
	}
	mine, theirs := w.proofCID(t, "through the cut-off peer"), w.proofCID(t, "through the majority")
	t.Cleanup(func() { w.unpinProof(t, mine, theirs) })
	defer w.lab.heal() // a failed check leaves the lab whole too

	cut(victim)
	cutAt := time.Now()
	after := func() time.Duration { return time.Since(cutAt).Truncate(time.Millisecond) }
	t.Logf("cut %s off", w.peerName(alone))
	// Connected, this pin is acknowledged in milliseconds; cut off, it must
	// fail, or wait until the client gives up.
	minority := make(chan error, 1)
	go func() { minority <- w.rpcWithin(alone, "pin/add", mine, cutOffCallTimeout) }()
	w.checkWithin(t, "the majority leads itself and commits", func() error {
		return w.rpc(majority[0], "pin/add", theirs)
	})
	w.checkWithin(t, "every peer of the majority applies its pin", func() error {
		for _, p := range majority {
			if _, err := w.pinOn(p, theirs); err != nil {
				return fmt.Errorf("%s: %v", w.peerName(p), err)
			}
		}
		return nil
	})
	t.Logf("%s after the cut, the majority has committed and applied its pin", after())
	if err := <-minority; err == nil {
		t.Fatalf("a pin through %s, cut off, was acknowledged: the partition does not cut", w.peerName(alone))
	} else {
		t.Logf("%s after the cut, the pin through %s has not been acknowledged: %v", after(), w.peerName(alone), err)
	}
	w.checkWithin(t, "the cut-off peer does not lead", func() error {
		if r, err := w.raftOf(alone); err != nil || r.State == "leader" {
			return fmt.Errorf("%s: state %q, %v", w.peerName(alone), r.State, err)
		}
		return nil
	})
	if _, err := w.pinOn(alone, theirs); !errors.Is(err, errNotPinned) {
		t.Fatalf("%s, cut off, knows of the majority's pin (%v): the partition does not cut", w.peerName(alone), err)
	}
	for _, p := range majority {
		if _, err := w.pinOn(p, mine); !errors.Is(err, errNotPinned) {
			t.Fatalf("%s holds the pin made through the cut-off peer (%v): the partition does not cut", w.peerName(p), err)
		}
	}
	t.Logf("%s after the cut, %s does not lead and has not seen the majority's pin", after(), w.peerName(alone))

	w.lab.heal()
	healedAt := time.Now()
	w.checkWithin(t, "the healed peer learns the majority's pin", func() error {
		_, err := w.pinOn(alone, theirs)
		return err
	})
	w.checkWithin(t, "a pin through the healed peer is acknowledged", func() error {
		return w.rpc(alone, "pin/add", mine)
	})
	t.Logf("%s after healing, %s has the majority's pin and commits its own", time.Since(healedAt).Truncate(time.Millisecond), w.peerName(alone))
}

// cutOffCallTimeout is how long a proof's client waits for a pin through a
// cut-off peer: that it is not acknowledged by then is the check.
const cutOffCallTimeout = 5 * time.Second

// waitForLeader returns the index of the peer that leads, once one does.
func (w *nemesisWorld) waitForLeader(t *testing.T) int {
	l := -1
	w.checkWithin(t, "a leader", func() error {
		if l = w.leader(); l < 0 {
			return errors.New("no peer leads")
		}
		return nil
	})
	return l
}

// checkWithin fails t unless check holds within the settle bound.
func (w *nemesisWorld) checkWithin(t *testing.T, what string, check func() error) {
	t.Helper()
	if err := w.within(check); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func (w *nemesisWorld) raftOf(p *peer) (raftInfo, error) {
	var id struct{ Raft raftInfo }
	err := w.getJSON(p, "/id", &id)
	return id.Raft, err
}

type raftInfo struct{ State, Leader string }

// proofCID adds content that only the proofs pin to every Kubo, unpinned.
func (w *nemesisWorld) proofCID(t *testing.T, what string) string {
	return addEverywhere(t, w.kubos, fmt.Sprintf("a partition proof's pin %s: %s %d", what, t.Name(), w.cfg.seed))
}

// unpinProof unpins the proofs' CIDs, so that the invariants see only the
// clients' keys and the users' pins.
func (w *nemesisWorld) unpinProof(t *testing.T, cids ...string) {
	for _, c := range cids {
		w.checkWithin(t, "the proof's unpin", func() error {
			err := w.rpc(w.peers[0], "pin/rm", c)
			if err != nil && strings.Contains(err.Error(), "not pinned") {
				return nil
			}
			return err
		})
	}
}

// partitionsOn says whether this run partitions: in the long form unless
// FLOTILLA_NEMESIS_PARTITIONS says otherwise.
func partitionsOn(t *testing.T, long bool) bool {
	switch v := strings.TrimSpace(os.Getenv(envNemesisPartitions)); v {
	case "":
		return long
	case "1", "true":
		return true
	case "0", "false":
		return false
	default:
		t.Fatalf("%s=%q: want 1 or 0", envNemesisPartitions, v)
		return false
	}
}
