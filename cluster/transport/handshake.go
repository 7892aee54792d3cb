package transport

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"
)

// Every connection to the cluster port, cluster protocol v2, goes:
//
//	client -> server: hello: magic "FLOTIL2\0", TLS mode
//	server -> client: hello: magic, TLS mode, 'F' on a follower's port (else 0), 30 zero bytes
//	TLS 1.3, the dialer being the client (tls.go: ephemeral keys, or the operator's)
//	in TLS, client -> server: channel byte, HMAC(secret, "client", channel, ekm)
//	in TLS, server -> client: accepted, HMAC(secret, "server", channel, ekm); or refused, then close
//
// and, when either end is a read-only follower, the same with the follower
// secret, each proof followed by the sender's identity (roles.go).
//
// where ekm is TLS's exported keying material of this session, over both
// hellos. The proofs are thus worth something only in the TLS session they
// were made in: a man in the middle that ends TLS on each side has two
// sessions and two ekms, and no secret to make the proofs for either. The
// secret never crosses the wire; no byte from a peer without it reaches Raft
// or RPC; everything after the proofs is in TLS, so it can be neither read
// nor altered on the way (TLS records are AEAD-sealed with per-direction keys
// and sequence numbers: a flipped, replayed, reordered, dropped or cut record
// breaks the connection). The channel byte picks the protocol that follows:
// Raft or peer RPC.
//
// The server's hello is 40 bytes because a v1 client reads 40 bytes and
// checks the magic: it then hangs up at once, and says the port is not a
// Flotilla cluster port.

const (
	channelRaft byte = 'R'
	channelRPC  byte = 'P'

	verdictAccepted byte = 'K'
	verdictRefused  byte = 'N'

	clientHelloSize = 9
	serverHelloSize = 40
	ekmSize         = 32

	// handshakeTimeout bounds a whole handshake, TLS included, on both
	// sides: an idle connection holds a pending slot no longer.
	handshakeTimeout = 3 * time.Second
)

const ekmLabel = "EXPORTER-flotilla-cluster-v2"

var (
	magicV2 = []byte("FLOTIL2\x00")
	magicV1 = []byte("FLOTIL1\x00")
)

var (
	// A follower and a full peer prove the follower secret to each other,
	// so a follower refused after a change of leader is told what to
	// compare.
	errBadSecret = errors.New("cluster handshake: the two peers hold different cluster secrets " +
		"(between a read-only follower and a full peer: the follower secret, which every full peer must share)")
	errOldPeer = errors.New("cluster handshake: peer speaks cluster protocol v1; this peer needs v2: upgrade it")
	errNotPeer = errors.New("cluster handshake: not a Flotilla cluster peer")
)

// peerHungUp reports whether a handshake failed because the other side
// hung up after its hello: it gave up, and was refused nothing. A v1 peer,
// which hangs up on the hello, is errOldPeer instead.
func peerHungUp(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func mac(secret []byte, role string, channel byte, ekm []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte("flotilla cluster v2 " + role))
	h.Write([]byte{0, channel})
	h.Write(ekm)
	return h.Sum(nil)
}

func clientHello(mode byte) []byte { return append(bytes.Clone(magicV2), mode) }

func serverHello(mode byte, follower bool) []byte {
	h := make([]byte, serverHelloSize)
	copy(h, magicV2)
	h[len(magicV2)] = mode
	if follower {
		h[len(magicV2)+1] = flagFollowerPort
	}
	return h
}

// checkHello reads the other side's hello: its version, then its mode
// against ours.
func checkHello(hello []byte, mode byte) error {
	switch {
	case bytes.HasPrefix(hello, magicV1):
		return errOldPeer
	case len(hello) > 0 && hello[0] == 0x16: // a TLS handshake record: a v1 peer with TLS
		return errOldPeer
	case !bytes.HasPrefix(hello, magicV2) || len(hello) <= len(magicV2):
		return errNotPeer
	}
	switch theirs := hello[len(magicV2)]; {
	case theirs == mode:
		return nil
	case theirs == modeOperator:
		return errors.New("cluster handshake: the peer uses TLS certificates of the operator (cluster.tls_*) and this peer does not: give every peer the same TLS settings")
	case theirs == modeEphemeral:
		return errors.New("cluster handshake: this peer uses TLS certificates of the operator (cluster.tls_*) and the peer does not: give every peer the same TLS settings")
	default:
		return fmt.Errorf("cluster handshake: unknown channel mode %q", theirs)
	}
}

// exporter is the keying material of the TLS session that the proofs are
// bound to.
func exporter(tc *tls.Conn, client, server []byte) ([]byte, error) {
	st := tc.ConnectionState()
	return st.ExportKeyingMaterial(ekmLabel, append(bytes.Clone(client), server...), ekmSize)
}

// serverHandshake authenticates an accepted connection, whose deadline the
// caller has set, and returns its TLS channel, the protocol it asked for and
// the role its caller proved.
func (p *Port) serverHandshake(conn net.Conn, sl *slot) (*tls.Conn, byte, Role, error) {
	hello := serverHello(p.mode, p.follower)
	if _, err := conn.Write(hello); err != nil {
		return nil, 0, 0, fmt.Errorf("cluster handshake: %w", err)
	}
	theirs := make([]byte, clientHelloSize)
	if n, err := io.ReadFull(conn, theirs); err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return nil, 0, 0, fmt.Errorf("%w (it hung up on the v2 hello without a word, as v1 peers do)", errOldPeer)
		}
		return nil, 0, 0, fmt.Errorf("cluster handshake: %w", err)
	}
	if err := checkHello(theirs, p.mode); err != nil {
		return nil, 0, 0, err
	}
	p.slots.heard(sl)
	tc := tls.Server(conn, p.tlsServer)
	if err := tc.Handshake(); err != nil {
		return nil, 0, 0, fmt.Errorf("cluster handshake: TLS: %w", err)
	}
	ekm, err := exporter(tc, theirs, hello)
	if err != nil {
		return nil, 0, 0, err
	}
	msg := make([]byte, 1+sha256.Size)
	if _, err := io.ReadFull(tc, msg); err != nil {
		return nil, 0, 0, fmt.Errorf("cluster handshake: %w", err)
	}
	channel := msg[0]
	var role Role
	var session session
	switch {
	case !p.follower && hmac.Equal(msg[1:], mac(p.secret, "client", channel, ekm)):
		role, session = RoleMember, p.session(false)
	case len(p.followerSecret) > 0 && hmac.Equal(msg[1:], mac(p.followerSecret, followerLabel+"client", channel, ekm)):
		session = p.session(true)
		frame := make([]byte, identitySize)
		if _, err := io.ReadFull(tc, frame); err != nil {
			return nil, 0, 0, fmt.Errorf("cluster handshake: %w", err)
		}
		if role, err = p.followerSessionRole(frame, channel, ekm); err != nil {
			_, _ = tc.Write([]byte{verdictRefused})
			return nil, 0, 0, err
		}
	default:
		_, _ = tc.Write([]byte{verdictRefused})
		return nil, 0, 0, errBadSecret
	}
	if channel != channelRaft && channel != channelRPC {
		return nil, 0, 0, fmt.Errorf("cluster handshake: unknown channel %q", channel)
	}
	if channel == channelRaft && role != RoleMember {
		_, _ = tc.Write([]byte{verdictRole})
		return nil, 0, 0, errRaftFromFollower
	}
	reply := append([]byte{verdictAccepted}, mac(session.secret, session.label+"server", channel, ekm)...)
	if session.follower {
		reply = append(reply, p.identity("server", channel, ekm)...)
	}
	if _, err := tc.Write(reply); err != nil {
		return nil, 0, 0, fmt.Errorf("cluster handshake: %w", err)
	}
	return tc, channel, role, nil
}

// followerLabel prefixes the proofs of the follower secret, so that they
// never pass for proofs of the cluster secret.
const followerLabel = "follower "

// session is the secret one connection proves, and how.
type session struct {
	secret   []byte
	label    string
	follower bool // the follower secret: identities follow the proofs
}

// session is the secret a connection proves: the follower secret when
// either end is a follower, else the cluster secret.
func (p *Port) session(toFollower bool) session {
	if p.follower || toFollower {
		return session{secret: p.followerSecret, label: followerLabel, follower: true}
	}
	return session{secret: p.secret}
}

// clientHandshake proves the secret to the server over a dialed connection,
// whose deadline the caller has set, and checks that the server knows it
// too, so that a peer never talks Raft to an impostor. It returns the
// channel and the role its server proved.
func (p *Port) clientHandshake(conn net.Conn, channel byte, addr string) (*authConn, error) {
	hello := clientHello(p.mode)
	if _, err := conn.Write(hello); err != nil {
		return nil, fmt.Errorf("cluster handshake: %w", err)
	}
	theirs := make([]byte, serverHelloSize)
	if n, err := io.ReadFull(conn, theirs); err != nil {
		if n > 0 {
			if herr := checkHello(theirs[:n], p.mode); herr != nil {
				return nil, herr
			}
		}
		return nil, fmt.Errorf("cluster handshake: no hello from the peer: %w", err)
	}
	if err := checkHello(theirs, p.mode); err != nil {
		return nil, err
	}
	session := p.session(theirs[len(magicV2)+1] == flagFollowerPort)
	switch {
	case session.follower && len(session.secret) == 0:
		return nil, fmt.Errorf("cluster handshake: %s is a read-only follower, and this peer has no cluster.follower_secret to reach it with", addr)
	case p.follower && channel == channelRaft:
		return nil, errRaftFromFollower
	}
	tc, ekm, err := p.clientTLS(conn, addr, hello, theirs)
	if err != nil {
		return nil, err
	}
	proof := append([]byte{channel}, mac(session.secret, session.label+"client", channel, ekm)...)
	verdictSize := 1 + sha256.Size
	if session.follower {
		proof = append(proof, p.identity("client", channel, ekm)...)
		verdictSize += identitySize
	}
	if _, err := tc.Write(proof); err != nil {
		return nil, fmt.Errorf("cluster handshake: %w", err)
	}
	verdict := make([]byte, verdictSize)
	n, err := io.ReadFull(tc, verdict)
	switch {
	case n > 0 && verdict[0] == verdictRefused:
		return nil, errBadSecret
	case n > 0 && verdict[0] == verdictRole:
		return nil, errRaftFromFollower
	case err != nil:
		// A server that refuses the proof may be gone before its verdict
		// arrives.
		return nil, fmt.Errorf("%w (or the connection failed: %v)", errBadSecret, err)
	case verdict[0] != verdictAccepted || !hmac.Equal(verdict[1:1+sha256.Size], mac(session.secret, session.label+"server", channel, ekm)):
		return nil, errBadSecret
	}
	if !session.follower {
		return &authConn{Conn: tc, role: RoleMember}, nil
	}
	role, err := p.serverRole(verdict[1+sha256.Size:], channel, ekm)
	if err != nil {
		return nil, err
	}
	return &authConn{Conn: tc, role: role}, nil
}

// clientTLS runs TLS over a dialed connection whose hellos are exchanged,
// and returns the keying material the proofs are bound to.
func (p *Port) clientTLS(conn net.Conn, addr string, hello, theirs []byte) (*tls.Conn, []byte, error) {
	cfg := p.tlsClient
	if p.mode == modeOperator {
		cfg = cfg.Clone()
		if host, _, err := net.SplitHostPort(addr); err == nil {
			cfg.ServerName = host
		}
	}
	tc := tls.Client(conn, cfg)
	if err := tc.Handshake(); err != nil {
		return nil, nil, fmt.Errorf("cluster handshake: TLS with %s: %w", addr, err)
	}
	ekm, err := exporter(tc, hello, theirs)
	return tc, ekm, err
}

// serverRole is the role a server proved in a follower-secret session. A
// follower's dial pins the member key at its first join, and refuses any
// other after.
func (p *Port) serverRole(frame []byte, channel byte, ekm []byte) (Role, error) {
	pub, err := memberIdentity(frame, "server", channel, ekm)
	switch {
	case err != nil:
		return RoleFollower, err
	case pub == nil:
		return RoleFollower, nil
	case !p.follower:
		// A member reaching a follower's port: it knows its own key.
		if !pub.Equal(p.memberPub) {
			return RoleFollower, errWrongCluster
		}
		return RoleMember, nil
	}
	if err := p.meetMember(pub); err != nil {
		return RoleFollower, err
	}
	return RoleMember, nil
}
