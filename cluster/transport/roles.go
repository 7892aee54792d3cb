package transport

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
)

// The cluster port admits two kinds of callers. A member proves the cluster
// secret and may do anything: Raft, and every peer RPC. A read-only follower
// proves the follower secret instead: it may call the peer RPC that reads,
// and never opens Raft (the leader opens Raft to it). Which secret a
// connection proved is its Role, which the port hands on with the connection
// (RoleOf), so that the service on top refuses writes from followers: the
// follower's own code is not what keeps it read-only.
//
// A follower's port knows the follower secret alone, so the follower secret
// cannot tell it a member from another follower. Members therefore also sign
// the session with the cluster's member key, an Ed25519 key that every
// member derives from the cluster secret. A follower pins the public half
// the first time it meets the cluster (at its first join, as ssh pins a
// host key) and from then on takes Raft only from a connection signed with
// it: another follower cannot feed it a pinset.
//
// In a session on the follower secret, both sides send an identity after
// the proof: 'M', the member key's public half and its signature over the
// session, or 'F' and zeros from a follower. A session on the cluster
// secret is exactly as it was: members of every build still talk.

// Role is what the other end of a cluster connection proved.
type Role uint8

const (
	// RoleFollower proved the follower secret only; it is the zero value,
	// so that a connection of unknown origin gets the least.
	RoleFollower Role = iota
	// RoleMember proved the cluster secret, or signed with the member key.
	RoleMember
)

func (r Role) String() string {
	if r == RoleMember {
		return "member"
	}
	return "follower"
}

// authConn is an authenticated connection and what its other end proved.
type authConn struct {
	net.Conn
	role Role
}

// RoleOf is what the other end of a connection from this package's
// listeners or dialers proved; RoleFollower for any other connection.
func RoleOf(c net.Conn) Role {
	if ac, ok := c.(*authConn); ok {
		return ac.role
	}
	return RoleFollower
}

const (
	// flagFollowerPort, in the server hello after the mode, says that the
	// port is a follower's: dial it with the follower secret.
	flagFollowerPort byte = 'F'

	identityMember   byte = 'M'
	identityFollower byte = 'F'
	identitySize          = 1 + ed25519.PublicKeySize + ed25519.SignatureSize

	// verdictRole refuses a channel that the proven role may not open.
	verdictRole byte = 'R'
)

var (
	errRaftFromFollower = errors.New("cluster handshake: a read-only follower may not open Raft: the leader opens Raft to its followers")
	errWrongCluster     = errors.New("cluster handshake: the peer signs with another cluster key than the one this follower pinned when it first joined: it is not a member of the cluster this peer follows")
)

// memberKey is the member key of the cluster whose secret this is.
func memberKey(secret []byte) (ed25519.PrivateKey, error) {
	seed, err := hkdf.Key(sha256.New, secret, nil, "flotilla cluster member key v2", ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// identityMessage is what a member signs: the side it speaks for, the
// channel, and the TLS session, so that a signature is worth nothing in
// another session.
func identityMessage(side string, channel byte, ekm []byte) []byte {
	msg := []byte("flotilla cluster v2 member " + side)
	msg = append(msg, 0, channel)
	return append(msg, ekm...)
}

// identity is this port's identity for one side of a follower-secret
// session: a member's signature, or a follower's empty frame.
func (p *Port) identity(side string, channel byte, ekm []byte) []byte {
	out := make([]byte, identitySize)
	if p.memberKey == nil {
		out[0] = identityFollower
		return out
	}
	out[0] = identityMember
	copy(out[1:], p.memberPub)
	copy(out[1+ed25519.PublicKeySize:], ed25519.Sign(p.memberKey, identityMessage(side, channel, ekm)))
	return out
}

// memberIdentity reads the other side's identity frame: the member key it
// signed the session with, or nil for a follower.
func memberIdentity(frame []byte, side string, channel byte, ekm []byte) (ed25519.PublicKey, error) {
	switch frame[0] {
	case identityFollower:
		return nil, nil
	case identityMember:
		pub := ed25519.PublicKey(bytes.Clone(frame[1 : 1+ed25519.PublicKeySize]))
		if !ed25519.Verify(pub, identityMessage(side, channel, ekm), frame[1+ed25519.PublicKeySize:]) {
			return nil, errors.New("cluster handshake: the peer's member signature does not verify")
		}
		return pub, nil
	}
	return nil, fmt.Errorf("cluster handshake: unknown identity %q", frame[0])
}

// trustsMember reports whether pub is the cluster key this follower pinned.
func (p *Port) trustsMember(pub ed25519.PublicKey) bool {
	pinned := p.clusterKey.Load()
	return pub != nil && pinned != nil && pub.Equal(*pinned)
}

// meetMember checks a member key a follower's dial met against the pinned
// one, and pins it when there is none yet (the first join).
func (p *Port) meetMember(pub ed25519.PublicKey) error {
	p.learnMu.Lock()
	defer p.learnMu.Unlock()
	if pinned := p.clusterKey.Load(); pinned != nil {
		if !pub.Equal(*pinned) {
			return errWrongCluster
		}
		return nil
	}
	if p.learnKey != nil {
		if err := p.learnKey(pub); err != nil {
			return fmt.Errorf("cluster handshake: pin the cluster key: %w", err)
		}
	}
	p.clusterKey.Store(&pub)
	return nil
}

// followerSessionRole is the role of a caller that proved the follower
// secret: a member on a follower's port when it signed with the pinned
// cluster key, else a follower.
func (p *Port) followerSessionRole(frame []byte, channel byte, ekm []byte) (Role, error) {
	if !p.follower {
		// A member dials a member with the cluster secret: whoever proves
		// only the follower secret here is a follower, whatever it claims.
		return RoleFollower, nil
	}
	pub, err := memberIdentity(frame, "client", channel, ekm)
	if err != nil {
		return RoleFollower, err
	}
	if p.trustsMember(pub) {
		return RoleMember, nil
	}
	return RoleFollower, nil
}
