package cluster

import (
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
