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
// order, less those the state will skip as already applied. Raft hands the FSM committed entries only, so fn learns of a
// commit one state write (an fsync) before onApply does: the leader can
// answer a proposer at the commit, and pass the commit index on to
// followers that wait for it, without waiting for its own apply. On the
// leader each *raft.Log is the one its proposer gave raft.Apply, so its
// Data is the proposer's own slice.
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
// (configuration, no-op, barrier) are none of the state's business.
func (f *FSM) ApplyBatch(logs []*raft.Log) []any {
	resp := make([]any, len(logs))
	entries := make([]entry, 0, len(logs))
	slots := make([]int, 0, len(logs)) // position in logs of each entry
	cmds := make([]*raft.Log, 0, len(logs))
	for i, l := range logs {
		if l.Type != raft.LogCommand {
			continue
		}
		c, err := DecodeCommand(l.Data)
		if err != nil {
			f.fail(l.Index, "undecodable command", err)
		}
		entries = append(entries, entry{index: l.Index, cmd: &c})
		slots = append(slots, i)
		cmds = append(cmds, l)
	}
	if len(entries) == 0 {
		return resp
	}
	f.mu.Lock()
	committed := f.onCommitted
	f.mu.Unlock()
	if committed != nil {
		committed(f.toApply(cmds))
	}
	res, err := f.state.applyEntries(entries)
	if err != nil {
		f.fail(entries[0].index, "state write failed", err)
	}
	var changes []Change
	for j, r := range res {
		switch {
		case errors.Is(r.err, ErrAlreadyApplied):
			// A replay after a restart: nobody waits for it. A proposer
			// that does (a Raft log that restarted below the state) must
			// not be told its entry applied.
			resp[slots[j]] = r.err
		case r.err != nil:
			f.log.Warn().Uint64("index", entries[j].index).Err(r.err).Msg("refused command")
			resp[slots[j]] = r.err
		}
		changes = append(changes, r.changes...)
	}
	if f.onApply != nil {
		f.onApply(entries[len(entries)-1].index, changes)
	}
	return resp
}

// toApply drops the entries at or below the state's applied index, which
// the state will skip as replays: whoever waits for one of them must hear
// ErrAlreadyApplied from its apply, never that it committed.
func (f *FSM) toApply(logs []*raft.Log) []*raft.Log {
	applied, err := f.state.AppliedIndex()
	if err != nil {
		return nil
	}
	for len(logs) > 0 && logs[0].Index <= applied {
		logs = logs[1:]
	}
	return logs
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
	tx, err := f.state.beginSnapshot()
	if err != nil {
		return nil, err
	}
	return &fsmSnapshot{tx: tx}, nil
}

// Restore implements raft.FSM.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	if err := f.state.Restore(rc); err != nil {
		return err
	}
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
