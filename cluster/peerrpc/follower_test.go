package peerrpc

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/cluster/transport"
	"github.com/flotilla-ipfs/flotilla/health"
	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// refusedAsFollower checks that err is the refusal of a follower's write.
func refusedAsFollower(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, types.ErrReadOnlyFollower) {
		t.Errorf("%s from a follower = %v, want the read-only refusal", what, err)
	}
}

func TestAFollowerReadsButEveryWriteIsRefused(t *testing.T) {
	local := &fakeLocal{recoverPages: [][]cid.Cid{{testCid(1)}}}
	client, addr := serveTo(t, local, CallerFollower)
	ctx := context.Background()

	_, err := client.Apply(ctx, addr, []storage.Op{{Kind: storage.OpPin, Pin: storage.Pin{Cid: testCid(1)}}})
	refusedAsFollower(t, "apply", err)
	refusedAsFollower(t, "remove", client.Remove(ctx, addr, "peer-b"))
	refusedAsFollower(t, "recover", client.Recover(ctx, addr, testCid(1)))
	refusedAsFollower(t, "recover all", client.RecoverAll(ctx, addr, func([]cid.Cid) error { return nil }))
	_, err = client.RepoGC(ctx, addr)
	refusedAsFollower(t, "repo gc", err)
	// A follower writes nothing whose commit it could wait for.
	refusedAsFollower(t, "pass commit on", client.PassCommitOn(ctx, addr))
	if len(local.ops) != 0 || len(local.recovered) != 0 || local.passedOn != 0 {
		t.Fatalf("a follower's writes reached the peer: ops %v, recovered %v, %d commits passed on", local.ops, local.recovered, local.passedOn)
	}

	if id, err := client.ID(ctx, addr); err != nil || id.ID != "peer-a" {
		t.Errorf("a follower's ID = %+v, %v", id, err)
	}
	if sts, err := client.Statuses(ctx, addr, 0, []cid.Cid{testCid(2)}); err != nil || len(sts) != 1 {
		t.Errorf("a follower's Statuses = %v, %v", sts, err)
	}
	if _, err := client.RepoStat(ctx, addr); err != nil {
		t.Errorf("a follower's RepoStat = %v", err)
	}
}

func TestAFollowerJoinsAsAFollowerWhateverItSays(t *testing.T) {
	local := &fakeLocal{}
	client, addr := serveTo(t, local, CallerFollower)
	if err := client.Join(context.Background(), addr, storage.Peer{ID: "f", ClusterAddr: "127.0.0.1:1"}, nil); err != nil {
		t.Fatal(err)
	}
	if len(local.joined) != 1 || !local.joined[0].Follower {
		t.Fatalf("a follower's join reached the peer as %+v", local.joined)
	}
	// A member's join says what it is.
	client, addr = serve(t, local)
	if err := client.Join(context.Background(), addr, storage.Peer{ID: "m", ClusterAddr: "127.0.0.1:2"}, nil); err != nil {
		t.Fatal(err)
	}
	if len(local.joined) != 2 || local.joined[1].Follower {
		t.Fatalf("a member's join reached the peer as %+v", local.joined[1])
	}
}

func TestAFollowerHeartbeatsForFollowersOnly(t *testing.T) {
	local := &fakeLocal{members: []string{"voter"}}
	client, addr := serveTo(t, local, CallerFollower)
	ctx := context.Background()
	if err := client.Metrics(ctx, addr, []health.Metric{{Name: "ping", Peer: "f"}}); err != nil {
		t.Fatalf("a follower's own heartbeat = %v", err)
	}
	err := client.Metrics(ctx, addr, []health.Metric{{Name: "ping", Peer: "f"}, {Name: "ping", Peer: "voter"}})
	refusedAsFollower(t, "a heartbeat for a member", err)
	if len(local.metrics) != 1 || local.metrics[0].Peer != "f" {
		t.Fatalf("the peer accepted %+v", local.metrics)
	}
}

func TestARequestOfUnknownOriginIsAFollowers(t *testing.T) {
	if callerOf(context.Background()) != CallerFollower {
		t.Fatal("a request without a recorded caller may write")
	}
}

// Over the real cluster port: the role that the handshake proved decides,
// not anything the caller says.
func TestTheClusterPortsRoleDecides(t *testing.T) {
	clusterSecret, followerSecret := []byte("cluster"), []byte("follower")
	server := startTransport(t, transport.Config{Secret: clusterSecret, FollowerSecret: followerSecret})
	local := &fakeLocal{}
	srv := &http.Server{
		Handler:     NewService(local),
		ConnContext: ConnContext(func(c net.Conn) bool { return transport.RoleOf(c) == transport.RoleMember }),
	}
	go srv.Serve(server.RPC())
	t.Cleanup(func() { srv.Close() })

	ops := []storage.Op{{Kind: storage.OpPin, Pin: storage.Pin{Cid: testCid(1)}}}
	follower := startTransport(t, transport.Config{FollowerSecret: followerSecret, Follower: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := NewClient(follower.DialRPC).Apply(ctx, server.Addr().String(), ops)
	refusedAsFollower(t, "apply over the cluster port", err)
	if len(local.ops) != 0 {
		t.Fatal("a follower's apply reached the leader")
	}
	member := startTransport(t, transport.Config{Secret: clusterSecret, FollowerSecret: followerSecret})
	if _, err := NewClient(member.DialRPC).Apply(ctx, server.Addr().String(), ops); err != nil {
		t.Fatalf("a member's apply = %v", err)
	}
	if len(local.ops) != 1 {
		t.Fatalf("the member's apply carried %d ops", len(local.ops))
	}
}

func startTransport(t *testing.T, cfg transport.Config) *transport.Port {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listener, cfg.Log = ln, zerolog.Nop()
	p, err := transport.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	go p.Serve()
	t.Cleanup(func() { p.Close() })
	return p
}
