// Package fakecluster is an in-memory cluster peer for the tests of the HTTP
// packages (proxy, api/rest, api/pinsvc, intercept). It has every method
// their Cluster interfaces declare, keeps the pinset in a map, derives each
// peer's status from it, records the calls the tests assert on, and fails
// on demand. A package whose tests need more embeds *Cluster and adds it.
//
// It is a real package rather than a _test file because tests in several
// packages share it; nothing outside tests imports it.
package fakecluster

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/flotilla-ipfs/flotilla/health"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// Allocator decides what the leader decides before a commit: the
// replication defaults and the allocations among peers. An error fails the
// pin (alloc.NotEnoughPeersError, say).
type Allocator func(p storage.Pin, peers []string) (storage.Pin, error)

// Cluster is the fake peer. The zero value is not ready; use New.
type Cluster struct {
	mu sync.Mutex

	pins  map[cid.Cid]storage.Pin
	added []cid.Cid // insertion order, for ListInInsertionOrder
	// insertionOrder lists pins as they were added instead of in CID byte
	// order, which is the order of the real state.
	insertionOrder bool
	// generate, when set, replaces the pinset in List, so that a test can
	// list more pins than it wants to hold.
	generate func(fn func(storage.Pin) error) error
	now      time.Time
	tick     time.Duration
	allocate Allocator

	peers         []types.ID
	peerMaps      map[cid.Cid]map[string]types.PinStatus
	statuses      map[cid.Cid]map[string]string
	defaultStatus string
	delegates     []string
	recoverable   []cid.Cid
	metrics       map[string][]health.Metric
	alerts        []health.Alert
	repoStat      types.RepoStat

	pinErr, unpinErr error
	listErr          error
	listErrAfter     int
	onPin            func(storage.Pin)
	onWait           func(ctx context.Context, c cid.Cid, progress func(nodes, bytes uint64)) error
	onWaitUnpinned   func(ctx context.Context, was storage.Pin) error

	calls            []string
	commits          []string
	pinCalls         int
	lastPin          storage.Pin
	peerMapCalls     int
	checkedCalls     int
	peerMapsCalls    int
	localStatusCalls int
	recoverCalls     []cid.Cid
	removed          []string
	protected        []cid.Cid
}

// New returns an empty cluster with no peers whose commits are stamped
// with a clock that starts at a fixed time and advances by a millisecond
// and a nanosecond per commit, so that timestamps differ and carry
// nanoseconds, as the real cluster's do.
func New() *Cluster {
	return &Cluster{
		pins:     map[cid.Cid]storage.Pin{},
		now:      time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC),
		tick:     time.Millisecond + time.Nanosecond,
		peerMaps: map[cid.Cid]map[string]types.PinStatus{},
		statuses: map[cid.Cid]map[string]string{},
		metrics:  map[string][]health.Metric{},
	}
}

// SetClock sets the time of the next commit and how much each commit
// advances it; a tick of zero stamps every commit with now.
func (f *Cluster) SetClock(now time.Time, tick time.Duration) {
	f.locked(func() { f.now, f.tick = now, tick })
}

// Now is the clock's current time.
func (f *Cluster) Now() time.Time { return read(f, func() time.Time { return f.now }) }

// ListInInsertionOrder makes List visit pins in the order they were added,
// for golden tests that were written in that order.
func (f *Cluster) ListInInsertionOrder() { f.locked(func() { f.insertionOrder = true }) }

// GenerateList makes List visit the pins gen yields instead of the pinset.
func (f *Cluster) GenerateList(gen func(fn func(storage.Pin) error) error) {
	f.locked(func() { f.generate = gen })
}

// SetAllocator makes Pin decide replication and allocations with a before
// it commits.
func (f *Cluster) SetAllocator(a Allocator) { f.locked(func() { f.allocate = a }) }

// FailPin makes every Pin fail with err (nil: succeed again).
func (f *Cluster) FailPin(err error) { f.locked(func() { f.pinErr = err }) }

// FailUnpin makes every Unpin fail with err (nil: succeed again).
func (f *Cluster) FailUnpin(err error) { f.locked(func() { f.unpinErr = err }) }

// FailList makes List fail with err after it has visited after pins.
func (f *Cluster) FailList(err error, after int) {
	f.locked(func() { f.listErr, f.listErrAfter = err, after })
}

// OnPin runs hook at the start of every Pin, outside the fake's lock, so
// that it may block or change the fake.
func (f *Cluster) OnPin(hook func(storage.Pin)) {
	f.locked(func() { f.onPin = hook })
}

// OnWait answers WaitPinned with wait; without it WaitPinned returns nil
// at once.
func (f *Cluster) OnWait(wait func(ctx context.Context, c cid.Cid, progress func(nodes, bytes uint64)) error) {
	f.locked(func() { f.onWait = wait })
}

// OnWaitUnpinned answers WaitUnpinned with wait; without it WaitUnpinned
// returns nil at once.
func (f *Cluster) OnWaitUnpinned(wait func(ctx context.Context, was storage.Pin) error) {
	f.locked(func() { f.onWaitUnpinned = wait })
}

// Put adds pins as they are, as commits made before the test would have;
// it records no call.
func (f *Cluster) Put(pins ...storage.Pin) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range pins {
		f.store(p)
	}
}

func (f *Cluster) store(p storage.Pin) {
	if _, ok := f.pins[p.Cid]; !ok {
		f.added = append(f.added, p.Cid)
	}
	f.pins[p.Cid] = p
}

// Stored returns c's pin as the pinset holds it.
func (f *Cluster) Stored(c cid.Cid) (storage.Pin, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pins[c]
	return p, ok
}

func (f *Cluster) record(format string, a ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, a...))
}

// Calls lists every Pin, WaitPinned, Unpin and WaitUnpinned call, failed
// ones included, as "pin <cid> <mode>", "wait <cid>", "unpin <cid>" and
// "wait-unpin <cid>".
func (f *Cluster) Calls() []string { return read(f, func() []string { return slices.Clone(f.calls) }) }

// Commits lists the changes to the pinset, "pin <cid>" and "unpin <cid>",
// in commit order.
func (f *Cluster) Commits() []string {
	return read(f, func() []string { return slices.Clone(f.commits) })
}

// PinCalls counts the Pin calls, failed ones included.
func (f *Cluster) PinCalls() int { return read(f, func() int { return f.pinCalls }) }

// LastPin is the pin the last Pin call was asked to commit, as asked.
func (f *Cluster) LastPin() storage.Pin { return read(f, func() storage.Pin { return f.lastPin }) }

// Pin commits p, stamped by the clock, unless a failure was injected or
// the allocator refuses it.
func (f *Cluster) Pin(_ context.Context, p storage.Pin) (storage.Pin, error) {
	f.mu.Lock()
	hook := f.onPin
	f.mu.Unlock()
	if hook != nil {
		hook(p)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("pin %s %s", p.Cid, p.Mode)
	f.pinCalls++
	f.lastPin = p
	if f.pinErr != nil {
		return p, f.pinErr
	}
	if f.allocate != nil {
		var err error
		if p, err = f.allocate(p, f.peerIDs()); err != nil {
			return p, err
		}
	}
	f.now = f.now.Add(f.tick)
	p.Timestamp = f.now
	f.store(p)
	f.commits = append(f.commits, "pin "+p.Cid.String())
	return p, nil
}

// Protect records the uploaded roots to keep on this peer: see Protected.
func (f *Cluster) Protect(_ context.Context, cids []cid.Cid) {
	f.locked(func() { f.protected = append(f.protected, cids...) })
}

// Protected lists the CIDs that Protect was asked to keep, in call order.
func (f *Cluster) Protected() []cid.Cid {
	return read(f, func() []cid.Cid { return slices.Clone(f.protected) })
}

// WaitPinned returns at once, or what the OnWait hook returns.
func (f *Cluster) WaitPinned(ctx context.Context, c cid.Cid, progress func(nodes, bytes uint64)) error {
	f.mu.Lock()
	f.record("wait %s", c)
	wait := f.onWait
	f.mu.Unlock()
	if wait != nil {
		return wait(ctx, c, progress)
	}
	return nil
}

// WaitUnpinned returns at once, or what the OnWaitUnpinned hook returns.
func (f *Cluster) WaitUnpinned(ctx context.Context, was storage.Pin) error {
	f.mu.Lock()
	f.record("wait-unpin %s", was.Cid)
	wait := f.onWaitUnpinned
	f.mu.Unlock()
	if wait != nil {
		return wait(ctx, was)
	}
	return nil
}

// Unpin removes c, or returns storage.ErrNotFound.
func (f *Cluster) Unpin(_ context.Context, c cid.Cid) (storage.Pin, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("unpin %s", c)
	if f.unpinErr != nil {
		return storage.Pin{}, f.unpinErr
	}
	p, ok := f.pins[c]
	if !ok {
		return storage.Pin{}, storage.ErrNotFound
	}
	delete(f.pins, c)
	f.added = slices.DeleteFunc(f.added, func(x cid.Cid) bool { return x == c })
	f.commits = append(f.commits, "unpin "+c.String())
	return p, nil
}

// Get returns c's pin, or storage.ErrNotFound.
func (f *Cluster) Get(_ context.Context, c cid.Cid) (storage.Pin, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pins[c]
	if !ok {
		return storage.Pin{}, storage.ErrNotFound
	}
	return p, nil
}

// List visits the pinset in CID byte order, as the real state does (or as
// set by ListInInsertionOrder and GenerateList). It holds no lock while fn
// runs, so that fn may call back.
func (f *Cluster) List(ctx context.Context, fn func(storage.Pin) error) error {
	f.mu.Lock()
	gen := f.generate
	if gen == nil {
		pins := f.ordered()
		gen = func(yield func(storage.Pin) error) error {
			for _, p := range pins {
				if err := yield(p); err != nil {
					return err
				}
			}
			return nil
		}
	}
	listErr, after := f.listErr, f.listErrAfter
	f.mu.Unlock()
	visited := 0
	err := gen(func(p storage.Pin) error {
		if listErr != nil && visited == after {
			return listErr
		}
		visited++
		if err := ctx.Err(); err != nil {
			return err
		}
		return fn(p)
	})
	if err == nil && listErr != nil && after >= visited {
		return listErr
	}
	return err
}

// ListFrom is List from the first pin whose CID bytes follow after's, and
// returns the last CID fn accepted, as the real peer does.
func (f *Cluster) ListFrom(ctx context.Context, after cid.Cid, fn func(storage.Pin) error) (cid.Cid, error) {
	last := after
	err := f.List(ctx, func(p storage.Pin) error {
		if after.Defined() && bytes.Compare(p.Cid.Bytes(), after.Bytes()) <= 0 {
			return nil
		}
		if err := fn(p); err != nil {
			return err
		}
		last = p.Cid
		return nil
	})
	return last, err
}

// PinCount is the size of the pinset.
func (f *Cluster) PinCount() (int, error) { return read(f, func() int { return len(f.pins) }), nil }

func (f *Cluster) ordered() []storage.Pin {
	pins := make([]storage.Pin, 0, len(f.pins))
	if f.insertionOrder {
		for _, c := range f.added {
			pins = append(pins, f.pins[c])
		}
		return pins
	}
	for _, p := range f.pins {
		pins = append(pins, p)
	}
	slices.SortFunc(pins, func(a, b storage.Pin) int { return bytes.Compare(a.Cid.Bytes(), b.Cid.Bytes()) })
	return pins
}

// Cid returns a distinct raw CIDv1 for each n, for tests that need many.
func Cid(n int) cid.Cid {
	mh, err := multihash.Sum([]byte(fmt.Sprintf("pin %d", n)), multihash.SHA2_256, -1)
	if err != nil {
		panic(err)
	}
	return cid.NewCidV1(cid.Raw, mh)
}

// locked runs change under the fake's lock: handlers call the fake from
// many goroutines while tests set its knobs and read its records.
func (f *Cluster) locked(change func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change()
}

// read returns what get reads under f's lock.
func read[T any](f *Cluster, get func() T) T {
	f.mu.Lock()
	defer f.mu.Unlock()
	return get()
}
