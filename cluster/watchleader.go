package cluster

import (
	"context"
	"time"

	"github.com/hashicorp/raft"
	"github.com/rs/zerolog"
)

// watchLeader logs, on every peer, each change of the Raft leader this peer
// knows, naming the new one: Raft's own lines say that an election took
// place, not who won it, and an operator reads whichever peer's log is at
// hand. It observes Raft rather than LeaderCh, which tells this peer only of
// its own leadership, and has one reader already (leaderLoop).
func (n *Node) watchLeader(ctx context.Context) {
	observed := make(chan raft.Observation, 16)
	observer := raft.NewObserver(observed, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	n.rp.raft.RegisterObserver(observer)
	defer n.rp.raft.DeregisterObserver(observer)
	var (
		known raft.ServerID
		// lostAt is when this peer last lost its leader; lostTold, whether
		// it said so (elections that end fast are not worth a line).
		lostAt   time.Time
		lostTold bool
		grace    = time.NewTimer(time.Hour)
	)
	grace.Stop()
	tell := func(leader raft.ServerID) {
		if leader == "" {
			if known != "" && lostAt.IsZero() {
				lostAt, lostTold = time.Now(), false
				grace.Reset(leaderlessGrace)
			}
			return
		}
		if lostTold {
			n.withPeer(n.log.Info(), "leader", string(leader)).Str("was", string(known)).
				Str("without", time.Since(lostAt).Round(time.Millisecond).String()).Msg(leaderBackLine)
		}
		grace.Stop()
		lostAt, lostTold = time.Time{}, false
		// The same leader again after a short election is no change.
		if leader == known {
			return
		}
		line := n.withPeer(n.log.Info(), "leader", string(leader))
		if known != "" {
			line = line.Str("was", string(known))
		}
		line.Msg("the cluster has a new leader")
		known = leader
	}
	// An election won before the observer was registered (a peer that
	// starts a cluster alone) is only seen here.
	_, current := n.rp.raft.LeaderWithID()
	tell(current)
	for {
		select {
		case <-ctx.Done():
			return
		case o := <-observed:
			tell(o.Data.(raft.LeaderObservation).LeaderID)
		case <-grace.C:
			if !lostAt.IsZero() {
				lostTold = true
				n.withPeer(n.log.Warn(), "was", string(known)).Msg(leaderlessLine)
			}
		}
	}
}

// leaderlessGrace is how long this peer may be without a leader before it
// says so: an election after a leader's loss takes a second or two.
const leaderlessGrace = 5 * time.Second

const (
	leaderlessLine = "the cluster has no leader: writes fail until a majority of its voters reach each other"
	leaderBackLine = "the cluster has a leader again"
)

// withPeer adds a peer's ID to a log line under key, and its name under
// key_name when the peer set knows it: operators know their peers by name.
func (n *Node) withPeer(line *zerolog.Event, key, id string) *zerolog.Event {
	line = line.Str(key, id)
	if p, err := n.state.Peer(id); err == nil && p.Name != "" {
		line = line.Str(key+"_name", p.Name)
	}
	return line
}

// handOverLeadership makes another voter the leader before a clean stop of
// the leader, as Consul and Nomad do: the others would otherwise take the
// stop for a crash, wait out an election timeout and fail writes meanwhile.
func (n *Node) handOverLeadership() {
	if n.rp.raft.State() != raft.Leader {
		return
	}
	if others, err := n.otherVoters(); err != nil || others == 0 {
		return
	}
	if err := n.rp.raft.LeadershipTransfer().Error(); err != nil {
		n.log.Warn().Err(err).Msg("could not hand the leadership over before stopping")
		return
	}
	n.log.Info().Msg("handed the leadership over before stopping")
}
