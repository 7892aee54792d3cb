package cluster

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// reallocBatch bounds the ops of one re-allocation commit.
const reallocBatch = 256

// topUpInterval is how often the leader looks for under-replicated pins
// even when no peer joined.
const topUpInterval = 30 * time.Second

// dutyTick paces the leader's duties that watch the peers' health.
const dutyTick = time.Second

// leaderLoop establishes leadership each time this peer wins an election,
// and revokes it when the peer loses it.
func (n *Node) leaderLoop(ctx context.Context) {
	revoke := func() {}
	defer func() { revoke() }()
	for {
		select {
		case <-ctx.Done():
			return
		case isLeader := <-n.rp.raft.LeaderCh():
			revoke()
			revoke = func() {}
			if isLeader {
				revoke = n.establishLeadership(ctx)
			}
		}
	}
}

// establishLeadership starts one loop per leader duty, after a Barrier so
// that each acts on the whole committed log, and returns the function that
// stops them all together (Nomad's establishLeadership).
func (n *Node) establishLeadership(ctx context.Context) (revoke func()) {
	if err := n.rp.raft.Barrier(30 * time.Second).Error(); err != nil {
		n.log.Warn().Err(err).Msg("barrier after election failed")
		return func() {}
	}
	n.log.Info().Msg("this peer is the leader")
	if cur, err := n.state.Peer(n.cfg.ID); err != nil || !samePeer(cur, n.self()) {
		if err := n.recordPeer(n.self()); err != nil {
			n.log.Warn().Err(err).Msg("record this peer in the peer set")
		}
	}
	lctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	duties := []func(context.Context){n.raiseAlerts, n.repinDeadPeers, n.topUp, n.promoteVotersDuty, n.expirePins}
	for _, duty := range duties {
		wg.Add(1)
		go func() {
			defer wg.Done()
			duty(lctx)
		}()
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// every calls fn at each tick of interval until ctx ends.
func every(ctx context.Context, interval time.Duration, fn func(now time.Time)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			fn(now)
		}
	}
}

// otherPeers lists the members but this one.
func (n *Node) otherPeers() []string {
	var out []string
	for _, p := range n.members() {
		if p.ID != n.cfg.ID {
			out = append(out, p.ID)
		}
	}
	return out
}

// healthWatch tells which peers came up since it last looked.
type healthWatch map[string]bool

func (h healthWatch) cameUp(n *Node, peers []string, now time.Time) []string {
	var up []string
	for _, id := range peers {
		healthy := n.monitor.Healthy(id, now)
		if healthy && !h[id] {
			up = append(up, id)
		}
		h[id] = healthy
	}
	return up
}

// raiseAlerts turns expired heartbeats into alerts.
func (n *Node) raiseAlerts(ctx context.Context) {
	every(ctx, dutyTick, func(now time.Time) {
		for _, id := range n.monitor.Check(n.otherPeers(), now) {
			n.log.Warn().Str("peer", id).Msg("alert: peer heartbeat expired")
		}
	})
}

// repinDeadPeers moves the pins of a peer down for longer than the repin
// delay to healthy peers, once per outage.
func (n *Node) repinDeadPeers(ctx context.Context) {
	repinned := map[string]bool{}
	watch := healthWatch{}
	every(ctx, dutyTick, func(now time.Time) {
		peers := n.otherPeers()
		for _, id := range watch.cameUp(n, peers, now) {
			delete(repinned, id)
		}
		for _, id := range peers {
			if down, ok := n.monitor.DownFor(id, now); ok && down >= n.cfg.Allocation.RepinDelay && !repinned[id] {
				n.log.Warn().Str("peer", id).Dur("down", down).Msg("re-allocating the pins of a dead peer")
				if err := n.reallocate(ctx, id); err == nil {
					repinned[id] = true
				}
			}
		}
	})
}

// topUp gives under-replicated pins more allocations when a peer comes up,
// and every topUpInterval in any case.
func (n *Node) topUp(ctx context.Context) {
	watch := healthWatch{}
	last := time.Now()
	every(ctx, dutyTick, func(now time.Time) {
		joined := len(watch.cameUp(n, n.otherPeers(), now)) > 0
		if !joined && now.Sub(last) <= topUpInterval {
			return
		}
		last = now
		if err := n.reallocate(ctx, ""); err != nil {
			n.log.Warn().Err(err).Msg("top-up of under-replicated pins")
		}
	})
}

// promoteVotersDuty keeps the configured number of voters.
func (n *Node) promoteVotersDuty(ctx context.Context) {
	every(ctx, dutyTick, n.promoteVoters)
}

// expirePins unpins expired pins at once, then every expiry interval.
func (n *Node) expirePins(ctx context.Context) {
	sweep := func(now time.Time) {
		if err := n.unpinExpired(ctx, now); err != nil && ctx.Err() == nil {
			n.log.Warn().Err(err).Msg("unpin expired pins")
		}
	}
	sweep(time.Now())
	every(ctx, n.cfg.Allocation.ExpiryInterval, sweep)
}

// unpinExpired removes the pins whose expire_at has passed, reading the
// expiry index rather than the whole pinset. Each unpin is conditional on
// the version read, so a pin re-pinned meanwhile (with a new expiry) stays.
func (n *Node) unpinExpired(ctx context.Context, now time.Time) error {
	for {
		expired, err := n.state.Expired(now, reallocBatch)
		if err != nil || len(expired) == 0 {
			return err
		}
		batch := make([]storage.Op, 0, len(expired))
		for _, c := range expired {
			p, err := n.state.Get(c)
			if err != nil {
				continue
			}
			read := p.Timestamp
			batch = append(batch, storage.Op{Kind: storage.OpUnpin, Pin: storage.Pin{Cid: c}, Expect: &read})
		}
		if len(batch) == 0 {
			return nil
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
	// Duties and peer removal may ask at once; one at a time keeps each
	// pass from writing back what another just changed.
	n.reallocMu.Lock()
	defer n.reallocMu.Unlock()
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
			// Conditional on the version read: a concurrent unpin, expiry
			// or mode change wins, and this move is dropped.
			read := p.Timestamp
			p.Allocations = allocs
			batch = append(batch, storage.Op{Kind: storage.OpPin, Pin: p, Expect: &read})
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
	for voters < n.cfg.Membership.Voters && len(spare) > 0 {
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
