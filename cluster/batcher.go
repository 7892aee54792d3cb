package cluster

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/flotilla-ipfs/flotilla/cluster/peerrpc"
	"github.com/flotilla-ipfs/flotilla/internal/watermark"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// maxBatchBytes bounds one Raft entry; a follower must receive it in one
// AppendEntries without stalling heartbeats.
const maxBatchBytes = 4 << 20

// maxInflightBatches is how many entries may wait on Raft at once. While they
// do, new requests queue up and leave together in the next entry: that is
// what makes throughput grow with concurrency instead of with fsyncs.
const maxInflightBatches = 2

// maxUnappliedBatches bounds the leader's entries that committed but that
// it has not applied yet: answering at the commit must not let them pile
// up in memory when the state writes fall behind.
const maxUnappliedBatches = 8

type opRequest struct {
	ops []storage.Op
	// forwarded marks a request from a follower, whose reads wait to
	// apply the entry: the commit must reach the followers soon.
	forwarded bool
	done      chan opResult
}

type opResult struct {
	index uint64
	err   error
}

// batcher is group commit: concurrent pin operations are gathered into
// one batch, bounded by count, bytes and a short delay. The leader's sends
// each batch as one CmdPinBatch entry to Raft; a follower's (the
// forwarder) sends each batch to the leader in one peer RPC Apply, rather
// than one RPC per write.
type batcher struct {
	// send commits a batch and returns the index of the entry that
	// carried it: applyRaft unless set otherwise.
	send     func(ctx context.Context, ops []storage.Op) (uint64, error)
	raft     *raft.Raft // the leader's batcher: Raft, set before it runs
	in       chan opRequest
	maxOps   int
	maxDelay time.Duration
	inflight chan struct{}
	// unapplied holds a place from the send of an entry to its apply
	// here; set with applied.
	unapplied chan struct{}
	// forwarded counts the entries in flight that carry a follower's ops,
	// whose commit the nudge passes on.
	forwarded atomic.Int32
	// waits answers the leader's proposers at the commit (applyRaft).
	waits commitWaits
	nudge commitNudge
	// applied, when set, is this peer's applied index: an entry answered
	// at its commit keeps a place in unapplied until it is applied here.
	applied *watermark.Watermark
	onBatch func(ops int)
	observe func(d time.Duration, ops int)
}

// newBatcher returns a batcher that sends to Raft, whose raft must be set
// before it runs.
func newBatcher(maxOps int, maxDelay time.Duration) *batcher {
	b := &batcher{
		in:       make(chan opRequest, 4*maxOps),
		maxOps:   maxOps,
		maxDelay: maxDelay,
		inflight: make(chan struct{}, maxInflightBatches),
	}
	b.send = b.applyRaft
	// The nudge sends from a timer's goroutine: the Barrier's wait for
	// Raft's leader loop never holds the FSM, which arms it.
	b.nudge = commitNudge{delay: commitNudgeDelay, send: func() { b.raft.Barrier(0) }}
	return b
}

// submit queues ops and returns the index of the entry that carried them,
// once that entry committed. Ops are checked here, as the FSM would:
// invalid ones never share an entry with others, and an entry of valid
// ops cannot be refused, which is what lets the leader answer at the
// commit.
func (b *batcher) submit(ctx context.Context, ops []storage.Op, forwarded bool) (uint64, error) {
	if err := storage.ValidateOps(ops); err != nil {
		return 0, err
	}
	req := opRequest{ops: ops, forwarded: forwarded, done: make(chan opResult, 1)}
	select {
	case b.in <- req:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	select {
	case res := <-req.done:
		return res.index, res.err
	case <-ctx.Done():
		// The entry may still commit; ops are idempotent, so a caller's retry
		// is safe.
		return 0, ctx.Err()
	}
}

func (b *batcher) run(ctx context.Context) {
	for {
		var first opRequest
		select {
		case first = <-b.in:
		case <-ctx.Done():
			return
		}
		if !b.take(ctx, b.unapplied) || !b.take(ctx, b.inflight) {
			first.done <- opResult{err: raft.ErrRaftShutdown}
			return
		}
		batch := b.gather(first)
		go b.commit(ctx, batch)
	}
}

// take takes a place in slots (none when nil), unless ctx ends first.
func (b *batcher) take(ctx context.Context, slots chan struct{}) bool {
	if slots == nil {
		return true
	}
	select {
	case slots <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

// gather takes what is already queued, and waits up to maxDelay for more
// only when there is company: a lone request is never delayed.
func (b *batcher) gather(first opRequest) []opRequest {
	batch := []opRequest{first}
	ops, size := len(first.ops), approxSize(first.ops)
	var timer <-chan time.Time
	for ops < b.maxOps && size < maxBatchBytes {
		select {
		case r := <-b.in:
			batch = append(batch, r)
			ops += len(r.ops)
			size += approxSize(r.ops)
			if timer == nil && b.maxDelay > 0 {
				timer = time.After(b.maxDelay)
			}
			continue
		default:
		}
		if timer == nil {
			return batch
		}
		select {
		case r := <-b.in:
			batch = append(batch, r)
			ops += len(r.ops)
			size += approxSize(r.ops)
		case <-timer:
			return batch
		}
	}
	return batch
}

func (b *batcher) commit(ctx context.Context, batch []opRequest) {
	if b.unapplied != nil {
		defer func() { <-b.unapplied }()
	}
	if slices.ContainsFunc(batch, func(r opRequest) bool { return r.forwarded }) {
		b.forwarded.Add(1)
		defer b.forwarded.Add(-1)
	}
	var ops []storage.Op
	for _, r := range batch {
		ops = append(ops, r.ops...)
	}
	if b.onBatch != nil {
		b.onBatch(len(ops))
	}
	start := time.Now()
	var res opResult
	res.index, res.err = b.send(ctx, ops)
	<-b.inflight
	if b.observe != nil && res.err == nil {
		b.observe(time.Since(start), len(ops))
	}
	for _, r := range batch {
		r.done <- res
	}
	if b.applied != nil && res.err == nil {
		_ = b.applied.Wait(ctx, res.index)
	}
}

// applyRaft commits ops as one entry and returns its index once it
// committed: the FSM tells of the commit before this peer, the leader,
// applies the entry (committed). The future answers instead when the
// entry fails, or when the FSM skips it as already applied.
func (b *batcher) applyRaft(_ context.Context, ops []storage.Op) (uint64, error) {
	data, err := storage.EncodeCommand(storage.Command{Type: storage.CmdPinBatch, Ops: ops})
	if err != nil {
		return 0, err
	}
	atCommit := b.waits.add(data)
	defer b.waits.remove(data)
	f := b.raft.Apply(data, 0)
	b.nudge.entryAppended()
	answered := make(chan struct{})
	go func() {
		_ = f.Error()
		close(answered)
	}()
	select {
	case index := <-atCommit:
		return index, nil
	case <-answered:
	}
	if err := f.Error(); err != nil {
		return 0, err
	}
	if e, ok := f.Response().(error); ok && e != nil {
		return f.Index(), e
	}
	return f.Index(), nil
}

// committed is told by the FSM, as it starts to apply committed entries,
// that they committed: it answers the proposers of the leader's own
// entries among them, and, when a follower's write is among those in
// flight, has the commit passed on to the followers (commitNudge).
func (b *batcher) committed(logs []*raft.Log) {
	b.waits.committed(logs)
	if b.forwarded.Load() > 0 {
		b.nudge.committed()
	}
}

// passCommitOn has the commit reach the followers soon, as one of them
// waits to apply it: at once when nothing is queued or in flight, since no
// entry would follow to carry it; else with the next entry, or the nudge
// once the log goes idle.
func (b *batcher) passCommitOn() {
	if len(b.in) == 0 && len(b.inflight) == 0 {
		b.nudge.now()
		return
	}
	b.nudge.committed()
}

func approxSize(ops []storage.Op) int {
	n := 0
	for _, op := range ops {
		n += 64 + len(op.Pin.Name) + 48*len(op.Pin.Allocations)
		for k, v := range op.Pin.Metadata {
			n += len(k) + len(v)
		}
	}
	return n
}

// retryable reports errors after which the same operation may succeed on a
// (new) leader.
func retryable(err error) bool {
	return errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) ||
		errors.Is(err, raft.ErrLeadershipTransferInProgress) || errors.Is(err, types.ErrNoLeader) ||
		errors.Is(err, peerrpc.ErrUnreachable)
}
