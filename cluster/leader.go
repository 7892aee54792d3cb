package cluster

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/hashicorp/raft"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// reallocBatch bounds the ops of one re-allocation commit.
const reallocBatch = 256

// topUpInterval is how often the leader looks for under-replicated pins
// even when no peer joined.
const topUpInterval = 30 * time.Second

// leaderLoop runs the leader's duties while this peer leads, each term
// starting after a Barrier so that it acts on the whole committed log.
func (n *Node) leaderLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case isLeader := <-n.rp.raft.LeaderCh():
			if !isLeader {
				continue
			}
			if err := n.rp.raft.Barrier(30 * time.Second).Error(); err != nil {
				n.log.Warn().Err(err).Msg("barrier after election failed")
				continue
			}
			n.log.Info().Msg("this peer is the leader")
			n.leaderTerm(ctx)
		}
	}
}

// leaderTerm does the leader's periodic work until leadership is lost.
func (n *Node) leaderTerm(ctx context.Context) {
	if cur, err := n.state.Peer(n.cfg.ID); err != nil || !samePeer(cur, n.self()) {
		if err := n.recordPeer(n.self()); err != nil {
			n.log.Warn().Err(err).Msg("record this peer in the peer set")
		}
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	repinned := map[string]bool{}
	healthy := map[string]bool{}
	lastTopUp, lastExpiry := time.Now(), time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case isLeader := <-n.rp.raft.LeaderCh():
			if !isLeader {
				return
			}
		case <-tick.C:
		}
		if n.rp.raft.State() != raft.Leader {
			return
		}
		now := time.Now()
		peers, err := n.state.Peers()
		if err != nil {
			continue
		}
		var others []string
		joined := false
		for _, p := range peers {
			if p.ID == n.cfg.ID {
				continue
			}
			others = append(others, p.ID)
			up := n.monitor.Healthy(p.ID, now)
			if up && !healthy[p.ID] {
				joined = true
				delete(repinned, p.ID)
			}
			healthy[p.ID] = up
		}
		for _, id := range n.monitor.Check(others, now) {
			n.log.Warn().Str("peer", id).Msg("alert: peer heartbeat expired")
		}
		for _, id := range others {
			if down, ok := n.monitor.DownFor(id, now); ok && down >= n.cfg.RepinDelay && !repinned[id] {
				n.log.Warn().Str("peer", id).Dur("down", down).Msg("re-allocating the pins of a dead peer")
				if err := n.reallocate(ctx, id); err == nil {
					repinned[id] = true
				}
			}
		}
		if joined || now.Sub(lastTopUp) > topUpInterval {
			lastTopUp = now
			if err := n.reallocate(ctx, ""); err != nil {
				n.log.Warn().Err(err).Msg("top-up of under-replicated pins")
			}
		}
		n.promoteVoters(now)
		if now.Sub(lastExpiry) >= n.cfg.ExpiryInterval {
			lastExpiry = now
			if err := n.unpinExpired(ctx, now); err != nil {
				n.log.Warn().Err(err).Msg("unpin expired pins")
			}
		}
	}
}

// unpinExpired removes the pins whose expire_at has passed, reading the
// expiry index rather than the whole pinset.
func (n *Node) unpinExpired(ctx context.Context, now time.Time) error {
	for {
		expired, err := n.state.Expired(now, reallocBatch)
		if err != nil || len(expired) == 0 {
			return err
		}
		batch := make([]storage.Op, len(expired))
		for i, c := range expired {
			batch[i] = storage.Op{Kind: storage.OpUnpin, Pin: storage.Pin{Cid: c}}
		}
		n.log.Info().Int("pins", len(batch)).Msg("unpinning expired pins")
		if _, err := n.submit(ctx, batch); err != nil {
			return err
		}
	}
}

// reallocate re-places pins and commits the changes in batches. With a
// dead peer it moves that peer's pins elsewhere; with "" it tops up pins
// that have fewer allocations than their maximum.
func (n *Node) reallocate(ctx context.Context, dead string) error {
	var exclude []string
	if dead != "" {
		exclude = []string{dead}
	}
	var batch []storage.Op
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := n.submit(ctx, batch)
		batch = nil
		return err
	}
	var after storage.Pin
	for {
		var page []storage.Pin
		last, err := n.state.ForEachFrom(after.Cid, 512, func(p storage.Pin) error {
			page = append(page, p)
			return nil
		})
		if err != nil {
			return err
		}
		for _, p := range page {
			if p.Everywhere() || (dead != "" && !slices.Contains(p.Allocations, dead)) ||
				(dead == "" && len(p.Allocations) >= p.ReplicationFactorMax) {
				continue
			}
			current := slices.DeleteFunc(slices.Clone(p.Allocations), func(id string) bool { return id == dead })
			allocs, err := n.allocate(p, current, exclude)
			if err != nil || slices.Equal(allocs, p.Allocations) {
				continue
			}
			p.Allocations = allocs
			batch = append(batch, storage.Op{Kind: storage.OpPin, Pin: p})
			if len(batch) >= reallocBatch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if len(page) == 0 || !last.Defined() {
			break
		}
		after = storage.Pin{Cid: last}
	}
	return flush()
}

// promoteVoters keeps the configured number of voters: when one is gone, a
// healthy non-voter takes its place.
func (n *Node) promoteVoters(now time.Time) {
	cf := n.rp.raft.GetConfiguration()
	if cf.Error() != nil {
		return
	}
	voters := 0
	var spare []raft.Server
	for _, s := range cf.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			voters++
		} else if n.monitor.Healthy(string(s.ID), now) {
			spare = append(spare, s)
		}
	}
	for voters < n.cfg.Voters && len(spare) > 0 {
		s := spare[0]
		spare = spare[1:]
		if err := n.rp.raft.AddVoter(s.ID, s.Address, 0, 10*time.Second).Error(); err != nil {
			n.log.Warn().Err(err).Str("peer", string(s.ID)).Msg("promote non-voter")
			return
		}
		n.log.Info().Str("peer", string(s.ID)).Msg("promoted a non-voter to voter")
		voters++
	}
}

func samePeer(a, b storage.Peer) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
