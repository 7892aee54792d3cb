package offline

import "testing"

// The external tests check clean-up against this.
const TempPrefix = tempPrefix

// SetImportSizes makes imports write batches of batch pins and sort runs
// of run pins (frames of run/3 in their files), so that a test covers
// several of each with few pins.
func SetImportSizes(t testing.TB, batch, run int) {
	b, r, f := importBatchPins, runPins, runFrame
	importBatchPins, runPins, runFrame = batch, run, max(run/3, 1)
	t.Cleanup(func() { importBatchPins, runPins, runFrame = b, r, f })
}
