package offline

// The external tests check batching and clean-up against these.
const (
	ImportBatchPins = importBatchPins
	TempPrefix      = tempPrefix
)
