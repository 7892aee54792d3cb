package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/cluster/peerrpc"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// join asks the cluster behind the bootstrap addresses to add this peer.
// Any member forwards the request to the leader. It gives up after a
// minute, or at once when ctx ends, with ctx's error.
func (n *Node) join(ctx context.Context, bootstrap []string) error {
	n.log.Info().Strs("via", bootstrap).Msg("joining the cluster")
	stopped := func() error { return fmt.Errorf("stopped joining the cluster through %v: %w", bootstrap, ctx.Err()) }
	began := time.Now()
	deadline := began.Add(time.Minute)
	var lastErr error
	for time.Now().Before(deadline) {
		for _, addr := range bootstrap {
			self := n.self()
			cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			err := n.client.Join(cctx, addr, self, n.proveJoin(self))
			cancel()
			if err == nil {
				n.log.Info().Str("via", addr).Msg("joined the cluster")
				return nil
			}
			if ctx.Err() != nil {
				// The attempt was cut short, not refused: no warning.
				return stopped()
			}
			lastErr = err
			n.joinAttemptLine(err, time.Since(began)).Err(err).Str("via", addr).Msg("join attempt failed")
		}
		select {
		case <-ctx.Done():
			return stopped()
		case <-time.After(time.Second):
		}
	}
	return fmt.Errorf("could not join the cluster through %v: %w", bootstrap, lastErr)
}

// joinQuietFor is how long joins may fail for want of a leader before each
// failure is a warning: a peer started with its cluster, or during an
// election, waits one out, and an election takes a second or two.
const joinQuietFor = 10 * time.Second

// joinAttemptLine is the line of a failed join attempt, after joining for
// so long: a warning, unless the cluster was only electing its leader and
// is given the time an election takes, which is no news to the operator.
func (n *Node) joinAttemptLine(err error, joining time.Duration) *zerolog.Event {
	quietFor := joinQuietFor
	if n.cfg.joinQuietFor > 0 {
		quietFor = n.cfg.joinQuietFor
	}
	if joining < quietFor && electing(err) {
		return n.log.Debug()
	}
	return n.log.Warn()
}

// electing reports whether err says the cluster has no leader at the
// moment: none yet, or the one asked stepped down meanwhile.
func electing(err error) bool {
	return errors.Is(err, types.ErrNoLeader) || errors.Is(err, raft.ErrNotLeader) ||
		errors.Is(err, raft.ErrLeadershipLost) || errors.Is(err, raft.ErrLeadershipTransferInProgress)
}

func (n *Node) self() storage.Peer {
	p := n.cfg.Self
	p.ID, p.Name, p.ClusterAddr, p.Follower = n.cfg.ID, n.cfg.Name, n.cfg.Advertise, n.follower()
	p.IPFSID = n.ipfsPeerID()
	return p
}

// ipfsPeerID is the IPFS node's ID as last learned: the one known at start
// is empty when the node was down then, until refreshSelf reaches it.
func (n *Node) ipfsPeerID() string {
	if id, ok := n.ipfsID.Load().(string); ok && id != "" {
		return id
	}
	return n.cfg.Self.IPFSID
}

// refreshSelf learns the IPFS node's ID when it was down at start, and
// corrects this peer's record in the shared peer set when it differs.
func (n *Node) refreshSelf(ctx context.Context) {
	if n.self().IPFSID == "" {
		if id, _, err := n.cfg.IPFS.IPFSID(ctx); err == nil {
			n.ipfsID.Store(id)
		}
	}
	cur, err := n.state.Peer(n.cfg.ID)
	if err == nil && samePeer(cur, n.self()) {
		return
	}
	if n.rp.raft.State() == raft.Leader {
		_ = n.recordPeer(n.self())
		return
	}
	addr, leader := n.rp.raft.LeaderWithID()
	if leader == "" || errors.Is(err, storage.ErrPeerNotFound) && !n.inRaft(n.cfg.ID) {
		// Not a member (yet, or any more): joining is not this loop's job.
		return
	}
	self := n.self()
	_ = n.client.Join(ctx, string(addr), self, n.proveJoin(self))
}

// addPeer makes p a member: a voter while there are fewer than the
// configured voters, else a non-voter that follows the log.
func (n *Node) addPeer(p storage.Peer, proof *peerrpc.JoinProof) error {
	if p.Follower {
		if err := checkJoinProof(p, proof, time.Now()); err != nil {
			return err
		}
		return n.addFollower(p)
	}
	n.checkFollowerSecret(p, proof)
	cf := n.rp.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return err
	}
	voters, present := 0, false
	for _, s := range cf.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			voters++
		}
		if string(s.ID) == p.ID {
			present = true
			if err := n.moveMember(s, p.ClusterAddr); err != nil {
				return err
			}
		}
	}
	voter := voters < n.cfg.Membership.Voters
	if !present {
		var f raft.IndexFuture
		if voter {
			f = n.rp.raft.AddVoter(raft.ServerID(p.ID), raft.ServerAddress(p.ClusterAddr), 0, 30*time.Second)
		} else {
			f = n.rp.raft.AddNonvoter(raft.ServerID(p.ID), raft.ServerAddress(p.ClusterAddr), 0, 30*time.Second)
		}
		if err := f.Error(); err != nil {
			return fmt.Errorf("add %s to raft: %w", p.ID, err)
		}
	}
	if err := n.recordPeer(p); err != nil {
		return err
	}
	if !present {
		// Refreshed records and moves of present members are no joins.
		n.log.Info().Str("peer", p.ID).Str("peer_name", p.Name).Str("addr", p.ClusterAddr).Bool("voter", voter).
			Msg("a member joined the cluster")
	}
	return nil
}

// moveMember points Raft at a member that came back from another address
// (a new IP after a restart): the leader would never reach it at the old
// one. Its vote, or lack of one, stays. A member that still answers at the
// old address keeps it, so that a second process started with a copy of
// its identity cannot cut it off.
func (n *Node) moveMember(s raft.Server, addr string) error {
	if string(s.Address) == addr {
		return nil
	}
	if err := n.refuseIfStillThere(string(s.ID), string(s.Address), addr); err != nil {
		return err
	}
	n.log.Info().Str("peer", string(s.ID)).Str("from", string(s.Address)).Str("to", addr).Msg("a member moved to another address")
	move := n.rp.raft.AddNonvoter
	if s.Suffrage == raft.Voter {
		move = n.rp.raft.AddVoter
	}
	return move(s.ID, raft.ServerAddress(addr), 0, 30*time.Second).Error()
}

// recordPeer commits p's description into the shared peer set.
func (n *Node) recordPeer(p storage.Peer) error {
	data, err := storage.EncodeCommand(storage.Command{Type: storage.CmdPeerAdd, Peer: p})
	if err != nil {
		return err
	}
	return n.rp.raft.Apply(data, 30*time.Second).Error()
}

// remotePinned asks the peers p is allocated to, all at once, whether
// they hold it, each answering once its status settled or settleWait
// passed: done when one holds it, or when every one failed to.
func (n *Node) remotePinned(ctx context.Context, p storage.Pin) (done bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	answers := make(chan types.PinStatus, len(p.Allocations))
	asked := 0
	for _, id := range p.Allocations {
		peer, err := n.state.Peer(id)
		if err != nil {
			continue
		}
		asked++
		go func() {
			cctx, cancel := context.WithTimeout(ctx, settleWait+5*time.Second)
			defer cancel()
			st, err := n.client.SettledStatus(cctx, peer.ClusterAddr, n.acked.Get(), p.Cid, settleWait)
			if err != nil {
				st = types.PinStatus{}
			}
			answers <- st
		}()
	}
	var errs []error
	for range asked {
		switch st := <-answers; st.Status {
		case string(storage.StatusPinned):
			return true, nil
		case string(storage.StatusPinError):
			errs = append(errs, errors.New(st.Error))
		}
	}
	if len(errs) > 0 && len(errs) == len(p.Allocations) {
		return true, errors.Join(errs...)
	}
	return false, nil
}

// settleWait is how long an allocated peer may hold a question of
// remotePinned: a pin moved to other peers meanwhile is asked of them
// after that at most.
const settleWait = 2 * time.Second

// RemovePeer takes a peer, dead or alive, out of the cluster and moves its
// pins to the others. Any peer may be asked; the leader does it.
func (n *Node) RemovePeer(ctx context.Context, id string) error {
	if err := n.refuseWrite(); err != nil {
		return err
	}
	// This peer's peer set and Raft configuration may lag the leader's: a
	// peer that joined a moment ago is in neither yet, not even its own,
	// and must still be able to leave. The leader decides.
	known := n.knowsMember(id)
	if !known && n.rp.raft.State() == raft.Leader {
		return fmt.Errorf("%w: %s", types.ErrUnknownPeer, id)
	}
	return retryLeaderChanges(ctx, membershipRetryWindow, func() error {
		err := n.removeOnce(ctx, id)
		if errors.Is(err, types.ErrNoLeader) {
			err = n.removeThroughMembers(ctx, id)
		}
		if known && errors.Is(err, types.ErrUnknownPeer) {
			// Known here, gone at the leader: an earlier attempt whose
			// answer was lost, or another remove, took it out.
			return nil
		}
		return err
	})
}

// knowsMember tells whether id is a member as far as this peer knows.
func (n *Node) knowsMember(id string) bool {
	_, err := n.state.Peer(id)
	return err == nil || n.inRaft(id)
}

// removeThroughMembers asks the members this peer knows of, or joined
// through, to pass the remove on to their leader: a peer that joined a
// moment ago may not have heard from its leader yet.
func (n *Node) removeThroughMembers(ctx context.Context, id string) error {
	_, via, _ := n.raftAddrs(n.cfg.Membership.Bootstrap)
	for _, addr := range via {
		err := n.client.Remove(ctx, addr, id)
		if err == nil || errors.Is(err, types.ErrUnknownPeer) {
			return err
		}
	}
	return types.ErrNoLeader
}

// membershipRetryWindow is how long a membership change keeps trying
// through leader changes (the caller's context may end it sooner). An
// operator asks for one once, and it is rare: an election or two on a
// loaded cluster during the remove must not fail it, as they may a pin
// after commitRetryWindow, which a client simply sends again.
const membershipRetryWindow = 30 * time.Second

func (n *Node) removeOnce(ctx context.Context, id string) error {
	if n.rp.raft.State() != raft.Leader {
		addr, leader := n.rp.raft.LeaderWithID()
		if leader == "" {
			return types.ErrNoLeader
		}
		return n.client.Remove(ctx, string(addr), id)
	}
	if !n.knowsMember(id) {
		return fmt.Errorf("%w: %s", types.ErrUnknownPeer, id)
	}
	if id == n.cfg.ID {
		// A leader cannot remove itself cleanly: hand over, then ask the
		// new leader. Raft's own answer when no voter could take over is
		// "cannot find peer", which tells an operator nothing.
		if others, err := n.otherVoters(); err != nil {
			return err
		} else if others == 0 {
			return types.ErrOnlyVoter
		}
		if err := n.rp.raft.LeadershipTransfer().Error(); err != nil {
			return err
		}
		return raft.ErrNotLeader
	}
	if err := n.rp.raft.RemoveServer(raft.ServerID(id), 0, 30*time.Second).Error(); err != nil {
		return err
	}
	data, err := storage.EncodeCommand(storage.Command{Type: storage.CmdPeerRemove, PeerID: id})
	if err != nil {
		return err
	}
	if err := n.rp.raft.Apply(data, 30*time.Second).Error(); err != nil {
		return err
	}
	n.monitor.Forget(id)
	// Its pins now name a non-member: the leader's repair duty moves them,
	// under the leader's own context rather than this request's, and a new
	// leader does it too should this one fall.
	n.requestRepair()
	n.log.Info().Str("peer", id).Msg("removed a peer; its pins will be re-allocated")
	return nil
}

// otherVoters counts the voters of this peer's Raft configuration besides
// itself.
func (n *Node) otherVoters() (int, error) {
	cf := n.rp.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return 0, err
	}
	others := 0
	for _, s := range cf.Configuration().Servers {
		if s.Suffrage == raft.Voter && string(s.ID) != n.cfg.ID {
			others++
		}
	}
	return others, nil
}

func (n *Node) inRaft(id string) bool {
	_, ok, _ := n.raftServer(id)
	return ok
}

// raftServer is id's entry in this peer's Raft configuration, and whether
// it has one.
func (n *Node) raftServer(id string) (raft.Server, bool, error) {
	cf := n.rp.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return raft.Server{}, false, err
	}
	s, ok := findServer(cf.Configuration().Servers, id)
	return s, ok, nil
}

// findServer is id's entry among servers, and whether it has one.
func findServer(servers []raft.Server, id string) (raft.Server, bool) {
	for _, s := range servers {
		if string(s.ID) == id {
			return s, true
		}
	}
	return raft.Server{}, false
}

// Leave takes this peer out of the cluster, for a graceful shutdown.
func (n *Node) Leave(ctx context.Context) error {
	return n.RemovePeer(ctx, n.cfg.ID)
}

func (n *Node) members() []storage.Peer {
	peers, err := n.state.Peers()
	if err != nil || len(peers) == 0 {
		return []storage.Peer{n.self()}
	}
	return peers
}

// peerCount is how many peers pins may be allocated to.
func (n *Node) peerCount() int { return max(1, len(n.fullMembers())) }
