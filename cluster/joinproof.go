package cluster

import (
	"crypto/hmac"
	"crypto/sha256"
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

// proveJoin signs p's join with this peer's key (none without a key) and,
// from a member, adds the MAC of its follower secret; nil with neither.
func (n *Node) proveJoin(p storage.Peer) *peerrpc.JoinProof {
	proof := &peerrpc.JoinProof{}
	if !p.Follower {
		proof.FollowerSecretMAC = followerSecretMAC(n.cfg.Port.FollowerSecret, p.ID)
	}
	if n.cfg.Key != nil {
		proof.Time = time.Now().Unix()
		sig, err := n.cfg.Key.Sign(joinMessage(p, proof.Time))
		if err != nil {
			n.log.Warn().Err(err).Msg("sign the join")
		}
		proof.Signature = sig
	}
	if proof.Signature == nil && proof.FollowerSecretMAC == nil {
		return nil
	}
	return proof
}

// Every full peer must hold the cluster's follower secret: a follower and
// whichever member leads prove it to each other. A joining member proves
// its own to the leader with a MAC bound to its ID, so that a member made
// with another (flotilla init makes each peer one) is reported at its
// join, rather than found out when it leads and the followers stop
// following. It is reported, not refused: clusters built before the guides
// said to copy the follower secret, and with no follower, must still take
// their members.

// followerSecretMAC is the proof of secret for peer id; nil without one.
func followerSecretMAC(secret []byte, id string) []byte {
	if len(secret) == 0 {
		return nil
	}
	h := hmac.New(sha256.New, secret)
	h.Write([]byte("flotilla follower secret v1\n" + id))
	return h.Sum(nil)
}

// checkFollowerSecret warns of a joining member whose follower secret
// differs from this peer's. A member of an earlier build, or either side
// without a follower secret, has nothing to compare.
func (n *Node) checkFollowerSecret(p storage.Peer, proof *peerrpc.JoinProof) {
	want := followerSecretMAC(n.cfg.Port.FollowerSecret, p.ID)
	if proof == nil || proof.FollowerSecretMAC == nil || want == nil || hmac.Equal(proof.FollowerSecretMAC, want) {
		return
	}
	n.withPeer(n.log.Warn(), "peer", p.ID).Msg(otherFollowerSecretLine)
}

const otherFollowerSecretLine = "a member joined with another cluster.follower_secret than this peer's: " +
	"read-only followers stop following while it leads; give every full peer the same follower secret"

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
