package telemetry

import (
	"net/http"
	"net/http/pprof"
	"runtime"
)

// Profiles serves Go's runtime profiles (net/http/pprof) under
// /debug/pprof/: CPU, heap, allocations, goroutines, and the mutex and
// block profiles, whose sampling Go leaves off and this turns on for the
// process (one contention event in 100; blocking of 100 µs or more,
// sampled), since lock contention is what a profile is usually taken for.
func Profiles() http.Handler {
	runtime.SetMutexProfileFraction(100)
	runtime.SetBlockProfileRate(100_000)
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // the index, and every named profile
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
