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

func TestCheckVerdicts(t *testing.T) {
	cases := []struct {
		name    string
		want    porcupine.CheckResult
		history func(r *Recorder)
	}{
		{"a sequential history", porcupine.Ok, func(r *Recorder) {
			pinOp(r, "p0", 1, "w1", nil)
			barrier(r, "p0")
			readOp(r, "p0", 1, "w1")
			unpinOp(r, "p1", 1, nil)
			barrier(r, "p1")
			readOp(r, "p1", 1, "")
		}},
		{"a stale read on a peer that acknowledged nothing", porcupine.Ok, func(r *Recorder) {
			pinOp(r, "p0", 1, "w1", nil)
			readOp(r, "p1", 1, "")
		}},
		{"a read after a barrier that misses an acknowledged pin", porcupine.Illegal, func(r *Recorder) {
			pinOp(r, "p0", 1, "w1", nil)
			barrier(r, "p1")
			readOp(r, "p1", 1, "")
		}},
		{"an unpinned key coming back", porcupine.Illegal, func(r *Recorder) {
			pinOp(r, "p0", 1, "w1", nil)
			unpinOp(r, "p0", 1, nil)
			barrier(r, "p2")
			readOp(r, "p2", 1, "w1")
		}},
		// A pin seen, removed by an acknowledged unpin, then seen again with
		// no new pin: the first write landed twice (a retried forward, say).
		{"a write taking effect twice", porcupine.Illegal, func(r *Recorder) {
			c := r.Begin("p0")
			barrier(r, "p1")
			readOp(r, "p1", 1, "w1")
			unpinOp(r, "p1", 1, nil)
			barrier(r, "p1")
			readOp(r, "p1", 1, "w1")
			r.Write(c, 0, Input{Kind: Pin, Key: 1, Value: "w1"}, nil)
		}},
		{"a failed write that landed", porcupine.Ok, func(r *Recorder) {
			pinOp(r, "p0", 1, "w1", errLost)
			barrier(r, "p1")
			readOp(r, "p1", 1, "w1")
		}},
		{"a failed write that did not land", porcupine.Ok, func(r *Recorder) {
			pinOp(r, "p0", 1, "w1", errLost)
			barrier(r, "p1")
			readOp(r, "p1", 1, "")
		}},
		{"a failed write seen, then unseen with no other write", porcupine.Illegal, func(r *Recorder) {
			pinOp(r, "p0", 1, "w1", errLost)
			barrier(r, "p1")
			readOp(r, "p1", 1, "w1")
			barrier(r, "p1")
			readOp(r, "p1", 1, "")
		}},
		{"keys apart", porcupine.Ok, func(r *Recorder) {
			pinOp(r, "p0", 1, "w1", nil)
			pinOp(r, "p0", 2, "w2", nil)
			barrier(r, "p0")
			readOp(r, "p0", 1, "w1")
			readOp(r, "p0", 2, "w2")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRecorder()
			tc.history(r)
			r.Annotate("nemesis", 0, r.Now(), "a fault drawn on the visualization")
			res := check(t, r)
			if res.Verdict != tc.want {
				t.Fatalf("verdict %s, want %s", res.Verdict, tc.want)
			}
			if res.Verdict == porcupine.Ok && res.File != "" {
				t.Fatalf("a visualization of a linearizable history: %s", res.File)
			}
			if res.Verdict == porcupine.Illegal {
				if _, err := os.Stat(res.File); err != nil {
					t.Fatalf("no visualization of the failing history: %v", err)
				}
			}
		})
	}
}

func TestCountsAndPendingWrites(t *testing.T) {
	r := NewRecorder()
	pinOp(r, "p0", 1, "w1", nil)
	unpinOp(r, "p0", 2, errLost)
	readOp(r, "p0", 1, "w1")
	counts, unknown := r.Counts()
	if counts[Pin] != 1 || counts[Unpin] != 1 || counts[Read] != 1 || unknown != 1 {
		t.Fatalf("counts %v, unknown %d", counts, unknown)
	}
	ops := r.Operations()
	if ops[0].Return > ops[2].Return {
		t.Fatalf("an acknowledged write returns after the last read: %+v", ops[0])
	}
	if ops[1].Return <= ops[2].Return || !ops[1].Output.(Output).Unknown {
		t.Fatalf("a failed write is not pending to the end: %+v", ops[1])
	}
}
