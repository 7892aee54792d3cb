package cluster

import (
	"sync"

	"github.com/hashicorp/raft"
)

// commitWaits lets the leader answer a proposer when its entry commits,
// one state write and one status write (two fsyncs) before raft.Apply's
// future would. The FSM tells of each batch of committed entries before it
// applies them (storage.FSM.OnCommitted); on the leader, each entry it
// proposed reaches the FSM as the very raft.Log that raft.Apply built, so
// the address of its data identifies the proposer. An entry that another
// leader commits reaches this peer as a decoded copy, which matches
// nothing: its proposer learns the outcome from its future, as before.
type commitWaits struct {
	mu      sync.Mutex
	waiting map[*byte]chan<- uint64
}

// add registers data, which must not be empty, and returns the channel on
// which its entry's index arrives at the commit. The caller must call
// remove when it stops waiting.
func (w *commitWaits) add(data []byte) <-chan uint64 {
	ch := make(chan uint64, 1)
	w.mu.Lock()
	if w.waiting == nil {
		w.waiting = make(map[*byte]chan<- uint64)
	}
	w.waiting[&data[0]] = ch
	w.mu.Unlock()
	return ch
}

func (w *commitWaits) remove(data []byte) {
	w.mu.Lock()
	delete(w.waiting, &data[0])
	w.mu.Unlock()
}

// committed tells the proposers of logs, committed entries that the state
// will apply, that they committed.
func (w *commitWaits) committed(logs []*raft.Log) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.waiting) == 0 {
		return
	}
	for _, l := range logs {
		if len(l.Data) == 0 {
			continue
		}
		if ch, ok := w.waiting[&l.Data[0]]; ok {
			ch <- l.Index
			delete(w.waiting, &l.Data[0])
		}
	}
}
