package tracker

import (
	"time"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// progressInterval paces the info line that says how the queue moves. A
// line per pin would be some 130 MB of log per million pins: those are
// debug, and an operator reads this one instead.
const progressInterval = 30 * time.Second

// logProgress says, when the tracker did or has work, how many pins and
// unpins it finished since the last line and what waits. Every count is
// O(1) in the size of the pinset.
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
	t.log.Info().Int64("done", done).Int("queued", waiting).Int("failed", failed).
		Int("pinned", counts[storage.StatusPinned]).Msg("pin queue progress")
}
