package storage

import "sync"

// The state write of a batch of entries (an fsync) and what onApply does
// after it (the tracker's write, another fsync) need not hold up Raft's FSM
// goroutine, which must first pass the next committed batch to
// OnCommitted: that is when the leader answers its proposers. A pipelined
// FSM therefore only decides each entry's answer in ApplyBatch, and hands
// the entries to a writer goroutine of its own, which applies whatever has
// queued up in one transaction (group commit across Raft's batches).
//
// Nothing is acknowledged that could be lost: Raft's log already holds
// every committed entry, and after a crash Raft replays it from the last
// snapshot, which the state skips up to its own applied index. A snapshot
// and a restore first wait for the writer (flush), so that a snapshot
// holds every entry Raft attributes to it.

// applyPipeQueue bounds the batches waiting for the writer: when it is
// full, the FSM goroutine waits, and Raft's own queues hold the rest.
const applyPipeQueue = 64

type pipeJob struct {
	entries []entry
	flushed chan struct{} // a flush: closed once everything before it is written
}

type applyPipe struct {
	jobs chan pipeJob
	done chan struct{}
	// mu orders Flush's sends before Close's close of jobs.
	mu     sync.RWMutex
	closed bool
}

// Pipeline makes f apply in a writer goroutine of its own (see above).
// Call it before Raft starts, and Close after Raft stopped.
func (f *FSM) Pipeline() {
	p := &applyPipe{jobs: make(chan pipeJob, applyPipeQueue), done: make(chan struct{})}
	f.pipe = p
	go f.write(p)
}

// Flush returns once every entry ApplyBatch was given is in the state and
// onApply has run for it. Raft's Barrier waits for ApplyBatch, not for the
// writer: a leader that must act on the whole committed state flushes too.
func (f *FSM) Flush() {
	if f.pipe == nil {
		return
	}
	p := f.pipe
	ch := make(chan struct{})
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		return // Close wrote everything
	}
	p.jobs <- pipeJob{flushed: ch}
	p.mu.RUnlock()
	<-ch
}

// Close stops the writer once it has written everything queued. Raft must
// have stopped: nothing may call ApplyBatch any more.
func (f *FSM) Close() {
	if f.pipe == nil {
		return
	}
	p := f.pipe
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.jobs)
	}
	p.mu.Unlock()
	<-p.done
}

// write is the writer goroutine: it takes every job queued and applies
// their entries in one transaction.
func (f *FSM) write(p *applyPipe) {
	defer close(p.done)
	for job := range p.jobs {
		entries, flushed := job.entries, collect(nil, job)
	more:
		for {
			select {
			case next, ok := <-p.jobs:
				if !ok {
					break more
				}
				entries = append(entries, next.entries...)
				flushed = collect(flushed, next)
			default:
				break more
			}
		}
		if len(entries) > 0 {
			f.applyNow(entries)
		}
		for _, ch := range flushed {
			close(ch)
		}
	}
}

func collect(flushed []chan struct{}, job pipeJob) []chan struct{} {
	if job.flushed != nil {
		flushed = append(flushed, job.flushed)
	}
	return flushed
}
