package cluster

import (
	"fmt"
	"strconv"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/flotilla-ipfs/flotilla/cluster/peerrpc"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// A member proves itself with the cluster secret, which only members hold.
// Every read-only follower holds the same follower secret, so the secret
// says nothing of which follower calls: a follower must also prove the
// peer ID it joins as, by signing its join with that ID's own key (an
// Ed25519 peer ID carries its public key). Without that, any follower could
// join as another, and move that follower's record to its own address.
//
// The signature covers the ID, the address the peer joins from, and the
// time: a replayed proof can only put the peer where it said it was, and
// only for a few minutes.

// joinProofSkew bounds the age of a proof, and the clocks' disagreement.
const joinProofSkew = 5 * time.Minute

func joinMessage(p storage.Peer, at int64) []byte {
	return []byte("flotilla join v1\n" + p.ID + "\n" + p.ClusterAddr + "\n" + strconv.FormatInt(at, 10))
}

// proveJoin signs p's join with this peer's key; nil without a key.
func (n *Node) proveJoin(p storage.Peer) *peerrpc.JoinProof {
	if n.cfg.Key == nil {
		return nil
	}
	at := time.Now().Unix()
	sig, err := n.cfg.Key.Sign(joinMessage(p, at))
	if err != nil {
		n.log.Warn().Err(err).Msg("sign the join")
		return nil
	}
	return &peerrpc.JoinProof{Time: at, Signature: sig}
}

// checkJoinProof verifies that proof was made, recently, by the key of
// p's ID for p's address.
func checkJoinProof(p storage.Peer, proof *peerrpc.JoinProof, now time.Time) error {
	if proof == nil {
		return fmt.Errorf("a follower must prove its peer ID to join (a follower of an earlier build: upgrade it): %w", types.ErrReadOnlyFollower)
	}
	if d := now.Sub(time.Unix(proof.Time, 0)); d > joinProofSkew || d < -joinProofSkew {
		return fmt.Errorf("the proof of %s is from %s, more than %s away from this peer's clock: %w",
			p.ID, time.Unix(proof.Time, 0).UTC().Format(time.RFC3339), joinProofSkew, types.ErrReadOnlyFollower)
	}
	id, err := peer.Decode(p.ID)
	if err != nil {
		return fmt.Errorf("%q is not a peer ID: %v: %w", p.ID, err, types.ErrReadOnlyFollower)
	}
	pub, err := id.ExtractPublicKey()
	if err != nil {
		return fmt.Errorf("the peer ID %s carries no public key: %v: %w", p.ID, err, types.ErrReadOnlyFollower)
	}
	if ok, err := pub.Verify(joinMessage(p, proof.Time), proof.Signature); err != nil || !ok {
		return fmt.Errorf("the join is not signed by the key of %s: %w", p.ID, types.ErrReadOnlyFollower)
	}
	return nil
}
