package cluster

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/raft"

	"github.com/flotilla-ipfs/flotilla/cluster/raftstore"
	"github.com/flotilla-ipfs/flotilla/internal/durable"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// A read-only follower mirrors the pinset of a cluster whose follower
// secret it was given, and cannot change it. It joins once through the
// address given to `flotilla daemon --follow`, as a Raft non-voter that is
// never promoted; the leader opens Raft to it. Its tracker pins every pin
// of the cluster, and nothing is ever allocated to it. What keeps it
// read-only is the members: they refuse every write from a connection that
// proved the follower secret (peerrpc) and never let such a connection open
// Raft (transport). Its own fronts refuse writes too, only to say so
// clearly.

// followFile, in the data folder, makes a home a follower's: it keeps the
// cluster's addresses and the member key pinned at the first join, so that
// later starts need no --follow and take Raft from that cluster only.
const followFile = "follow.json"

type followState struct {
	// Cluster is the addresses given to --follow.
	Cluster []string `json:"cluster"`
	// ClusterKey is the public member key of the cluster, in hex.
	ClusterKey string `json:"cluster_key"`
}

// ErrNotFollowerHome refuses --follow on a home that was a full peer.
var ErrNotFollowerHome = errors.New("this data folder holds a full peer's Raft state; a follower needs a home of its own: `flotilla init` one")

// Following reports whether the home whose data folder is dataDir is a
// read-only follower's: one that followed a cluster before.
func Following(dataDir string) (bool, error) {
	_, ok, err := readFollowState(dataDir)
	return ok, err
}

func readFollowState(dataDir string) (followState, bool, error) {
	var st followState
	b, err := os.ReadFile(filepath.Join(dataDir, followFile))
	if errors.Is(err, os.ErrNotExist) {
		return st, false, nil
	}
	if err != nil {
		return st, false, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, false, fmt.Errorf("%s: %w", filepath.Join(dataDir, followFile), err)
	}
	return st, true, nil
}

// openFollow readies a follower's port: the pinned member key, or, before
// the first join, the hook that pins it. A home with Raft state but no
// follow file was a full peer's, and is refused.
func (n *Node) openFollow() error {
	st, ok, err := readFollowState(n.cfg.DataDir)
	if err != nil {
		return err
	}
	if !ok {
		had, err := raftstore.Exists(filepath.Join(n.cfg.DataDir, "raft"))
		if err != nil {
			return err
		}
		if had {
			return ErrNotFollowerHome
		}
		if len(n.cfg.Membership.Bootstrap) == 0 {
			return errors.New("a follower's first start needs the address of a peer of the cluster: `flotilla daemon --follow HOST:PORT`")
		}
	}
	if len(n.cfg.Membership.Bootstrap) == 0 {
		n.followAddrs = st.Cluster
	} else {
		n.followAddrs = n.cfg.Membership.Bootstrap
	}
	pc := &n.cfg.Port
	pc.Follower = true
	if st.ClusterKey != "" {
		key, err := hex.DecodeString(st.ClusterKey)
		if err != nil || len(key) != ed25519.PublicKeySize {
			return fmt.Errorf("%s: cluster_key is not an Ed25519 public key in hex", filepath.Join(n.cfg.DataDir, followFile))
		}
		pc.ClusterKey = key
	}
	pc.LearnClusterKey = n.pinClusterKey
	return nil
}

// followAgain joins the cluster on a follower's first start. On a later
// start given --follow (the way back of a removed follower), or from
// another address, which the leader would never reach it at, it joins
// again in the background: the cluster may be down, and the follower
// still serves what it holds.
func (n *Node) followAgain(start, life context.Context) error {
	if n.rp.fresh {
		// A follower never starts a cluster of its own.
		return n.join(start, n.followAddrs)
	}
	if len(n.cfg.Membership.Bootstrap) > 0 {
		n.joinAgain(life, n.followAddrs)
		return nil
	}
	if len(n.followAddrs) > 0 && n.unreachedHere() {
		n.joinInBackground(life, n.followAddrs, "this follower moved to another address, and could not tell its cluster", nil)
	}
	return nil
}

// unreachedHere reports whether the cluster, as far as this follower knows,
// would not reach it at the address it listens at now: its record, or
// else its Raft entry, names another; or it knows of neither and holds no
// Raft configuration at all (it stopped after the leader's first
// heartbeat, before any entry came: it knows nothing a first start would
// not).
func (n *Node) unreachedHere() bool {
	cur, err := n.state.Peer(n.cfg.ID)
	switch {
	case err == nil:
		return cur.ClusterAddr != n.cfg.Advertise
	case !errors.Is(err, storage.ErrPeerNotFound):
		return false
	}
	cf := n.rp.raft.GetConfiguration()
	if cf.Error() != nil {
		return false
	}
	servers := cf.Configuration().Servers
	if s, ok := findServer(servers, n.cfg.ID); ok {
		return string(s.Address) != n.cfg.Advertise
	}
	return len(servers) == 0
}

// pinClusterKey keeps the member key met at the first join.
func (n *Node) pinClusterKey(key ed25519.PublicKey) error {
	if err := os.MkdirAll(n.cfg.DataDir, 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(followState{Cluster: n.followAddrs, ClusterKey: hex.EncodeToString(key)}, "", "  ")
	if err != nil {
		return err
	}
	// Durable before the join goes on: a home with Raft state and no
	// follow file is a full peer's, which a follower's next start refuses.
	if err := durable.WriteFile(filepath.Join(n.cfg.DataDir, followFile), append(b, '\n'), 0o600); err != nil {
		return err
	}
	n.log.Info().Str("cluster_key", hex.EncodeToString(key)).Msg("following a cluster: its member key is pinned")
	return nil
}

// follower reports whether this peer is a read-only follower.
func (n *Node) follower() bool { return n.cfg.Membership.Follower }

// refuseWrite is the error of a write asked of a follower.
func (n *Node) refuseWrite() error {
	if n.follower() {
		return types.ErrReadOnlyFollower
	}
	return nil
}

// holds reports whether this peer's IPFS node must hold p: the pins
// allocated to it, or every pin on a follower.
func (n *Node) holds(p storage.Pin) bool { return n.follower() || p.AllocatedTo(n.cfg.ID) }

// fullMembers are the members that are not followers: the peers that pins
// are allocated to, and the only ones the leader's duties watch.
func (n *Node) fullMembers() []storage.Peer {
	var out []storage.Peer
	for _, p := range n.members() {
		if !p.Follower {
			out = append(out, p)
		}
	}
	return out
}

// actedOn are the peers that a fan-out that changes peers (recover, repo
// gc) reaches: every member, or a follower alone, whose calls members
// refuse.
func (n *Node) actedOn() []storage.Peer {
	if n.follower() {
		return []storage.Peer{n.self()}
	}
	return n.members()
}

// addFollower makes p a read-only follower: recorded as one before it
// becomes a non-voter, so that no pass of the promotion duty ever sees it
// unrecorded. A follower may not take the place of a full member; one that
// comes back from another address is moved there, unless it still answers
// at the old one (a second process with a copy of its identity). Its join
// proved the ID it claims (joinproof.go) before it came here.
func (n *Node) addFollower(p storage.Peer) error {
	cur, err := n.state.Peer(p.ID)
	if err == nil {
		if !cur.Follower {
			return fmt.Errorf("a follower may not join as %s, a full member: %w", p.ID, types.ErrReadOnlyFollower)
		}
		if err := n.refuseIfStillThere(p.ID, cur.ClusterAddr, p.ClusterAddr); err != nil {
			return fmt.Errorf("%w: %w", err, types.ErrReadOnlyFollower)
		}
	}
	s, inRaft, err := n.raftServer(p.ID)
	if err != nil {
		return err
	}
	if inRaft && s.Suffrage == raft.Voter {
		return fmt.Errorf("a follower may not join as %s, a voter: %w", p.ID, types.ErrReadOnlyFollower)
	}
	present := inRaft && string(s.Address) == p.ClusterAddr
	if err := n.recordPeer(p); err != nil {
		return err
	}
	if present {
		return nil
	}
	n.log.Info().Str("peer", p.ID).Str("addr", p.ClusterAddr).Msg("a read-only follower joins")
	return n.rp.raft.AddNonvoter(raft.ServerID(p.ID), raft.ServerAddress(p.ClusterAddr), 0, 30*time.Second).Error()
}

// roleOf is the role of member p, which claimed one (or none, when it did
// not answer). The peer set, not the claim, says who is a follower.
func (n *Node) roleOf(p storage.Peer, claimed string) string {
	if p.Follower {
		return types.RoleFollower
	}
	if claimed != "" && claimed != types.RoleFollower {
		return claimed
	}
	if _, leader := n.rp.raft.LeaderWithID(); string(leader) == p.ID {
		return types.RoleLeader
	}
	if s, ok, _ := n.raftServer(p.ID); ok && s.Suffrage == raft.Voter {
		return types.RoleVoter
	}
	return types.RoleNonVoter
}

// refuseIfStillThere refuses to move peer id from old to addr while old
// still answers as id: the join comes from a second process started with
// a copy of its identity, which must not cut the first one off.
func (n *Node) refuseIfStillThere(id, old, addr string) error {
	if old == addr || !n.answersAs(storage.Peer{ID: id, ClusterAddr: old}) {
		return nil
	}
	return fmt.Errorf("the peer %s still answers at %s: not moved to %s", id, old, addr)
}

// answersAs reports whether p's cluster address answers with p's ID.
func (n *Node) answersAs(p storage.Peer) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	id, err := n.client.ID(ctx, p.ClusterAddr)
	return err == nil && id.ID == p.ID
}

// role is this peer's part in the cluster.
func (n *Node) role(info types.RaftInfo) string {
	switch {
	case n.follower():
		return types.RoleFollower
	case info.State == "leader":
		return types.RoleLeader
	case info.Voter:
		return types.RoleVoter
	}
	return types.RoleNonVoter
}
