package fakekubo

import "math"

// FailAll makes every call to endpoint fail with Kubo's error JSON carrying
// msg (HTTP 500) until ClearFail: a daemon that answers but errs for as long
// as a test wants, where FailNext counts calls.
func (f *Fake) FailAll(endpoint, msg string) { f.FailNext(endpoint, math.MaxInt, msg) }

// ClearFail ends the failures FailNext or FailAll set for endpoint, however
// many were left.
func (f *Fake) ClearFail(endpoint string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.fail, normEndpoint(endpoint))
}
