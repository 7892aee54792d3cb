package transport

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/rs/zerolog"
)

var (
	clusterSecret  = []byte("the cluster secret")
	followerSecret = []byte("the follower secret")
)

// startMember starts the port of a full member, which admits followers.
func startMember(t *testing.T, secret []byte) (*Port, *testLog) {
	t.Helper()
	return startLoggedPort(t, secret, nil, func(p *Port) {
		p.followerSecret = followerSecret
	})
}

// pinnedKeys records the cluster keys a follower pinned.
type pinnedKeys struct {
	mu   sync.Mutex
	keys []ed25519.PublicKey
}

func (k *pinnedKeys) learn(pub ed25519.PublicKey) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys = append(k.keys, pub)
	return nil
}

func (k *pinnedKeys) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.keys)
}

// startFollower starts a follower's port: it knows the follower secret
// alone (its cluster secret is another one, which must not matter).
func startFollower(t *testing.T, pinned ed25519.PublicKey, keys *pinnedKeys) (*Port, *testLog) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log := &testLog{}
	cfg := Config{
		Listener: ln, Secret: []byte("the follower's own, unrelated secret"), FollowerSecret: followerSecret,
		Follower: true, ClusterKey: pinned, Log: zerolog.New(log),
	}
	if keys != nil {
		cfg.LearnClusterKey = keys.learn
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	go p.Serve()
	t.Cleanup(func() { p.Close() })
	return p, log
}

// acceptedRole waits for l to hand over a connection and returns its role.
func acceptedRole(t *testing.T, l net.Listener) Role {
	t.Helper()
	got := make(chan net.Conn, 1)
	go func() {
		if c, err := l.Accept(); err == nil {
			got <- c
		}
	}()
	select {
	case c := <-got:
		defer c.Close()
		return RoleOf(c)
	case <-time.After(5 * time.Second):
		t.Fatal("no connection was handed over")
		return 0
	}
}

func TestAFollowerReachesRPCAsAFollowerAndPinsTheClusterKey(t *testing.T) {
	member, _ := startMember(t, clusterSecret)
	keys := &pinnedKeys{}
	follower, _ := startFollower(t, nil, keys)
	conn, err := follower.DialRPC(dialCtx(t), member.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if RoleOf(conn) != RoleMember {
		t.Fatal("the follower did not see the member prove the cluster key")
	}
	if role := acceptedRole(t, member.RPC()); role != RoleFollower {
		t.Fatalf("a caller with the follower secret was admitted as %s", role)
	}
	if keys.count() != 1 || !keys.keys[0].Equal(member.memberPub) {
		t.Fatalf("the follower pinned %d keys, want the member's", keys.count())
	}

	// A member still reaches a member as a member.
	other, _ := startMember(t, clusterSecret)
	conn2, err := other.DialRPC(dialCtx(t), member.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	if role := acceptedRole(t, member.RPC()); role != RoleMember {
		t.Fatalf("a member was admitted as %s", role)
	}
}

func TestAFollowerNeverOpensRaftOnAMember(t *testing.T) {
	member, log := startMember(t, clusterSecret)
	follower, _ := startFollower(t, nil, &pinnedKeys{})
	if _, err := follower.Raft().Dial(rAddr(member), 5*time.Second); !errors.Is(err, errRaftFromFollower) {
		t.Fatalf("a follower's Raft dial = %v", err)
	}
	// A forged client that proves the follower secret and asks for Raft
	// anyway is refused by the member itself.
	refusesForgedFollowerRaft(t, member, log)
}

func TestAFollowerTakesRaftOnlyFromItsCluster(t *testing.T) {
	member, _ := startMember(t, clusterSecret)
	follower, log := startFollower(t, member.memberPub, nil)

	conn, err := member.Raft().Dial(rAddr(follower), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if RoleOf(conn) != RoleFollower {
		t.Fatal("the member did not see that it reached a follower")
	}
	if role := acceptedRole(t, follower.Raft()); role != RoleMember {
		t.Fatalf("the leader's Raft reached the follower as %s", role)
	}

	// A member of another cluster that has the same follower secret.
	stranger, _ := startMember(t, []byte("another cluster's secret"))
	if _, err := stranger.Raft().Dial(rAddr(follower), 5*time.Second); !errors.Is(err, errRaftFromFollower) {
		t.Fatalf("another cluster's Raft dial to the follower = %v", err)
	}
	// Another follower.
	other, _ := startFollower(t, member.memberPub, nil)
	if _, err := other.Raft().Dial(rAddr(follower), 5*time.Second); !errors.Is(err, errRaftFromFollower) {
		t.Fatalf("another follower's Raft dial = %v", err)
	}
	refusesForgedFollowerRaft(t, follower, log)
}

func TestAFollowerWithoutAPinnedKeyTakesNoRaft(t *testing.T) {
	member, _ := startMember(t, clusterSecret)
	follower, _ := startFollower(t, nil, nil)
	if _, err := member.Raft().Dial(rAddr(follower), 5*time.Second); !errors.Is(err, errRaftFromFollower) {
		t.Fatalf("Raft to a follower that never joined = %v", err)
	}
}

func TestAFollowerRefusesAnotherCluster(t *testing.T) {
	member, _ := startMember(t, clusterSecret)
	stranger, _ := startMember(t, []byte("another cluster's secret"))
	follower, _ := startFollower(t, member.memberPub, nil)
	_, err := follower.DialRPC(dialCtx(t), stranger.Addr().String())
	if !errors.Is(err, errWrongCluster) {
		t.Fatalf("a follower dialing another cluster's member = %v", err)
	}
}

func TestWrongOrMissingFollowerSecrets(t *testing.T) {
	member, _ := startMember(t, clusterSecret)
	follower, _ := startFollower(t, member.memberPub, nil)
	// A member without the follower secret cannot reach a follower.
	bare := startPort(t, clusterSecret, nil)
	_, err := bare.DialRPC(dialCtx(t), follower.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "no cluster.follower_secret") {
		t.Fatalf("a member without the follower secret dialing a follower = %v", err)
	}
	// ...nor admit one.
	if _, err := follower.DialRPC(dialCtx(t), bare.Addr().String()); !errors.Is(err, errBadSecret) {
		t.Fatalf("a follower dialing a member without the follower secret = %v", err)
	}
	// A wrong follower secret is a wrong secret.
	liar, _ := startFollower(t, nil, nil)
	liar.followerSecret = []byte("not it")
	if _, err := liar.DialRPC(dialCtx(t), member.Addr().String()); !errors.Is(err, errBadSecret) {
		t.Fatalf("a wrong follower secret = %v", err)
	} else if !strings.Contains(err.Error(), "the follower secret, which every full peer must share") {
		// A follower refused after a change of leader must learn which
		// secret to compare, not only the cluster secret it never holds.
		t.Fatalf("a follower refused is told %q, which does not name the follower secret", err)
	}
}

func rAddr(p *Port) raft.ServerAddress { return raft.ServerAddress(p.Addr().String()) }

// raftAccepted reports whether the port hands a connection to Raft within d.
func raftAccepted(p *Port, d time.Duration) bool {
	got := make(chan struct{})
	go func() {
		if c, err := p.raft.Accept(); err == nil {
			c.Close()
			close(got)
		}
	}()
	select {
	case <-got:
		return true
	case <-time.After(d):
		return false
	}
}

// refusesForgedFollowerRaft checks that p refuses Raft to a hand-made
// proof of the follower secret with a follower's identity, says so in its
// log, and hands nothing to Raft.
func refusesForgedFollowerRaft(t *testing.T, p *Port, log *testLog) {
	t.Helper()
	if verdict := forgedFollowerRaft(t, p); !bytes.Equal(verdict, []byte{verdictRole}) {
		t.Fatalf("a forged follower's Raft dial was answered with %q", verdict)
	}
	log.waitFor(t, "a read-only follower may not open Raft")
	if raftAccepted(p, 300*time.Millisecond) {
		t.Fatal("a follower's connection reached Raft")
	}
}

// forgedFollowerRaft asks p for Raft with a hand-made proof of the follower
// secret and a follower's identity, and returns p's answer.
func forgedFollowerRaft(t *testing.T, p *Port) []byte {
	t.Helper()
	tc, ekm := handRolledSession(t, p)
	defer tc.Close()
	proof := append([]byte{channelRaft}, mac(followerSecret, followerLabel+"client", channelRaft, ekm)...)
	proof = append(proof, make([]byte, identitySize)...)
	proof[1+sha256.Size] = identityFollower
	if _, err := tc.Write(proof); err != nil {
		t.Fatal(err)
	}
	tc.SetReadDeadline(time.Now().Add(5 * time.Second))
	verdict, _ := io.ReadAll(tc)
	return verdict
}

// handRolledSession opens TLS to p as a client would, up to the proof, and
// returns the session's keying material for the caller's own proof.
func handRolledSession(t *testing.T, p *Port) (*tls.Conn, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	hello := clientHello(modeEphemeral)
	if _, err := conn.Write(hello); err != nil {
		t.Fatal(err)
	}
	theirs := make([]byte, serverHelloSize)
	if _, err := io.ReadFull(conn, theirs); err != nil {
		t.Fatal(err)
	}
	tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	ekm, err := exporter(tc, hello, theirs)
	if err != nil {
		t.Fatal(err)
	}
	return tc, ekm
}
