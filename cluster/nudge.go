package cluster

import (
	"sync"
	"sync/atomic"
	"time"
)

// commitNudgeDelay is how long the log may stay idle after a forwarded
// write commits before the leader tells the followers of the commit.
const commitNudgeDelay = 5 * time.Millisecond

// commitNudge passes a commit on to the followers once the log goes idle.
// A follower learns a commit index only from the leader's next
// AppendEntries, which hashicorp/raft sends with the next entry or, when the
// log is idle, after CommitTimeout (50 to 100 ms). A write through a
// follower returns at the commit, but a read through that follower waits
// until it applied the write (readyourwrites.go). Under load the next entry
// carries the commit index anyway; only when none is appended within
// commitNudgeDelay does the leader append an empty Barrier entry, whose
// AppendEntries carries it. Idle clusters send nothing, and busy ones no
// extra entries.
type commitNudge struct {
	appended atomic.Uint64 // entries this leader's group commit appended
	armed    atomic.Bool
	delay    time.Duration
	send     func()

	// mu guards sending and again (now).
	mu      sync.Mutex
	sending bool
	again   bool
}

// entryAppended counts an entry whose AppendEntries will carry the commit
// index of the moment.
func (c *commitNudge) entryAppended() { c.appended.Add(1) }

// committed arms the nudge, unless it is armed already.
func (c *commitNudge) committed() {
	if !c.armed.CompareAndSwap(false, true) {
		return
	}
	seen := c.appended.Load()
	time.AfterFunc(c.delay, func() {
		c.armed.Store(false)
		if c.appended.Load() == seen {
			c.send()
		}
	})
}

// now passes the commit on at once, for a follower that waits to apply it
// (Node.askToPassCommitOn), one barrier at a time. A request made while one is
// under way gets one more after it: the first may have left before the
// commit the request is about.
func (c *commitNudge) now() {
	c.mu.Lock()
	if c.sending {
		c.again = true
		c.mu.Unlock()
		return
	}
	c.sending = true
	c.mu.Unlock()
	go func() {
		for {
			// The barrier carries the commit: an armed timer that sees it
			// counted sends none.
			c.appended.Add(1)
			c.send()
			c.mu.Lock()
			if !c.again {
				c.sending = false
				c.mu.Unlock()
				return
			}
			c.again = false
			c.mu.Unlock()
		}
	}()
}
