package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/alloc"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// commitRetryWindow is how long a write keeps trying through leader
// changes before it reports types.ErrNoLeader. A failover takes about two election
// timeouts; a partitioned minority gives up after this.
const commitRetryWindow = 6 * time.Second

// Pin commits p to the cluster pinset. Zero replication factors take the
// configured defaults; allocations and the timestamp are decided here,
// before the commit, so that every peer applies the same pin. It returns
// once the entry committed; reads through this peer see it (caughtUp).
func (n *Node) Pin(ctx context.Context, p storage.Pin) (storage.Pin, error) {
	if err := n.refuseWrite(); err != nil {
		return p, err
	}
	if !p.Cid.Defined() {
		return p, errors.New("pin: undefined CID")
	}
	if p.ReplicationFactorMin == 0 {
		p.ReplicationFactorMin = n.cfg.Allocation.ReplicationFactorMin
	}
	if p.ReplicationFactorMax == 0 {
		p.ReplicationFactorMax = n.cfg.Allocation.ReplicationFactorMax
	}
	if p.ReplicationFactorMin != -1 && p.ReplicationFactorMax == -1 {
		// A finite minimum with "everywhere" as the maximum: every peer
		// that exists now.
		p.ReplicationFactorMax = max(p.ReplicationFactorMin, n.peerCount())
	}
	if err := alloc.CheckFactors(p.ReplicationFactorMin, p.ReplicationFactorMax); err != nil {
		return p, err
	}
	// The current allocations keep a re-pinned CID where it is. They are
	// read without waiting for this peer's own writes to apply: a CID
	// pinned again at once may be placed anew, which the leader's repair
	// pass accepts like any other allocation.
	var current []string
	if existing, err := n.state.Get(p.Cid); err == nil {
		current = existing.Allocations
	} else if p.PinUpdate.Defined() {
		// A new version goes first where the old one is: those peers hold
		// most of its blocks, and pin it by updating the old pin. The old
		// pin is read as a read is, after this peer's own writes.
		if old, err := n.Get(ctx, p.PinUpdate); err == nil {
			current = old.Allocations
		}
	}
	allocs, err := n.allocate(p, current, nil)
	if err != nil {
		return p, err
	}
	p.Allocations = allocs
	p.Timestamp = time.Now().UTC()
	if _, err := n.submit(ctx, []storage.Op{{Kind: storage.OpPin, Pin: p}}); err != nil {
		return p, err
	}
	return p, nil
}

// Unpin removes c from the pinset and returns the pin as it was.
func (n *Node) Unpin(ctx context.Context, c cid.Cid) (storage.Pin, error) {
	if err := n.refuseWrite(); err != nil {
		return storage.Pin{}, err
	}
	p, err := n.Get(ctx, c)
	if err != nil {
		return p, err
	}
	// The timestamp is the unpin's identity: a retry of it is recognised
	// and never undoes a pin made after it.
	unpin := storage.Op{Kind: storage.OpUnpin, Pin: storage.Pin{Cid: c, Timestamp: time.Now().UTC()}}
	if _, err := n.submit(ctx, []storage.Op{unpin}); err != nil {
		return p, err
	}
	return p, nil
}

// Get reads this peer's copy of the pinset, which includes every write that
// returned through this peer.
func (n *Node) Get(ctx context.Context, c cid.Cid) (storage.Pin, error) {
	if err := n.caughtUp(ctx); err != nil {
		return storage.Pin{}, err
	}
	return n.state.Get(c)
}

// List streams the pinset in CID order. It reads in pages, calling fn
// outside any transaction, so that fn may take its time and call back into
// the node.
func (n *Node) List(ctx context.Context, fn func(storage.Pin) error) error {
	_, err := n.ListFrom(ctx, cid.Undef, fn)
	return err
}

// ListFrom is List from the first pin after the CID after (from the start
// when after is cid.Undef). It returns the last CID fn accepted, where a
// listing stopped by fn's error resumes; a nil error means the end was
// reached.
func (n *Node) ListFrom(ctx context.Context, after cid.Cid, fn func(storage.Pin) error) (cid.Cid, error) {
	if err := n.caughtUp(ctx); err != nil {
		return after, err
	}
	for {
		last, err := n.state.ForEachFrom(after, 1024, func(p storage.Pin) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return fn(p)
		})
		if last.Defined() {
			after = last
		}
		if err != nil || !last.Defined() {
			return after, err
		}
	}
}

// PinCount is the size of the pinset, read from a counter: O(1).
func (n *Node) PinCount() (int, error) {
	if err := n.caughtUp(context.Background()); err != nil {
		return 0, err
	}
	return n.state.Count()
}

// allocate places p on healthy peers, never on the excluded ones.
func (n *Node) allocate(p storage.Pin, current, exclude []string) ([]string, error) {
	cands := n.candidates(exclude)
	return alloc.Allocate(alloc.Request{
		Min:        p.ReplicationFactorMin,
		Max:        p.ReplicationFactorMax,
		Current:    current,
		Priority:   p.UserAllocations,
		Candidates: cands,
		AllocateBy: n.cfg.Allocation.AllocateBy,
		Key:        p.Cid.KeyString(),
	})
}

// submit commits ops through the leader, retrying across leader changes
// (ops are idempotent, so a retry after an ambiguous failure is safe), and
// returns once they committed.
func (n *Node) submit(ctx context.Context, ops []storage.Op) (uint64, error) {
	var idx uint64
	err := retryLeaderChanges(ctx, commitRetryWindow, func() (err error) {
		idx, err = n.submitOnce(ctx, ops)
		return err
	})
	if err != nil {
		return 0, err
	}
	n.acknowledge(idx)
	return idx, nil
}

// retryLeaderChanges runs attempt until it succeeds, fails in a way no
// other leader would change, ctx ends, or window has passed; then a
// failure for want of a leader is types.ErrNoLeader.
func retryLeaderChanges(ctx context.Context, window time.Duration, attempt func() error) error {
	deadline := time.Now().Add(window)
	backoff := 20 * time.Millisecond
	for {
		err := attempt()
		if err == nil || !retryable(err) {
			return err
		}
		if time.Now().After(deadline) {
			if errors.Is(err, types.ErrNoLeader) {
				return err
			}
			return fmt.Errorf("%w (last error: %v)", types.ErrNoLeader, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 250*time.Millisecond)
	}
}

func (n *Node) submitOnce(ctx context.Context, ops []storage.Op) (uint64, error) {
	if n.rp.raft.State() == raft.Leader {
		return n.batch.submit(ctx, ops, false)
	}
	if _, id := n.rp.raft.LeaderWithID(); id == "" {
		return 0, types.ErrNoLeader
	}
	return n.forward.submit(ctx, ops, false)
}

// forwardTimeout bounds one forwarded batch: it serves many callers, so no
// caller's context may end it.
const forwardTimeout = time.Minute

// forwardToLeader sends a batch of this follower's writes to the leader in
// one peer RPC: concurrent writes share the round trip, and the leader's
// group commit takes them as one request. The forward is given up as soon
// as this peer's Raft no longer names that leader: a leader cut off
// without a closed connection (a pulled cable) never answers, and the
// writes are sent again to the next one (submit retries; ops are
// idempotent).
func (n *Node) forwardToLeader(ctx context.Context, ops []storage.Op) (uint64, error) {
	addr, id := n.rp.raft.LeaderWithID()
	if id == "" {
		return 0, types.ErrNoLeader
	}
	ctx, cancel := context.WithTimeout(ctx, forwardTimeout)
	defer cancel()
	ctx, stop := n.whileLeading(ctx, id)
	defer stop()
	index, err := n.client.Apply(ctx, string(addr), ops)
	if err != nil && errors.Is(context.Cause(ctx), errLeaderChanged) {
		return 0, fmt.Errorf("%w: %s, forwarded to: %v", raft.ErrLeadershipLost, errLeaderChanged, err)
	}
	return index, err
}

// leaderCheckInterval is how often a forward in flight looks whether its
// leader still leads.
const leaderCheckInterval = 100 * time.Millisecond

var errLeaderChanged = errors.New("the leader changed while a forwarded write waited for it")

// whileLeading returns a context that ends, with errLeaderChanged as its
// cause, once this peer's Raft stops naming id as the leader.
func (n *Node) whileLeading(parent context.Context, id raft.ServerID) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	go every(ctx, leaderCheckInterval, func(time.Time) {
		if _, cur := n.rp.raft.LeaderWithID(); cur != id {
			cancel(errLeaderChanged)
		}
	})
	return ctx, func() { cancel(nil) }
}

// WaitUnpinned returns once this peer's IPFS node no longer holds the pin
// that Unpin removed (was, as Unpin returned it), or with the error of a
// failed unpin. A pin not allocated to this peer is not waited for: this
// peer's node never held it.
func (n *Node) WaitUnpinned(ctx context.Context, was storage.Pin) error {
	if err := n.caughtUp(ctx); err != nil {
		return err
	}
	if !n.holds(was) {
		return nil
	}
	return n.tracker.WaitUnpinned(ctx, was.Cid)
}

// remotePollInterval paces WaitPinned's questions to other peers.
const remotePollInterval = 200 * time.Millisecond

// WaitPinned returns once c is pinned on at least one of its allocated
// peers, or with the error of a failed pin.
func (n *Node) WaitPinned(ctx context.Context, c cid.Cid, progress func(nodes, bytes uint64)) error {
	if err := n.caughtUp(ctx); err != nil {
		return err
	}
	for {
		p, err := n.state.Get(c)
		if err != nil {
			return fmt.Errorf("%s was unpinned while waiting for it to be pinned", c)
		}
		if n.holds(p) {
			return n.tracker.WaitPinned(ctx, c, progress)
		}
		asked := time.Now()
		done, err := n.remotePinned(ctx, p)
		if done || err != nil {
			return err
		}
		// Peers that held the question until their status settled leave
		// no wait; a peer of an older build answers at once, and is asked
		// again after what is left of remotePollInterval.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(remotePollInterval - time.Since(asked)):
		}
	}
}
