package robustness

import (
	"errors"
	"os"
	"testing"

	"github.com/anishathalye/porcupine"
)

// These tests pin down what the checker accepts and rejects, on histories
// made by hand: a checker that accepts everything would pass every run.

var errLost = errors.New("the peer did not answer")

func check(t *testing.T, r *Recorder) Result {
	t.Helper()
	res, err := r.Check(0, t.TempDir(), "history")
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func pinOp(r *Recorder, peer string, key int, name string, err error) {
	r.Write(r.Begin(peer), 0, Input{Kind: Pin, Key: key, Value: name}, err)
}

func unpinOp(r *Recorder, peer string, key int, err error) {
	r.Write(r.Begin(peer), 0, Input{Kind: Unpin, Key: key}, err)
}

func readOp(r *Recorder, peer string, key int, saw string) {
	r.Read(r.Begin(peer), 0, key, saw)
}

func barrier(r *Recorder, peer string) { r.Barrier(r.Begin(peer), nil) }

func TestCheckAcceptsASequentialHistory(t *testing.T) {
	r := NewRecorder()
	pinOp(r, "p0", 1, "w1", nil)
	barrier(r, "p0")
	readOp(r, "p0", 1, "w1")
	unpinOp(r, "p1", 1, nil)
	barrier(r, "p1")
	readOp(r, "p1", 1, "")
	if res := check(t, r); res.Verdict != porcupine.Ok {
		t.Fatalf("verdict %s", res.Verdict)
	}
}

func TestCheckAllowsAStaleReadOnAnotherPeer(t *testing.T) {
	r := NewRecorder()
	pinOp(r, "p0", 1, "w1", nil)
	readOp(r, "p1", 1, "") // p1 has acknowledged nothing: it may lag
	if res := check(t, r); res.Verdict != porcupine.Ok {
		t.Fatalf("verdict %s", res.Verdict)
	}
}

func TestCheckRejectsAReadAfterABarrierThatMissesAnAcknowledgedPin(t *testing.T) {
	r := NewRecorder()
	pinOp(r, "p0", 1, "w1", nil)
	barrier(r, "p1")
	readOp(r, "p1", 1, "")
	res := check(t, r)
	if res.Verdict != porcupine.Illegal {
		t.Fatalf("verdict %s, want Illegal", res.Verdict)
	}
	if _, err := os.Stat(res.File); err != nil {
		t.Fatalf("no visualization: %v", err)
	}
}

func TestCheckRejectsAnUnpinnedKeyComingBack(t *testing.T) {
	r := NewRecorder()
	pinOp(r, "p0", 1, "w1", nil)
	unpinOp(r, "p0", 1, nil)
	barrier(r, "p2")
	readOp(r, "p2", 1, "w1")
	if res := check(t, r); res.Verdict != porcupine.Illegal {
		t.Fatalf("verdict %s, want Illegal", res.Verdict)
	}
}

func TestCheckRejectsAWriteTakingEffectTwice(t *testing.T) {
	// A pin seen, removed by an acknowledged unpin, then seen again with no
	// new pin: the first write landed twice (a retried forward, say).
	r := NewRecorder()
	c := r.Begin("p0")
	barrier(r, "p1")
	readOp(r, "p1", 1, "w1")
	unpinOp(r, "p1", 1, nil)
	barrier(r, "p1")
	readOp(r, "p1", 1, "w1")
	r.Write(c, 0, Input{Kind: Pin, Key: 1, Value: "w1"}, nil)
	if res := check(t, r); res.Verdict != porcupine.Illegal {
		t.Fatalf("verdict %s, want Illegal", res.Verdict)
	}
}

func TestCheckLetsAFailedWriteLandOrNot(t *testing.T) {
	for _, saw := range []string{"w1", ""} {
		r := NewRecorder()
		pinOp(r, "p0", 1, "w1", errLost)
		barrier(r, "p1")
		readOp(r, "p1", 1, saw)
		if res := check(t, r); res.Verdict != porcupine.Ok {
			t.Fatalf("read saw %q: verdict %s", saw, res.Verdict)
		}
	}
	// But once it was seen, it cannot be unseen without another write.
	r := NewRecorder()
	pinOp(r, "p0", 1, "w1", errLost)
	barrier(r, "p1")
	readOp(r, "p1", 1, "w1")
	barrier(r, "p1")
	readOp(r, "p1", 1, "")
	if res := check(t, r); res.Verdict != porcupine.Illegal {
		t.Fatalf("verdict %s, want Illegal", res.Verdict)
	}
}

func TestCheckKeepsKeysApart(t *testing.T) {
	r := NewRecorder()
	pinOp(r, "p0", 1, "w1", nil)
	pinOp(r, "p0", 2, "w2", nil)
	barrier(r, "p0")
	readOp(r, "p0", 1, "w1")
	readOp(r, "p0", 2, "w2")
	if res := check(t, r); res.Verdict != porcupine.Ok {
		t.Fatalf("verdict %s", res.Verdict)
	}
	counts, unknown := r.Counts()
	if counts[Pin] != 2 || counts[Read] != 2 || unknown != 0 {
		t.Fatalf("counts %v, unknown %d", counts, unknown)
	}
}
