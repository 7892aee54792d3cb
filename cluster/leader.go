package cluster

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// reallocBatch bounds the ops of one re-allocation commit.
const reallocBatch = 256

// dutyTick paces the leader's duties that watch the peers' health.
const dutyTick = time.Second

// leaderLoop establishes leadership each time this peer wins an election,
// and revokes it when the peer loses it.
func (n *Node) leaderLoop(ctx context.Context) {
	revoke := func() {}
	defer func() { revoke() }()
	leading := false
	for {
		select {
		case <-ctx.Done():
			return
		case isLeader := <-n.rp.raft.LeaderCh():
			revoke()
			revoke = func() {}
			if isLeader {
				revoke = n.establishLeadership(ctx)
			} else if leading {
				// Its duties stopped: the operator who saw "this peer is
				// the leader" must not think it still does them.
				n.log.Info().Msg("this peer is no longer the leader")
			}
			leading = isLeader
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
	n.fsm.Flush() // the Barrier saw the entries handed to the FSM, not written
	n.log.Info().Msg("this peer is the leader")
	if cur, err := n.state.Peer(n.cfg.ID); err != nil || !samePeer(cur, n.self()) {
		if err := n.recordPeer(n.self()); err != nil {
			n.log.Warn().Err(err).Msg("record this peer in the peer set")
		}
	}
	lctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	duties := []func(context.Context){n.repinDeadPeers, n.repairAllocations, n.promoteVotersDuty, n.expirePins}
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

// otherPeers lists the full members but this one: the duties leave
// followers alone, since nothing is allocated to them.
func (n *Node) otherPeers() []string {
	var out []string
	for _, p := range n.fullMembers() {
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

// repinDeadPeers moves the pins of a peer down for longer than the repin
// delay to healthy peers, once per outage. While some of its pins cannot be
// placed, it tries again with a back-off, from unplacedRetry up to the
// repair interval, so that a cluster too small for their replication
// factor is not scanned every second.
func (n *Node) repinDeadPeers(ctx context.Context) {
	type retry struct {
		at   time.Time
		wait time.Duration
		// moved counts the pins that earlier passes of this outage moved.
		moved int
	}
	done := map[string]bool{}
	retries := map[string]retry{}
	watch := healthWatch{}
	every(ctx, dutyTick, func(now time.Time) {
		peers := n.otherPeers()
		for _, id := range watch.cameUp(n, peers, now) {
			delete(done, id)
			delete(retries, id)
		}
		for _, id := range peers {
			down, ok := n.monitor.DownFor(id, now)
			if !ok || down < n.cfg.Allocation.RepinDelay || done[id] || now.Before(retries[id].at) {
				continue
			}
			moved, unplaced, err := n.reallocate(ctx, id)
			moved += retries[id].moved
			n.deadPeerPasses.Add(1)
			if err == nil && unplaced == 0 {
				done[id] = true
				delete(retries, id)
				// Nothing moved (the peer held no pin) is no warning.
				level := n.log.Warn()
				if moved == 0 {
					level = n.log.Info()
				}
				n.withPeer(level, "peer", id).Str("down", down.Round(time.Millisecond).String()).Int("pins", moved).
					Msg("re-allocated the pins of a dead peer")
				continue
			}
			first := min(unplacedRetry, n.cfg.Allocation.RepairInterval)
			wait := min(max(2*retries[id].wait, first), n.cfg.Allocation.RepairInterval)
			retries[id] = retry{at: now.Add(wait), wait: wait, moved: moved}
			n.withPeer(n.log.Warn(), "peer", id).Err(err).Int("pins", moved).Int("unplaced", unplaced).Str("retry_in", wait.String()).
				Msg(unplacedLine)
		}
	})
}

const unplacedLine = "some pins of a dead peer could not be re-allocated"

// unplacedRetry is how soon the leader tries again to place pins that a
// pass could not place, unless the repair interval is shorter.
const unplacedRetry = 5 * time.Second

// repairAllocations keeps every allocation on a current member and tops up
// under-replicated pins: at once when leadership starts, when a peer comes
// up or is removed, every repair interval, and every unplacedRetry while a
// pass could not repair everything.
func (n *Node) repairAllocations(ctx context.Context) {
	watch := healthWatch{}
	var last time.Time
	pending := false
	every(ctx, dutyTick, func(now time.Time) {
		joined := len(watch.cameUp(n, n.otherPeers(), now)) > 0
		removed := n.takeRepairRequest()
		retry := min(unplacedRetry, n.cfg.Allocation.RepairInterval)
		due := now.Sub(last) > n.cfg.Allocation.RepairInterval || (pending && now.Sub(last) > retry)
		if !joined && !removed && !due {
			return
		}
		last = now
		_, unplaced, err := n.reallocate(ctx, "")
		pending = err != nil || unplaced > 0
		if err != nil {
			n.log.Warn().Err(err).Msg("repair of allocations")
		}
	})
}

// requestRepair asks the leader's repair duty for a pass at its next tick.
func (n *Node) requestRepair() { n.repairRequested.Store(true) }

func (n *Node) takeRepairRequest() bool { return n.repairRequested.Swap(false) }

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
		} else if n.monitor.Healthy(string(s.ID), now) && n.promotable(string(s.ID)) {
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

// promotable reports whether a non-voter may become a voter: a recorded
// full member. A follower never votes, and one is recorded as such before
// it joins Raft.
func (n *Node) promotable(id string) bool {
	p, err := n.state.Peer(id)
	return err == nil && !p.Follower
}

func samePeer(a, b storage.Peer) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
