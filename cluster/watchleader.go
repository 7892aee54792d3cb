package cluster

import (
	"context"

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
	var known raft.ServerID
	tell := func(leader raft.ServerID) {
		// No leader is a moment of an election, which Raft logs itself;
		// the same leader again after it is no change.
		if leader == "" || leader == known {
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
		}
	}
}

// withPeer adds a peer's ID to a log line under key, and its name under
// key_name when the peer set knows it: operators know their peers by name.
func (n *Node) withPeer(line *zerolog.Event, key, id string) *zerolog.Event {
	line = line.Str(key, id)
	if p, err := n.state.Peer(id); err == nil && p.Name != "" {
		line = line.Str(key+"_name", p.Name)
	}
	return line
}
