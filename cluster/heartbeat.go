package cluster

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/flotilla-ipfs/flotilla/alloc"
	"github.com/flotilla-ipfs/flotilla/health"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// heartbeatLoop sends this peer's metrics to every peer, itself included,
// every interval. Every peer, not only the leader, keeps them, so that a new
// leader already knows the cluster's health.
func (n *Node) heartbeatLoop(ctx context.Context) {
	t := time.NewTicker(n.cfg.Health.HeartbeatInterval)
	defer t.Stop()
	refresh := time.NewTicker(10 * time.Second)
	defer refresh.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n.heartbeat(ctx)
			n.checkMembership()
		case <-refresh.C:
			n.refreshSelf(ctx)
		}
	}
}

// raiseAlerts turns expired heartbeats into alerts. Every peer raises its
// own, not the leader alone, so that GET /health/alerts and the status page
// of any peer show them. It also says when an alerted peer's heartbeats
// return, so that the operator who read the alert knows it is over.
func (n *Node) raiseAlerts(ctx context.Context) {
	alerted := map[string]time.Time{} // peer -> since when it was silent
	every(ctx, dutyTick, func(now time.Time) {
		peers := n.otherPeers()
		for _, id := range n.monitor.Check(peers, now) {
			down, _ := n.monitor.DownFor(id, now)
			alerted[id] = now.Add(-down)
			n.withPeer(n.log.Warn(), "peer", id).Msg("alert: peer heartbeat expired")
		}
		for id, since := range alerted {
			switch {
			case !slices.Contains(peers, id):
				// Removed: it will not come back. The leader that removed it
				// forgot it; every other peer clears its alert here.
				delete(alerted, id)
				n.monitor.Forget(id)
			case n.monitor.Healthy(id, now):
				delete(alerted, id)
				n.withPeer(n.log.Info(), "peer", id).Str("down", now.Sub(since).Round(time.Millisecond).String()).
					Msg("peer heartbeat is back")
			}
		}
	})
}

// checkMembership notices that this peer was removed from the cluster
// while running: it says so once, and reports itself unready.
func (n *Node) checkMembership() {
	if n.removed.Load() {
		return
	}
	cf := n.rp.raft.GetConfiguration()
	if cf.Error() != nil {
		return
	}
	if _, in := findServer(cf.Configuration().Servers, n.cfg.ID); in {
		// Only a peer that has seen itself a member can be removed: a peer
		// that just joined may not have received its membership yet, and
		// one that joins again may still be catching up through the entry
		// that removed it.
		if cf.Index() > n.staleConfigIndex.Load() {
			n.member.Store(true)
		}
		return
	}
	if !n.member.Load() {
		return
	}
	if _, err := n.state.Peer(n.cfg.ID); !errors.Is(err, storage.ErrPeerNotFound) {
		return
	}
	n.markRemoved()
}

// markRemoved records the removal. The leader's word is enough: a peer
// heartbeats only once its join is committed, so a leader that does not
// count it in has removed it.
func (n *Node) markRemoved() {
	if n.rejoining.Load() || n.removed.Swap(true) {
		return
	}
	if n.follower() {
		n.log.Error().Msg("this read-only follower was removed from the cluster; to bring it back, start it again with --follow <a member's cluster address> (keep its data folder: what it holds lets it unpin the cluster's pins it no longer holds)")
		return
	}
	n.log.Error().Msg("this peer was removed from the cluster; to bring it back, start it again with --bootstrap <a member's cluster address> (keep its data folder: what it holds lets it unpin the cluster's pins it no longer holds)")
}

func (n *Node) heartbeat(ctx context.Context) {
	now := time.Now()
	metrics := n.sample(ctx).Metrics(n.cfg.ID, now, n.cfg.Health.HeartbeatTTL)
	n.monitor.Accept(metrics, now)
	peers, err := n.state.Peers()
	if err != nil {
		return
	}
	// A leader's answer to a heartbeat sent before this peer's join was
	// done may arrive after it: it is no word of a removal.
	rejoining := n.rejoining.Load()
	var wg sync.WaitGroup
	for _, p := range peers {
		if p.ID == n.cfg.ID {
			continue
		}
		wg.Add(1)
		go func(addr string) {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, n.cfg.Health.HeartbeatInterval)
			defer cancel()
			err := n.client.Metrics(cctx, addr, metrics)
			if errors.Is(err, types.ErrRemoved) && !rejoining {
				n.markRemoved()
			} else if err != nil {
				n.log.Debug().Err(err).Str("to", addr).Msg("heartbeat not delivered")
			}
		}(p.ClusterAddr)
	}
	wg.Wait()
}

func (n *Node) sample(ctx context.Context) health.Sample {
	s := health.Sample{Tags: n.cfg.Self.Tags, IPFSOK: true}
	if counts, err := n.status.CountByStatus(); err == nil {
		s.PinCount = uint64(counts[storage.StatusPinned])
		s.PinQueue = uint64(counts[storage.StatusPinQueued] + counts[storage.StatusPinning])
	}
	cctx, cancel := context.WithTimeout(ctx, n.cfg.Health.HeartbeatInterval)
	free, err := n.cfg.IPFS.FreeSpace(cctx)
	cancel()
	if err != nil {
		s.IPFSOK = false
	}
	s.FreeSpace = free
	return s
}

// candidates are the peers a pin may be allocated to: full members (never
// a follower) whose heartbeat is current and whose IPFS node answers.
func (n *Node) candidates(exclude []string) []alloc.Candidate {
	now := time.Now()
	peers := n.fullMembers()
	skip := map[string]bool{}
	for _, id := range exclude {
		skip[id] = true
	}
	var out []alloc.Candidate
	for _, p := range peers {
		if skip[p.ID] {
			continue
		}
		m := n.monitor.PeerMetrics(p.ID, now)
		free, ok := m[health.FreeSpace]
		if _, alive := m[health.PingMetric]; !alive || !ok || !free.Valid {
			continue
		}
		out = append(out, alloc.Candidate{ID: p.ID, FreeSpace: free.Uint(), PinCount: m[health.PinCount].Uint(), Tags: p.Tags})
	}
	return out
}

// Metrics returns the latest metric called name for every peer.
func (n *Node) Metrics(name string) []health.Metric {
	out := n.monitor.Latest(name, time.Now())
	if out == nil {
		out = []health.Metric{}
	}
	return out
}

// MetricNames lists the metric names heard of.
func (n *Node) MetricNames() []string { return n.monitor.MetricNames() }

// Alerts returns the alerts raised, most recent first, each with its
// peer's name while the peer is a member.
func (n *Node) Alerts() []health.Alert {
	alerts := n.monitor.Alerts()
	peers, err := n.state.Peers()
	if err != nil {
		return alerts
	}
	names := make(map[string]string, len(peers))
	for _, p := range peers {
		names[p.ID] = p.Name
	}
	for i := range alerts {
		alerts[i].Peername = names[alerts[i].Peer]
	}
	return alerts
}
