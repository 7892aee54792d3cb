package storage

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/hashicorp/raft"
)

func newPipelinedFSM(t *testing.T, s *State) (*FSM, *[]applied) {
	t.Helper()
	f, calls := newTestFSM(t, s, io.Discard)
	f.Pipeline()
	t.Cleanup(f.Close)
	return f, calls
}

// A pipelined FSM answers each entry as the state will, before the write,
// and its writer applies everything queued, telling onApply after the
// state has it.
func TestPipelinedFSMAnswersFirstAndWritesEverything(t *testing.T) {
	s := openTestState(t)
	f, calls := newPipelinedFSM(t, s)
	bad := Command{Type: CmdPinBatch, Ops: []Op{{Kind: OpPin, Pin: Pin{Cid: testCid(9), Mode: 7}}}}
	resp := f.ApplyBatch([]*raft.Log{cmdLog(t, 1, pinCmd(smallPin(1))), cmdLog(t, 2, bad)})
	if resp[0] != nil || !errors.Is(resp[1].(error), ErrInvalidCommand) {
		t.Fatalf("answers %v, want nil and ErrInvalidCommand", resp)
	}
	// Entries handed on but perhaps not written are replays already.
	resp = f.ApplyBatch([]*raft.Log{cmdLog(t, 2, pinCmd(smallPin(2))), cmdLog(t, 3, pinCmd(smallPin(3)))})
	if !errors.Is(resp[0].(error), ErrAlreadyApplied) || resp[1] != nil {
		t.Fatalf("answers %v, want ErrAlreadyApplied for index 2 and nil for 3", resp)
	}
	f.Flush()
	assertApplied(t, s, 3)
	assertCount(t, s, 2)
	if _, err := s.Get(testCid(2)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the replayed entry was applied: %v", err)
	}
	last := (*calls)[len(*calls)-1]
	if last.index != 3 {
		t.Fatalf("onApply last told of index %d, want 3", last.index)
	}
	n := 0
	for _, c := range *calls {
		n += len(c.changes)
	}
	if n != 2 {
		t.Fatalf("onApply was told of %d changes, want the 2 pins", n)
	}
}

// Raft labels a snapshot with the last index it handed the FSM: a pipelined
// FSM's snapshot must hold it, written or not when Snapshot was called.
func TestPipelinedFSMSnapshotHoldsEverythingHandedOn(t *testing.T) {
	s := openTestState(t)
	f, _ := newPipelinedFSM(t, s)
	for i := 1; i <= 50; i++ {
		f.ApplyBatch([]*raft.Log{cmdLog(t, uint64(i), pinCmd(smallPin(i)))})
	}
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	snap.Release()
	dst := openTestState(t)
	if err := dst.Restore(bytes.NewReader(sink.Bytes())); err != nil {
		t.Fatal(err)
	}
	assertApplied(t, dst, 50)
	assertCount(t, dst, 50)
}

// A restore replaces the state only after the writer wrote what it had:
// a late write must never land on the restored state.
func TestPipelinedFSMRestoresAfterTheWriterIsDone(t *testing.T) {
	other := openTestState(t)
	mustApply(t, other, 100, pinCmd(smallPin(100)))
	s := openTestState(t)
	f, _ := newPipelinedFSM(t, s)
	for i := 1; i <= 20; i++ {
		f.ApplyBatch([]*raft.Log{cmdLog(t, uint64(i), pinCmd(smallPin(i)))})
	}
	if err := f.Restore(io.NopCloser(bytes.NewReader(snapshotOf(t, other)))); err != nil {
		t.Fatal(err)
	}
	f.Flush()
	assertApplied(t, s, 100)
	assertCount(t, s, 1)
	// After a restore the restored index counts, not what came before.
	resp := f.ApplyBatch([]*raft.Log{cmdLog(t, 101, pinCmd(smallPin(101)))})
	if resp[0] != nil {
		t.Fatalf("the entry after the snapshot answered %v", resp[0])
	}
	f.Close()
	assertApplied(t, s, 101)
}

func TestFSMTellsOfTheCommitBeforeItWritesTheState(t *testing.T) {
	s := openTestState(t)
	f, _ := newTestFSM(t, s, io.Discard)
	type told struct{ index, appliedThen uint64 }
	var calls []told
	f.OnCommitted(func(logs []*raft.Log) {
		ai, _ := s.AppliedIndex()
		for _, l := range logs {
			calls = append(calls, told{l.Index, ai})
		}
	})
	f.ApplyBatch([]*raft.Log{cmdLog(t, 1, pinCmd(smallPin(1))), {Index: 2, Type: raft.LogBarrier}, cmdLog(t, 3, pinCmd(smallPin(2)))})
	// A batch of no command entries (the barrier a leader appends to pass
	// a commit on) tells nothing: telling would ask for another barrier.
	f.ApplyBatch([]*raft.Log{{Index: 4, Type: raft.LogBarrier}})
	f.ApplyBatch([]*raft.Log{cmdLog(t, 5, unpinCmd(testCid(1)))})
	// A replay of entries the state already applied tells only of what
	// it will apply: a proposer waiting for a skipped entry must not hear
	// that it committed.
	f.ApplyBatch([]*raft.Log{cmdLog(t, 5, unpinCmd(testCid(1))), cmdLog(t, 6, pinCmd(smallPin(3)))})
	if want := []told{{1, 0}, {3, 0}, {5, 3}, {6, 5}}; !reflect.DeepEqual(calls, want) {
		t.Fatalf("told %+v, want each batch's command entries still to apply, before its state write: %+v", calls, want)
	}
}
