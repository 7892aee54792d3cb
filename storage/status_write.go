package storage

import (
	"errors"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Status writes are group-committed: a write joins a queue, and one writer
// at a time, the leader, commits everything queued in one transaction and
// one fsync, then hands the lead to the first write that queued meanwhile.
// A write returns once its transaction is on disk, as with Update, so its
// caller may act on it; but the tracker's hundreds of CIDs in flight share
// each fsync, page write and commit. Unlike bbolt's Batch, a write waits on
// no timer for company: the batch is whatever queued during the last
// commit, and the writes of one batch apply in the order they queued.
//
// A patient write (Patient) is the exception: it may wait for company until
// its patience has passed since the last commit began, so that a stream of
// patient writes commits at most once per patience, many writes to an
// fsync, instead of an fsync or two each. A write that finds no recent
// commit waits for nothing, and a write that may not wait (every other, the
// FSM's among them), or a full batch, ends the wait at once.

// statusWrite is one caller's records to put or keys to delete.
type statusWrite struct {
	puts []LocalStatus
	del  []byte
	edit *statusEdit
	// patience is how long after the last commit began the write may
	// wait for company; zero for none.
	patience time.Duration
	err      error
	// done says that the write is committed (false), or that its caller
	// now leads (true).
	done chan bool
}

func (w *statusWrite) apply(sw *statusWriter) error {
	for i := range w.puts {
		if err := sw.put(&w.puts[i]); err != nil {
			return err
		}
	}
	if w.edit != nil {
		if err := w.edit.apply(sw); err != nil {
			return err
		}
	}
	if w.del != nil {
		return sw.delete(w.del)
	}
	return nil
}

type groupCommit struct {
	mu      sync.Mutex
	queue   []*statusWrite
	records int // in the queue, for maxGroup
	leading bool
	// lastCommit is when the last commit began.
	lastCommit time.Time
	// patient is set while the leader waits for company; wake ends the
	// wait.
	patient bool
	wake    chan struct{}
}

// write commits w, with whatever else is queued, and returns its outcome.
func (s *StatusStore) write(w *statusWrite) error {
	g := &s.group
	w.done = make(chan bool, 1)
	g.mu.Lock()
	g.queue = append(g.queue, w)
	g.records += w.size()
	if g.leading {
		if g.patient && (w.patience == 0 || g.records >= maxGroup) {
			select {
			case g.wake <- struct{}{}:
			default:
			}
		}
		g.mu.Unlock()
		if lead := <-w.done; !lead {
			return w.err
		}
		g.mu.Lock()
	} else {
		g.leading = true
	}
	g.waitForCompany()
	batch := g.take()
	g.lastCommit = time.Now()
	g.mu.Unlock()
	s.commit(batch)
	for _, o := range batch {
		if o != w {
			o.done <- false
		}
	}
	g.mu.Lock()
	if len(g.queue) > 0 {
		g.queue[0].done <- true
	} else {
		g.leading = false
	}
	g.mu.Unlock()
	return w.err
}

// maxGroup bounds the records of one group commit, as PutMany asks of
// its callers: bbolt splits pages only at commit. One write larger than
// this still goes in whole.
const maxGroup = 4096

// waitForCompany holds the next commit back while every queued write is
// patient, the last commit began less than the least of their patience
// ago, and the batch is not full. g.mu is held, and released while it
// waits.
func (g *groupCommit) waitForCompany() {
	for g.records < maxGroup {
		least := g.queue[0].patience
		for _, w := range g.queue[1:] {
			least = min(least, w.patience)
		}
		wait := time.Until(g.lastCommit.Add(least))
		if wait <= 0 {
			return
		}
		g.patient = true
		g.mu.Unlock()
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-g.wake:
		}
		timer.Stop()
		g.mu.Lock()
		g.patient = false
	}
}

// take dequeues the next batch: the queued writes up to maxGroup records,
// oldest first, and at least one. g.mu is held.
func (g *groupCommit) take() []*statusWrite {
	n, size := 0, 0
	for n < len(g.queue) {
		size += g.queue[n].size()
		if n > 0 && size > maxGroup {
			size -= g.queue[n].size()
			break
		}
		n++
	}
	batch := g.queue[:n:n]
	g.queue = g.queue[n:]
	g.records -= size
	return batch
}

// commit applies the batch in one transaction. Should it fail, each write
// is tried in a transaction of its own, so that one write's error is its
// own alone.
func (s *StatusStore) commit(batch []*statusWrite) {
	err := s.update(batch)
	if err == nil || len(batch) == 1 {
		for _, w := range batch {
			w.err = err
		}
		return
	}
	for _, w := range batch {
		w.err = s.update([]*statusWrite{w})
	}
}

// update applies writes in one transaction and, once it is on disk, counts
// them in memory. Writes that changed no record (edits that kept every
// record as it was: the pins of other peers, in the FSM's queue write)
// roll back rather than commit.
func (s *StatusStore) update(writes []*statusWrite) error {
	var delta map[TrackerStatus]int64
	err := s.db.Update(func(tx *bolt.Tx) error {
		sw := newStatusWriter(tx)
		for _, w := range writes {
			if err := w.apply(sw); err != nil {
				return err
			}
		}
		if !sw.wrote {
			return errNothingWritten
		}
		delta = sw.delta
		return sw.flush()
	})
	switch {
	case errors.Is(err, errNothingWritten):
		return nil
	case err == nil:
		s.counts.add(delta)
	}
	return err
}

var errNothingWritten = errors.New("storage: no status record changed")

// size is how many records w writes, for maxGroup.
func (w *statusWrite) size() int {
	n := len(w.puts)
	if w.edit != nil {
		n += len(w.edit.cids)
	}
	return max(n, 1)
}
