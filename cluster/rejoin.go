package cluster

import (
	"context"
	"slices"
	"time"

	"github.com/hashicorp/raft"
)

// rejoinIfMoved tells the cluster, in the background, that this member
// restarted at another address than Raft knows it by: the leader would
// never reach it there, and this peer would wait for it forever. It asks
// through the other members, any of which passes a join on to the leader.
func (n *Node) rejoinIfMoved(ctx context.Context) {
	known, via, ok := n.raftAddrs(nil)
	if !ok || known == "" || known == n.cfg.Advertise {
		return
	}
	n.log.Info().Str("was", known).Str("now", n.cfg.Advertise).Msg("this peer moved to another address; telling the cluster")
	if len(via) == 0 {
		// The only member: no one to tell. It leads alone, and as leader
		// points Raft at its own new address, which a member joining
		// later is given.
		n.goRun(func() { n.moveSelfWhenLeading(ctx, raft.ServerAddress(known)) })
		return
	}
	n.joinInBackground(ctx, via, "this peer moved to another address, and could not tell its cluster", nil)
}

// joinAgain joins, in the background, a peer that was started with
// --bootstrap (or a follower with --follow) though it is no fresh one: the
// cluster may
// have removed it while it was down, which only the leader knows. The
// leader adds it back, or refreshes its record (and address) when it is
// still a member. A start that waited for the join would keep a peer of a
// cluster without a leader down for the join's minute. Until the join is
// done, the leader's word that it was removed is not taken (rejoining), and
// a configuration it started with proves no membership (staleConfigIndex).
func (n *Node) joinAgain(ctx context.Context, bootstrap []string) {
	if cf := n.rp.raft.GetConfiguration(); cf.Error() == nil {
		n.staleConfigIndex.Store(cf.Index())
	}
	_, via, _ := n.raftAddrs(bootstrap)
	n.rejoining.Store(true)
	n.log.Info().Strs("via", via).Msg("joining the cluster again, in case it removed this peer while it was down")
	n.joinInBackground(ctx, via, "could not join the cluster again", func() { n.rejoining.Store(false) })
}

// joinInBackground joins through via while the peer serves, and warns
// with failed when the join gives up, unless ctx ended it; done, when not
// nil, runs after the join either way.
func (n *Node) joinInBackground(ctx context.Context, via []string, failed string, done func()) {
	n.goRun(func() {
		if done != nil {
			defer done()
		}
		if err := n.join(ctx, via); err != nil && ctx.Err() == nil {
			n.log.Warn().Err(err).Msg(failed)
		}
	})
}

// raftAddrs is where this peer's Raft configuration knows it (known), and
// the addresses to ask for a join: first, then the other servers'. It asks
// them by their Raft addresses: this peer's reads of the peer set wait for
// a leader it cannot reach yet.
func (n *Node) raftAddrs(first []string) (known string, via []string, ok bool) {
	via = slices.Clone(first)
	cf := n.rp.raft.GetConfiguration()
	if cf.Error() != nil {
		return "", via, false
	}
	for _, s := range cf.Configuration().Servers {
		switch {
		case string(s.ID) == n.cfg.ID:
			known = string(s.Address)
		case !slices.Contains(via, string(s.Address)):
			// A read-only follower among them refuses; the next is asked.
			via = append(via, string(s.Address))
		}
	}
	return known, via, true
}

// moveSelfWhenLeading waits for this peer to lead, then moves its own
// Raft address from was to the one it advertises now.
func (n *Node) moveSelfWhenLeading(ctx context.Context, was raft.ServerAddress) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for n.rp.raft.State() != raft.Leader {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
	self := raft.Server{ID: raft.ServerID(n.cfg.ID), Address: was, Suffrage: raft.Voter}
	if s, ok, _ := n.raftServer(n.cfg.ID); ok {
		self = s
	}
	if err := n.moveMember(self, n.cfg.Advertise); err != nil && ctx.Err() == nil {
		n.log.Warn().Err(err).Msg("this peer moved to another address, and could not record it in the raft configuration")
	}
}
