package storage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/internal/testkit"
)

type applied struct {
	index   uint64
	changes []Change
}

// newTestFSM records every onApply call, and checks inside it that the
// entry is already committed: a reader sees the new applied index.
func newTestFSM(t *testing.T, s *State, logw io.Writer) (*FSM, *[]applied) {
	t.Helper()
	var calls []applied
	f := NewFSM(s, zerolog.New(logw), func(index uint64, ch []Change) {
		if ai, err := s.AppliedIndex(); err != nil || ai < index {
			t.Errorf("onApply(%d) before commit: applied index %d, %v", index, ai, err)
		}
		calls = append(calls, applied{index, ch})
	})
	return f, &calls
}

func cmdLog(t testing.TB, index uint64, c Command) *raft.Log {
	t.Helper()
	b, err := EncodeCommand(c)
	if err != nil {
		t.Fatal(err)
	}
	return &raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: b}
}

func TestFSMApply(t *testing.T) {
	s := openTestState(t)
	f, calls := newTestFSM(t, s, io.Discard)
	p := fullPin(1)
	if resp := f.Apply(cmdLog(t, 1, pinCmd(p))); resp != nil {
		t.Fatalf("response %v", resp)
	}
	if got, err := s.Get(p.Cid); err != nil || !reflect.DeepEqual(got, p) {
		t.Fatalf("get %+v, %v", got, err)
	}
	if want := []applied{{1, []Change{{Kind: OpPin, Pin: p}}}}; !reflect.DeepEqual(*calls, want) {
		t.Fatalf("onApply calls %+v", *calls)
	}

	resp := f.Apply(cmdLog(t, 2, pinCmd(Pin{Name: "no cid"})))
	if err, ok := resp.(error); !ok || !errors.Is(err, ErrInvalidCommand) {
		t.Fatalf("invalid command answered %v", resp)
	}
	if resp := f.Apply(&raft.Log{Index: 3, Type: raft.LogNoop}); resp != nil {
		t.Fatalf("noop answered %v", resp)
	}
	if len(*calls) != 2 || (*calls)[1].changes != nil {
		t.Fatalf("refused entry: onApply calls %+v", *calls)
	}
	assertApplied(t, s, 2)
}

func TestFSMApplyBatch(t *testing.T) {
	s := openTestState(t)
	f, calls := newTestFSM(t, s, io.Discard)
	logs := []*raft.Log{
		{Index: 1, Type: raft.LogConfiguration, Data: []byte("not ours")},
		cmdLog(t, 2, pinCmd(smallPin(1), smallPin(2))),
		{Index: 3, Type: raft.LogNoop},
		cmdLog(t, 4, Command{Type: CmdPeerAdd}), // refused: no ID
		cmdLog(t, 5, unpinCmd(testCid(1))),
		{Index: 6, Type: raft.LogBarrier},
		cmdLog(t, 7, Command{Type: CmdPeerAdd, Peer: Peer{ID: "p"}}),
	}
	resp := f.ApplyBatch(logs)
	if len(resp) != len(logs) {
		t.Fatalf("%d responses for %d logs", len(resp), len(logs))
	}
	for i, r := range resp {
		if i == 3 {
			if err, _ := r.(error); !errors.Is(err, ErrInvalidCommand) {
				t.Errorf("log 4 answered %v", r)
			}
		} else if r != nil {
			t.Errorf("log %d answered %v", logs[i].Index, r)
		}
	}
	// One call for the batch, with its last command index and every
	// entry's changes in log order.
	if len(*calls) != 1 || (*calls)[0].index != 7 {
		t.Fatalf("onApply calls %+v, want one, at index 7", *calls)
	}
	ch := (*calls)[0].changes
	if len(ch) != 3 || ch[0].Kind != OpPin || ch[1].Kind != OpPin || ch[2].Kind != OpUnpin || !reflect.DeepEqual(ch[2].Pin, smallPin(1)) {
		t.Errorf("changes %+v, want the two pins, then the unpin", ch)
	}
	assertCount(t, s, 1)
	assertApplied(t, s, 7)
	if _, err := s.Peer("p"); err != nil {
		t.Error(err)
	}
	// Only non-command entries: nothing to do, nothing to call.
	if resp := f.ApplyBatch([]*raft.Log{{Index: 8, Type: raft.LogNoop}}); len(resp) != 1 || resp[0] != nil {
		t.Errorf("noop batch answered %v", resp)
	}
}

// mustPanic runs fn and returns what it panicked with.
func mustPanic(t *testing.T, fn func()) (v any) {
	t.Helper()
	defer func() { v = recover() }()
	fn()
	t.Fatal("did not panic")
	return nil
}

func TestFSMStopsOnUndecodableCommand(t *testing.T) {
	future, _ := EncodeCommand(pinCmd(smallPin(9)))
	future[0] = CommandVersion + 1
	for name, data := range map[string][]byte{
		"corrupt":         {CommandVersion, byte(CmdPinBatch), 5},
		"unknown type":    {CommandVersion, 77},
		"unknown version": future,
	} {
		t.Run(name, func(t *testing.T) {
			s := openTestState(t)
			var logs bytes.Buffer
			f, calls := newTestFSM(t, s, &logs)
			batch := []*raft.Log{
				cmdLog(t, 1, pinCmd(smallPin(1))),
				{Index: 2, Type: raft.LogCommand, Data: data},
			}
			v := mustPanic(t, func() { f.ApplyBatch(batch) })
			if !strings.Contains(fmt.Sprint(v), "raft index 2") {
				t.Errorf("panic %q does not name the index", v)
			}
			if !strings.Contains(logs.String(), `"level":"fatal"`) || !strings.Contains(logs.String(), `"index":2`) {
				t.Errorf("log %q lacks a fatal line with the index", logs.String())
			}
			// Nothing of the batch was applied, so a fixed binary can replay it.
			assertApplied(t, s, 0)
			assertCount(t, s, 0)
			if len(*calls) != 0 {
				t.Errorf("onApply called %+v", *calls)
			}
		})
	}
}

func TestFSMStopsOnWriteFailure(t *testing.T) {
	s := openTestState(t)
	f, _ := newTestFSM(t, s, io.Discard)
	s.Close() // every write now fails
	v := mustPanic(t, func() { f.Apply(cmdLog(t, 1, pinCmd(smallPin(1)))) })
	if !strings.Contains(fmt.Sprint(v), "state write failed") {
		t.Errorf("panic %v", v)
	}
}

// TestFSMSnapshotIsFixedAtSnapshotTime: Raft labels the snapshot with the
// index applied when Snapshot returned, and Applies go on while Persist
// streams. The snapshot must hold exactly that state.
func TestFSMSnapshotIsFixedAtSnapshotTime(t *testing.T) {
	s := openTestState(t)
	f, _ := newTestFSM(t, s, io.Discard)
	f.Apply(cmdLog(t, 1, pinCmd(smallPin(1), fullPin(2))))
	f.Apply(cmdLog(t, 2, Command{Type: CmdPeerAdd, Peer: Peer{ID: "p"}}))
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	want := snapshotOf(t, s)
	f.Apply(cmdLog(t, 3, pinCmd(smallPin(3))))
	f.Apply(cmdLog(t, 4, unpinCmd(testCid(1))))

	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	snap.Release()
	snap.Release() // Raft may call it on every path; it must be idempotent
	if !sink.closed || sink.cancelled {
		t.Errorf("sink closed %v cancelled %v", sink.closed, sink.cancelled)
	}

	dst := openTestState(t)
	g, _ := newTestFSM(t, dst, io.Discard)
	restored := 0
	g.OnRestore(func() { restored++ })
	if err := g.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if restored != 1 {
		t.Errorf("OnRestore ran %d times", restored)
	}
	assertApplied(t, dst, 2)
	assertCount(t, dst, 2)
	if _, err := dst.Get(testCid(3)); !errors.Is(err, ErrNotFound) {
		t.Errorf("pin applied after Snapshot leaked in: %v", err)
	}
	ref := openTestState(t)
	ref.Restore(bytes.NewReader(want))
	assertSameState(t, dst, ref)

	// A bad snapshot fails and leaves the hook alone.
	if err := g.Restore(io.NopCloser(strings.NewReader("junk"))); err == nil || restored != 1 {
		t.Errorf("junk restore: %v, hook ran %d times", err, restored)
	}
}

// TestFSMRestoreDoesNotWaitForPersist: Raft's snapshot goroutine may hold
// an unpersisted snapshot while it waits on Raft's main loop, and the main
// loop may be waiting on an FSM Restore. Restore must not wait for the
// snapshot, and the snapshot must still stream the state it was taken from.
func TestFSMRestoreDoesNotWaitForPersist(t *testing.T) {
	s := openTestState(t)
	f, _ := newTestFSM(t, s, io.Discard)
	f.Apply(cmdLog(t, 1, pinCmd(smallPin(1), smallPin(2))))
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	other := openTestState(t)
	fillState(t, other, 30, 100, 5)

	done := make(chan error, 1)
	go func() { done <- f.Restore(io.NopCloser(bytes.NewReader(snapshotOf(t, other)))) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		snap.Release() // so that cleanup can close the file
		t.Fatal("Restore waits for an open snapshot: Raft would deadlock")
	}
	assertSameState(t, s, other)
	f.Apply(cmdLog(t, 31, pinCmd(smallPin(3)))) // the new file takes writes
	assertCount(t, s, 6)

	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	snap.Release()
	old := openTestState(t)
	if err := old.Restore(bytes.NewReader(sink.Bytes())); err != nil {
		t.Fatal(err)
	}
	assertApplied(t, old, 1)
	assertCount(t, old, 2)
}

func TestFSMPersistCancelsOnError(t *testing.T) {
	s := openTestState(t)
	f, _ := newTestFSM(t, s, io.Discard)
	f.Apply(cmdLog(t, 1, pinCmd(smallPin(1))))
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()
	sink := &memSink{failWrite: true}
	if err := snap.Persist(sink); err == nil {
		t.Fatal("persist succeeded into a broken sink")
	}
	if !sink.cancelled || sink.closed {
		t.Errorf("sink cancelled %v closed %v; want cancelled only", sink.cancelled, sink.closed)
	}
}

// TestFSMUnderRaft runs the FSM inside a real single-node Raft: commands go
// through raft.Apply, a snapshot goes through raft's file store, and a
// restarted node rebuilds its state from that snapshot plus the log.
func TestFSMUnderRaft(t *testing.T) {
	dir := t.TempDir()
	logs, stable := raft.NewInmemStore(), raft.NewInmemStore()
	snaps, err := raft.NewFileSnapshotStore(dir, 2, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	conf := raft.DefaultConfig()
	conf.LocalID = "n1"
	conf.LogOutput = io.Discard
	conf.HeartbeatTimeout = 50 * time.Millisecond
	conf.ElectionTimeout = 50 * time.Millisecond
	conf.LeaderLeaseTimeout = 50 * time.Millisecond

	var changed []Change
	start := func(s *State) (*raft.Raft, raft.ServerAddress) {
		addr, trans := raft.NewInmemTransport("n1")
		fsm := NewFSM(s, zerolog.Nop(), func(_ uint64, ch []Change) { changed = append(changed, ch...) })
		r, err := raft.NewRaft(conf, fsm, logs, stable, snaps, trans)
		if err != nil {
			t.Fatal(err)
		}
		return r, addr
	}
	s1 := openTestState(t)
	r, addr := start(s1)
	err = r.BootstrapCluster(raft.Configuration{Servers: []raft.Server{{ID: "n1", Address: addr}}}).Error()
	if err != nil {
		t.Fatal(err)
	}
	waitLeader := func(r *raft.Raft) {
		t.Helper()
		select {
		case <-r.LeaderCh():
		case <-time.After(5 * time.Second):
			t.Fatal("no leader")
		}
	}
	waitLeader(r)
	apply := func(c Command) any {
		b, err := EncodeCommand(c)
		if err != nil {
			t.Fatal(err)
		}
		fut := r.Apply(b, 5*time.Second)
		if err := fut.Error(); err != nil {
			t.Fatal(err)
		}
		return fut.Response()
	}
	for i := range 10 {
		if resp := apply(pinCmd(smallPin(i))); resp != nil {
			t.Fatalf("apply: %v", resp)
		}
	}
	if err, _ := apply(pinCmd(Pin{})).(error); !errors.Is(err, ErrInvalidCommand) {
		t.Fatalf("invalid command answered %v", err)
	}
	if err := r.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	// After the snapshot: these must come back from the log.
	apply(unpinCmd(testCid(0)))
	apply(pinCmd(smallPin(100)))
	if err := r.Shutdown().Error(); err != nil {
		t.Fatal(err)
	}

	// The file outlives the process. Told not to restore the snapshot first,
	// Raft replays the entries after it over a file that already holds them:
	// nothing may be applied, or reported, twice.
	conf.NoSnapshotRestoreOnStart = true
	changed = nil
	r, _ = start(s1)
	waitLeader(r)
	if err := r.Barrier(5 * time.Second).Error(); err != nil {
		t.Fatal(err)
	}
	if len(changed) != 0 {
		t.Errorf("replay over a current file reported %d changes", len(changed))
	}
	assertCount(t, s1, 10)
	if err := r.Shutdown().Error(); err != nil {
		t.Fatal(err)
	}

	conf.NoSnapshotRestoreOnStart = false
	s2 := openTestState(t) // an empty file: everything comes from Raft
	r2, _ := start(s2)
	defer r2.Shutdown()
	testkit.Eventually(t, "the restarted node to apply the entries after the snapshot", func() bool {
		_, err := s2.Get(testCid(100))
		return err == nil
	}, testkit.Within(5*time.Second))
	if _, err := s2.Get(testCid(0)); !errors.Is(err, ErrNotFound) {
		t.Errorf("unpin after the snapshot was not replayed: %v", err)
	}
	assertCount(t, s2, 10)
}
