// Package tracker makes the IPFS node behind a peer hold exactly what the
// cluster allocates to that peer, as ipfs-cluster's stateless pin tracker
// does. The Node tells it of every committed change (Changed) and of a
// replaced state (Resync); the tracker pins and unpins on the IPFS node with
// bounded concurrency, inactivity timeouts and retries with backoff, keeps
// each CID's local status in the status store, and reconciles with the IPFS
// node's own pin list periodically and on start. A failed pin or unpin is
// never given up: it is retried with a backoff that grows to a cap. It
// unpins only what it pinned itself: a pin that a user made directly on the
// IPFS node is never removed, and a user's direct pin that a recursive
// cluster pin replaced is put back when the cluster unpins.
package tracker

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/internal/watermark"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// IPFS is what the tracker needs from the IPFS node behind this peer.
// internal/ipfs's Client implements it.
type IPFS interface {
	// Pin pins c under name (none if empty) and returns once the node holds
	// it. inactivity abandons a fetch that makes no progress for that long;
	// progress is called on every tick of the fetch.
	Pin(ctx context.Context, c cid.Cid, recursive bool, name string, inactivity time.Duration, progress func(nodes, bytes uint64)) error
	// PinName is the name of c's pin of type typ, "" for none.
	PinName(ctx context.Context, c cid.Cid, typ string) (string, error)
	// Unpin removes c's recursive or direct pin; a CID not pinned is success.
	Unpin(ctx context.Context, c cid.Cid) error
	// PinLs streams the node's pins of type typ to fn.
	PinLs(ctx context.Context, typ string, fn func(c cid.Cid, typ string) error) error
	// IsPinned reports whether c is pinned recursively or directly, and which.
	IsPinned(ctx context.Context, c cid.Cid) (typ string, pinned bool, err error)
	// PinUpdate pins to by updating from's recursive pin, keeping from
	// pinned (Kubo's pin update with unpin=false): only the blocks that
	// differ are fetched. An update not done after inactivity is
	// abandoned: Kubo reports no progress for it.
	PinUpdate(ctx context.Context, from, to cid.Cid, inactivity time.Duration) error
}

// Config bounds the work the tracker puts on the IPFS node.
type Config struct {
	ConcurrentPins int
	// PinTimeout is an inactivity timeout: a pin is abandoned only when its
	// fetch makes no progress for this long.
	PinTimeout        time.Duration
	UnpinTimeout      time.Duration
	ReconcileInterval time.Duration
	// RetryBackoff and MaxRetries pace the retries of a failed pin or
	// unpin, which go on for as long as it fails: the n-th failure waits
	// RetryBackoff << min(n, MaxRetries), and never more than an hour
	// (maxRetryDelay). MaxRetries is thus how many failures double the wait
	// before it stops growing. Recover retries at once.
	MaxRetries   int
	RetryBackoff time.Duration
	// ObservePin, when set, is told of every pin on the IPFS node: how long
	// it took and whether it worked, for metrics.
	ObservePin func(d time.Duration, ok bool)
	// Mirror makes the IPFS node hold every pin of the cluster, whatever
	// its allocations: a read-only follower's tracker.
	Mirror bool
}

// Tracker makes the upstream IPFS node hold exactly what the cluster
// allocates to this peer. Its work queue is the on-disk status store, so a
// million queued pins cost disk, not memory, and survive a restart.
type Tracker struct {
	self   string
	state  *storage.State
	status *storage.StatusStore
	ipfs   IPFS
	cfg    Config
	log    zerolog.Logger

	wake     chan struct{}
	resyncCh chan struct{}
	notify   *watermark.Watermark // bumped on every status write, for waiters
	// reconcileRounds counts the reconciles Run finished.
	reconcileRounds atomic.Uint64

	mu       sync.Mutex
	inflight map[cid.Cid]*progressCounter
	// queuedInflight counts the CIDs in flight whose status is known to
	// be queued on disk: dispatch reads the queue only when it holds more.
	// It may count too few (a scan then starts nothing). It counts one too
	// many only from a read of the queue older than a CID's last write
	// until that CID's worker reads or writes its record, and then pokes
	// dispatch:
	// only the worker and Changed (which uncounts) take a CID in flight
	// out of the queue; Release only queues, reconcile and recover leave
	// CIDs in flight alone, and Protect CIDs with no record.
	queuedInflight int
	version        uint64
	// slots bounds the calls on the IPFS node; maxInflight bounds the CIDs
	// in flight, most of which wait for their status writes, not for IPFS.
	slots       *slots
	maxInflight int
	workers     sync.WaitGroup
	// done counts the pins and unpins finished since the last progress line.
	done       atomic.Int64
	lastFailed atomic.Pointer[lastFailure]
	progress   progressLog
	// recent are the latest changes, dispatched before the backlog.
	recent recentQueue
	// backlogAfter is where dispatch reads the queued backlog on from.
	// Only Run's goroutine uses it.
	backlogAfter cid.Cid
	// protectHeld are the uploads whose protected pin this process saw the
	// IPFS node take, until their cluster pin commits or they are released
	// (protect.go). Guarded by mu.
	protectHeld map[cid.Cid]struct{}
}

type progressCounter struct {
	nodes, bytes uint64
	// stale is set when the pin changed while a worker was on it: the
	// worker's last status write may undo the change's, so it runs again.
	stale bool
	// urgent is set for a recent change, even one that the backlog's
	// dispatch took first: its IPFS calls go before the backlog's.
	urgent atomic.Bool
	// queued says that the CID is counted in queuedInflight.
	queued bool
	// askedAt is when the worker last asked the node about the CID, and
	// held what it learned. unheldAfter says that a reconcile's listing,
	// begun after askedAt, missed the CID: a worker that found it held
	// then asks again.
	askedAt     time.Time
	held        bool
	unheldAfter bool
}

// New returns the tracker of peer self, which reads the pinset from state
// and keeps its queue and its statuses in status. It does no work until Run.
func New(self string, state *storage.State, status *storage.StatusStore, ipfs IPFS, cfg Config, log zerolog.Logger) *Tracker {
	if cfg.ConcurrentPins < 1 {
		cfg.ConcurrentPins = 10
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 12 // 1s << 12 is past the hour of maxRetryDelay
	}
	if cfg.RetryBackoff == 0 {
		cfg.RetryBackoff = time.Second
	}
	return &Tracker{
		self:        self,
		state:       state,
		status:      status,
		ipfs:        ipfs,
		cfg:         cfg,
		log:         log,
		wake:        make(chan struct{}, 1),
		resyncCh:    make(chan struct{}, 1),
		notify:      watermark.New(),
		inflight:    map[cid.Cid]*progressCounter{},
		protectHeld: map[cid.Cid]struct{}{},
		slots:       newSlots(cfg.ConcurrentPins),
		// Enough CIDs in flight that the status writes of hundreds share
		// one transaction while the IPFS slots stay busy.
		maxInflight: max(minInflight, inflightPerSlot*cfg.ConcurrentPins),
	}
}

// minInflight and inflightPerSlot size the CIDs in flight: see maxInflight.
// Against an in-memory IPFS, 1024 tracked 30-60% more pins per second than
// 512 (larger group commits), and 2048 no more than 1024 (docs/performance.md).
const (
	minInflight     = 1024
	inflightPerSlot = 8
)

func (t *Tracker) poke() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

func (t *Tracker) bump() {
	t.mu.Lock()
	t.version++
	v := t.version
	t.mu.Unlock()
	t.notify.Set(v)
}

// Changed records what committed entries mean for this peer. The Node
// calls it on the FSM goroutine, synchronously, so that a request that
// waits for its entry to apply then sees the status it caused, never a
// stale one.
func (t *Tracker) Changed(changes []storage.Change) {
	now := time.Now().UTC()
	held := make([]bool, len(changes))
	t.mu.Lock()
	for i, ch := range changes {
		if pc, busy := t.inflight[ch.Pin.Cid]; busy {
			pc.stale = true
			// Its status is the edit's now, not known queued.
			t.uncountLocked(pc)
		}
		held[i] = t.takeProtectHeldLocked(ch.Pin.Cid)
	}
	t.mu.Unlock()
	cids := make([]cid.Cid, len(changes))
	for i, ch := range changes {
		cids[i] = ch.Pin.Cid
	}
	queued := make([]bool, len(changes))
	err := t.status.Edit(cids, func(i int, st *storage.LocalStatus, known bool) storage.StatusAction {
		ch := changes[i]
		queued[i] = false
		wanted := ch.Kind == storage.OpPin && t.holds(ch.Pin)
		switch {
		case wanted && known && st.Status == storage.StatusPinned && !deepened(ch):
			return storage.KeepStatus
		case wanted && held[i] && heldAsWanted(st, known, ch):
			// The upload's protected pin, which the node took, is the
			// pin wanted: it simply becomes the cluster's, and nothing
			// need ask the node again.
			st.Protected, st.Error, st.Timestamp = false, "", now
			return storage.PutStatus
		case wanted:
			st.Status, st.Error, st.AttemptCount, st.Timestamp = storage.StatusPinQueued, "", 0, now
		case known && st.Protected && ch.Kind == storage.OpPin:
			// An upload received here, allocated elsewhere: kept until
			// an allocated peer holds it (Release).
			return storage.KeepStatus
		case known && st.Managed && !st.Preexisting:
			// Unpinned: a protection goes with the pin.
			st.Protected = false
			st.Status, st.Error, st.AttemptCount, st.Timestamp = storage.StatusUnpinQueued, "", 0, now
		case known:
			return storage.DeleteStatus
		default:
			return storage.KeepStatus
		}
		queued[i] = true
		return storage.PutStatus
	})
	if err != nil {
		t.log.Error().Err(err).Msg("record queued pins")
	}
	var recent []cid.Cid
	for i, q := range queued {
		if q {
			recent = append(recent, cids[i])
		}
	}
	if len(recent) > 0 {
		t.recent.push(recent)
	}
	t.bump()
	t.poke()
}

// deepened reports whether a pin went from direct to recursive, which the
// IPFS node must be told even where the direct pin is already held.
func deepened(ch storage.Change) bool {
	return ch.Pin.Mode == storage.Recursive && (ch.Prev == nil || ch.Prev.Mode == storage.Direct)
}

// Resync asks for a full reconcile, after a snapshot replaced the state.
func (t *Tracker) Resync() {
	select {
	case t.resyncCh <- struct{}{}:
	default:
	}
}

// Run works until ctx ends, then waits for its workers: pins cut short by
// the end are left queued for the next start. It first queues again the
// pins and unpins that a killed process left in flight.
//
// Reconciles run beside dispatch, never in its loop: one walks the whole
// pinset (two minutes at ten million pins), and a new pin must not wait
// for it.
func (t *Tracker) Run(ctx context.Context) {
	retry := time.NewTicker(max(t.cfg.RetryBackoff/2, 100*time.Millisecond))
	defer retry.Stop()
	progress := time.NewTicker(progressInterval)
	defer progress.Stop()
	t.requeueInterrupted(ctx)
	t.Resync()
	var reconciler sync.WaitGroup
	reconciler.Go(func() { t.reconcileLoop(ctx) })
	for {
		t.dispatch(ctx)
		select {
		case <-ctx.Done():
			reconciler.Wait()
			t.workers.Wait()
			return
		case <-progress.C:
			t.logProgress()
		case <-t.wake:
		case <-retry.C:
		}
	}
}

// reconcileLoop reconciles on Resync and every ReconcileInterval, one
// reconcile at a time, until ctx ends.
func (t *Tracker) reconcileLoop(ctx context.Context) {
	every := time.NewTicker(max(t.cfg.ReconcileInterval, time.Second))
	defer every.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-every.C:
		case <-t.resyncCh:
		}
		if err := t.Reconcile(ctx); err != nil && ctx.Err() == nil {
			t.log.Warn().Err(err).Msg("reconcile with the IPFS node failed; will retry")
		}
		t.reconcileRounds.Add(1)
	}
}

// ReconcileRounds is how many reconciles Run finished, failed ones
// included: the first is the start's.
func (t *Tracker) ReconcileRounds() uint64 { return t.reconcileRounds.Load() }

// Close waits for the workers that Run started.
func (t *Tracker) Close() { t.workers.Wait() }

// holds reports whether this peer's IPFS node must hold p.
func (t *Tracker) holds(p storage.Pin) bool { return t.cfg.Mirror || p.AllocatedTo(t.self) }
