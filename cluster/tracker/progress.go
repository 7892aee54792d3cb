package tracker

import (
	"time"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// progressInterval paces the info line that says how the queue moves. A
// line per pin would be some 130 MB of log per million pins: those are
// debug, and an operator reads this one instead.
const progressInterval = 30 * time.Second

// stuckProgressEvery paces the line while nothing moves but pins keep
// failing: the same counts every 30 s for days would bury the rest.
const stuckProgressEvery = 10 * time.Minute

// lastFailure is the latest failed attempt on the IPFS node, which the
// progress line gives as an example: per-pin lines are debug, and an
// operator told that pins fail needs one CID and its error to start from.
type lastFailure struct {
	cid, err string
}

// progressLog is what the last progress line said. Only Run's goroutine
// uses it.
type progressLog struct {
	failed int
	at     time.Time
}

// noteFailure records err on c as the example the next progress line gives.
func (t *Tracker) noteFailure(c string, err error) {
	t.lastFailed.Store(&lastFailure{cid: c, err: err.Error()})
}

// logProgress says, when the tracker did or has work, how many pins and
// unpins it finished since the last line and what waits, at warn with an
// example when some failed. Every count is O(1) in the size of the pinset.
func (t *Tracker) logProgress() {
	done := t.done.Swap(0)
	counts, err := t.status.CountByStatus()
	if err != nil {
		return
	}
	waiting := counts[storage.StatusPinQueued] + counts[storage.StatusPinning] +
		counts[storage.StatusUnpinQueued] + counts[storage.StatusUnpinning]
	failed := counts[storage.StatusPinError] + counts[storage.StatusUnpinError]
	if done == 0 && waiting == 0 && failed == 0 {
		return
	}
	now := time.Now()
	stuck := done == 0 && waiting == 0 && failed == t.progress.failed
	if stuck && now.Sub(t.progress.at) < stuckProgressEvery {
		return
	}
	t.progress = progressLog{failed: failed, at: now}
	line := t.log.Info()
	if failed > 0 {
		line = t.log.Warn()
		if f := t.lastFailed.Load(); f != nil {
			line = line.Str("example_cid", f.cid).Str("example_error", f.err)
		}
	}
	line.Int64("done", done).Int("queued", waiting).Int("failed", failed).
		Int("pinned", counts[storage.StatusPinned]).Msg("pin queue progress")
}
