package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/cluster/peerrpc"
	"github.com/flotilla-ipfs/flotilla/health"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// peerService answers other peers' RPC for this Node: each method is this
// peer's own part of a cluster-wide operation.
type peerService struct{ n *Node }

var _ peerrpc.Local = peerService{}

func (s peerService) Apply(ctx context.Context, ops []storage.Op) (uint64, error) {
	if s.n.rp.raft.State() != raft.Leader {
		return 0, raft.ErrNotLeader
	}
	return s.n.batch.submit(ctx, ops, true)
}

// Join adds p on the leader; any other member passes the request on, so
// that a new peer may bootstrap through any of them.
func (s peerService) Join(ctx context.Context, p storage.Peer, proof *peerrpc.JoinProof) error {
	n := s.n
	if err := n.refuseWrite(); err != nil {
		// A follower passes no join on: its calls are a follower's.
		return fmt.Errorf("join through a full peer: %w", err)
	}
	if n.rp.raft.State() == raft.Leader {
		return n.addPeer(p, proof)
	}
	addr, id := n.rp.raft.LeaderWithID()
	if id == "" {
		return types.ErrNoLeader
	}
	return n.client.Join(ctx, string(addr), p, proof)
}

func (s peerService) Remove(ctx context.Context, id string) error { return s.n.removeOnce(ctx, id) }

// AcceptMetrics records a heartbeat. A removed peer's Raft may never hear
// of its removal; the leader's answer to its heartbeat tells it.
func (s peerService) AcceptMetrics(ms []health.Metric) error {
	n := s.n
	if len(ms) > 0 && n.rp.raft.State() == raft.Leader && !n.inRaft(ms[0].Peer) {
		return types.ErrRemoved
	}
	n.monitor.Accept(ms, time.Now())
	return nil
}

func (s peerService) ID(ctx context.Context) types.ID { return s.n.ID(ctx) }

func (s peerService) Recover(ctx context.Context, c cid.Cid) { s.n.tracker.Recover(ctx, c) }

func (s peerService) RecoverAll(ctx context.Context, fn func([]cid.Cid) error) error {
	return s.n.tracker.RecoverAll(ctx, fn)
}

func (s peerService) RepoStat(ctx context.Context) (types.RepoStat, error) {
	return s.n.localRepoStat(ctx)
}

func (s peerService) RepoGC(ctx context.Context) types.RepoGC { return s.n.localRepoGC(ctx) }

// WaitApplied waits, bounded like a read through this peer, for the entry
// at index to be applied here.
func (s peerService) WaitApplied(ctx context.Context, index uint64) error {
	return s.n.waitApplied(ctx, index)
}

func (s peerService) Statuses(cids []cid.Cid) []types.PinStatus { return s.n.localStatuses(cids) }

func (s peerService) CheckedStatuses(ctx context.Context, cids []cid.Cid) []types.PinStatus {
	return s.n.checkedStatuses(ctx, cids)
}

// PassCommitOn passes the last commit on to the followers soon, when this
// peer leads: a follower waits to apply it.
func (s peerService) PassCommitOn() {
	if s.n.rp.raft.State() == raft.Leader {
		s.n.batch.passCommitOn()
	}
}

// WaitSettled waits for this peer's pin of c to be held or to fail: the
// tracker's wait returns on either.
func (s peerService) WaitSettled(ctx context.Context, c cid.Cid) {
	_ = s.n.tracker.WaitPinned(ctx, c, nil)
}

func (s peerService) FullMember(id string) bool {
	p, err := s.n.state.Peer(id)
	return err == nil && !p.Follower
}

func (s peerService) LocalStatuses(ctx context.Context, fn func(cid.Cid, types.PinStatus) error) error {
	return s.n.streamLocalStatuses(ctx, fn)
}
