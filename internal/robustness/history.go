package robustness

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// Recorder collects a history from concurrent clients. Times are
// nanoseconds since the recorder was made, on the monotonic clock.
type Recorder struct {
	start time.Time

	mu      sync.Mutex
	ops     []porcupine.Operation
	pending []int            // indexes in ops of writes with unknown outcome
	floors  map[string]int64 // peer -> latest call of a write acknowledged through it
	notes   []porcupine.Annotation
	clients int
}

// NewRecorder starts a history at time zero.
func NewRecorder() *Recorder {
	return &Recorder{start: time.Now(), floors: map[string]int64{}}
}

// Now is the history's clock.
func (r *Recorder) Now() int64 { return int64(time.Since(r.start)) }

// NewClient returns a client ID for the visualization, one row each. A
// client takes a new ID after a write with unknown outcome, whose interval
// runs to the end of the history.
func (r *Recorder) NewClient() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clients++
	return r.clients - 1
}

// Call is an operation in flight through one peer.
type Call struct {
	peer  string
	at    int64
	floor int64 // the peer's floor when the call began
}

// Begin marks the call of an operation through peer.
func (r *Recorder) Begin(peer string) Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Call{peer: peer, at: r.Now(), floor: r.floors[peer]}
}

// Write records a pin or unpin that returned err. It reports whether the
// outcome is unknown, after which the client should take a new ID.
func (r *Recorder) Write(c Call, client int, in Input, err error) (unknown bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.Now()
	op := porcupine.Operation{ClientId: client, Input: in, Call: c.at, Return: now,
		Metadata: fmt.Sprintf("through %s", c.peer)}
	if err != nil {
		op.Output, op.Return = Output{Unknown: true}, math.MaxInt64
		op.Metadata = fmt.Sprintf("through %s, failed at %s: %v", c.peer, ms(now), err)
		r.pending = append(r.pending, len(r.ops))
	} else {
		op.Output = Output{}
		r.ackLocked(c)
	}
	r.ops = append(r.ops, op)
	return err != nil
}

// Barrier records a write that is not part of the history (a pin of a
// sentinel key) only for what it tells about the peer it went through.
func (r *Recorder) Barrier(c Call, err error) {
	if err != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ackLocked(c)
}

func (r *Recorder) ackLocked(c Call) {
	r.floors[c.peer] = max(r.floors[c.peer], c.at)
}

// Read records that a read of key through the peer of c saw value (the pin
// name, "" for not pinned). Its interval starts at the peer's floor when
// the call began, not at the call: see the package documentation.
func (r *Recorder) Read(c Call, client, key int, value string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = append(r.ops, porcupine.Operation{
		ClientId: client,
		Input:    Input{Kind: Read, Key: key},
		Output:   Output{Value: value},
		Call:     c.floor,
		Return:   r.Now(),
		Metadata: fmt.Sprintf("through %s, called at %s (interval from the peer's floor %s)", c.peer, ms(c.at), ms(c.floor)),
	})
}

// Annotate marks a span of the history, a fault say, for the visualization.
func (r *Recorder) Annotate(tag string, start, end int64, what string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, porcupine.Annotation{Tag: tag, Start: start, End: end, Description: what,
		Details: fmt.Sprintf("%s from %s to %s", what, ms(start), ms(end))})
}

// Operations returns the history so far. Writes with unknown outcome end
// after everything else in it.
func (r *Recorder) Operations() []porcupine.Operation {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]porcupine.Operation(nil), r.ops...)
	end := r.Now() + 1
	for _, i := range r.pending {
		out[i].Return = end
	}
	return out
}

// Counts reports how many operations of each kind the history has, and how
// many writes have an unknown outcome.
func (r *Recorder) Counts() (counts map[Kind]int, unknown int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	counts = map[Kind]int{}
	for _, op := range r.ops {
		counts[op.Input.(Input).Kind]++
	}
	return counts, len(r.pending)
}

// Result is the outcome of a check.
type Result struct {
	Verdict porcupine.CheckResult
	// File is the visualization written for a history that is not
	// linearizable, or whose check timed out; "" otherwise.
	File string
}

// Check checks the history and, unless it is linearizable, writes
// porcupine's visualization (with the annotations) to dir/name.html.
func (r *Recorder) Check(timeout time.Duration, dir, name string) (Result, error) {
	ops := r.Operations()
	verdict, info := porcupine.CheckOperationsVerbose(Model, ops, timeout)
	res := Result{Verdict: verdict}
	if verdict == porcupine.Ok {
		return res, nil
	}
	r.mu.Lock()
	info.AddAnnotations(r.notes)
	r.mu.Unlock()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, err
	}
	res.File = filepath.Join(dir, name+".html")
	return res, porcupine.VisualizePath(Model, info, res.File)
}

func ms(ns int64) string { return time.Duration(ns).Round(time.Millisecond).String() }
