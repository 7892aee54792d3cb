package storage

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/hashicorp/raft"
	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"
)

// FSM adapts State to hashicorp/raft.
//
// Apply answers nil, or an error that wraps ErrInvalidCommand for a command
// every peer refuses alike. Anything that would make this peer's state differ
// from the others (a command it cannot decode, a write that fails) panics
// after a fatal log line: a stopped peer can be repaired, a silently
// divergent one cannot.
type FSM struct {
	state   *State
	log     zerolog.Logger
	onApply func(index uint64, changes []Change)

	// appliedThrough is the last index handed to the state, which a
	// pipelined FSM may not have written yet. Only Raft's FSM goroutine
	// (ApplyBatch, Snapshot, Restore) touches it.
	appliedThrough uint64
	pipe           *applyPipe

	mu          sync.Mutex
	onRestore   func()
	onCommitted func(logs []*raft.Log)
}

var (
	_ raft.FSM         = (*FSM)(nil)
	_ raft.BatchingFSM = (*FSM)(nil)
)

// NewFSM returns an FSM over s. onApply, which may be nil, runs after each
// batch of command entries is committed to the file, outside every lock,
// with the batch's last index and the changes of all its entries in log
// order (nil when they changed no pin): a watcher that records them on
// disk then does it once per batch, not once per entry.
func NewFSM(s *State, log zerolog.Logger, onApply func(index uint64, changes []Change)) *FSM {
	return &FSM{state: s, log: log, onApply: onApply}
}

// OnRestore sets fn to run after every successful Restore, so that watchers
// that keep derived state can rebuild it: a restore has no changes to list.
func (f *FSM) OnRestore(fn func()) {
	f.mu.Lock()
	f.onRestore = fn
	f.mu.Unlock()
}

// OnCommitted sets fn to run at the start of each batch of command
// entries, before the state write, with the batch's command entries in log
// order, less those the state will skip as already applied. Raft hands the
// FSM committed entries only, so fn learns of a commit one state write (an
// fsync) before onApply does: the leader can answer a proposer at the
// commit, and pass the commit index on to followers that wait for it,
// without waiting for its own apply. On the leader each *raft.Log is the
// one its proposer gave raft.Apply, so its Data is the proposer's own
// slice.
func (f *FSM) OnCommitted(fn func(logs []*raft.Log)) {
	f.mu.Lock()
	f.onCommitted = fn
	f.mu.Unlock()
}

// Apply implements raft.FSM.
func (f *FSM) Apply(l *raft.Log) any {
	return f.ApplyBatch([]*raft.Log{l})[0]
}

// ApplyBatch implements raft.BatchingFSM: every command entry of the batch
// goes into one transaction, so a batch costs one fsync. Other log types
// (configuration, no-op, barrier) are none of the state's business. Each
// entry's answer is decided here, before the write, which a pipelined FSM
// leaves to its writer (fsm_pipeline.go).
func (f *FSM) ApplyBatch(logs []*raft.Log) []any {
	resp := make([]any, len(logs))
	entries := make([]entry, 0, len(logs))
	cmds := make([]*raft.Log, 0, len(logs))
	var through uint64 // what the state has applied, or will have
	for i, l := range logs {
		if l.Type != raft.LogCommand {
			continue
		}
		c, err := DecodeCommand(l.Data)
		if err != nil {
			f.fail(l.Index, "undecodable command", err)
		}
		if len(entries) == 0 {
			through = f.appliedThroughNow()
		}
		e := newEntry(l.Index, &c)
		entries = append(entries, e)
		cmds = append(cmds, l)
		resp[i] = f.answer(e, through)
	}
	if len(entries) == 0 {
		return resp
	}
	f.mu.Lock()
	committed := f.onCommitted
	f.mu.Unlock()
	if committed != nil {
		for len(cmds) > 0 && cmds[0].Index <= through {
			// The state will skip it: whoever waits for it must hear
			// ErrAlreadyApplied, never that it committed.
			cmds = cmds[1:]
		}
		committed(cmds)
	}
	f.appliedThrough = max(f.appliedThrough, entries[len(entries)-1].index)
	if f.pipe != nil {
		f.pipe.jobs <- pipeJob{entries: entries}
		return resp
	}
	f.applyNow(entries)
	return resp
}

// answer is what the state will make of the entry e: nil, or
// ErrAlreadyApplied for a replay (nobody waits for it after a restart; a
// proposer that does, on a Raft log that restarted below the state, must
// not be told its entry applied), or why every peer refuses it.
func (f *FSM) answer(e entry, through uint64) error {
	if e.index <= through {
		return ErrAlreadyApplied
	}
	if e.refused != nil {
		f.log.Warn().Uint64("index", e.index).Err(e.refused).Msg("refused command")
	}
	return e.refused
}

// appliedThroughNow is the highest index the state has applied or been
// handed to apply.
func (f *FSM) appliedThroughNow() uint64 {
	// A state that cannot be read fails its write, which stops the peer.
	applied, _ := f.state.AppliedIndex()
	return max(applied, f.appliedThrough)
}

// applyNow writes entries to the state and tells onApply.
func (f *FSM) applyNow(entries []entry) {
	res, err := f.state.applyEntries(entries)
	if err != nil {
		f.fail(entries[0].index, "state write failed", err)
	}
	var changes []Change
	for _, r := range res {
		changes = append(changes, r.changes...)
	}
	if f.onApply != nil {
		f.onApply(entries[len(entries)-1].index, changes)
	}
}

// fail stops the node. Fatal() would os.Exit and skip deferred cleanup in
// Raft and in tests, so log at fatal level and panic instead.
func (f *FSM) fail(index uint64, what string, err error) {
	f.log.WithLevel(zerolog.FatalLevel).Uint64("index", index).Err(err).
		Msg("state would diverge: stopping")
	panic(fmt.Sprintf("storage: %s at raft index %d: %v", what, index, err))
}

// Snapshot implements raft.FSM. It only opens a read transaction, which
// fixes the snapshot's content at the index Raft attributes to it; Persist
// then streams it while Apply goes on.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	f.Flush()
	tx, err := f.state.beginSnapshot()
	if err != nil {
		return nil, err
	}
	return &fsmSnapshot{tx: tx}, nil
}

// Restore implements raft.FSM.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	f.Flush()
	if err := f.state.Restore(rc); err != nil {
		return err
	}
	f.appliedThrough = 0 // the restored state's own index counts now
	f.mu.Lock()
	fn := f.onRestore
	f.mu.Unlock()
	if fn != nil {
		fn()
	}
	return nil
}

type fsmSnapshot struct {
	tx   *bolt.Tx
	once sync.Once
}

// Persist implements raft.FSMSnapshot.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := s.tx.WriteTo(sink); err != nil {
		return errors.Join(err, sink.Cancel())
	}
	return sink.Close()
}

// Release implements raft.FSMSnapshot. Ending the transaction lets bbolt
// reuse the pages it kept alive, and lets Close (or the closing of a file
// that Restore replaced) finish.
func (s *fsmSnapshot) Release() {
	s.once.Do(func() { s.tx.Rollback() })
}
