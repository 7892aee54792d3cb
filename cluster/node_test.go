package cluster

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/multiformats/go-multihash"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/internal/config"
	"github.com/flotilla-ipfs/flotilla/internal/testkit"
	"github.com/flotilla-ipfs/flotilla/storage"
)

var (
	testSecret         = sha256.New().Sum(nil)
	testFollowerSecret = []byte("the follower secret of the tests")
)

type testPeer struct {
	t    testing.TB
	dir  string
	id   string
	key  crypto.PrivKey
	addr string
	up   *memUpstream
	node *Node
	// logs are the lines its node logged at info and above, across its
	// restarts.
	logs *testkit.LogLines

	repinDelay time.Duration
	// follower makes it a read-only follower; voters, when set, is its
	// raft.voters.
	follower bool
	voters   int
	// slowCommitNews, when set, is its Raft's CommitTimeout and its
	// commit nudge's delay (Config.commitTimeout, Config.nudgeDelay).
	slowCommitNews time.Duration
	// followerSecret, when set, replaces the tests' follower secret.
	followerSecret []byte
}

func testCid(i int) cid.Cid {
	mh, _ := multihash.Sum([]byte(fmt.Sprintf("content %d", i)), multihash.SHA2_256, -1)
	return cid.NewCidV1(cid.DagProtobuf, mh)
}

func newTestPeer(t testing.TB, bootstrap ...string) *testPeer {
	t.Helper()
	return newTestPeerWith(t, time.Second, bootstrap...)
}

// newTestPeerWith starts a peer whose leader duties move a dead peer's pins
// after repinDelay.
func newTestPeerWith(t testing.TB, repinDelay time.Duration, bootstrap ...string) *testPeer {
	t.Helper()
	p := &testPeer{t: t, dir: t.TempDir(), up: newMemUpstream(), repinDelay: repinDelay}
	p.id, p.key = newPeerIdentity(t)
	p.start(bootstrap...)
	t.Cleanup(func() { p.stop() })
	return p
}

func (p *testPeer) start(bootstrap ...string) {
	p.t.Helper()
	n, err := New(context.Background(), p.config(bootstrap...))
	if err != nil {
		p.t.Fatal(err)
	}
	p.node = n
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := n.WaitReady(ctx); err != nil {
		p.t.Fatal(err)
	}
	// The empty entry a peer commits after its start (readyourwrites.go)
	// is no part of what a test counts.
	select {
	case <-n.synced:
	case <-ctx.Done():
		p.t.Fatal("the peer's sync after its start did not end")
	}
}

// config binds the peer's address (again, after a restart) and returns
// the Config it starts with.
func (p *testPeer) config(bootstrap ...string) Config {
	p.t.Helper()
	listen := "127.0.0.1:0"
	if p.addr != "" {
		listen = p.addr
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		p.t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	f := config.Default()
	f.Raft.HeartbeatTimeout = config.Duration(300 * time.Millisecond)
	f.Raft.ElectionTimeout = config.Duration(300 * time.Millisecond)
	f.Raft.SnapshotThreshold = 1024
	f.Raft.SnapshotInterval = config.Duration(time.Minute)
	f.Raft.BatchMaxPins = 256
	f.Raft.BatchMaxDelay = config.Duration(time.Millisecond)
	// A TTL of several beats and a repin delay: one stall of a loaded
	// 2-core machine must not look like a death and move pins mid-test.
	f.Health.HeartbeatInterval = config.Duration(200 * time.Millisecond)
	f.Health.HeartbeatTTL = config.Duration(2 * time.Second)
	f.Cluster.RepinDelay = config.Duration(p.repinDelay)
	f.IPFS.ConcurrentPins = 4
	f.IPFS.PinTimeout = config.Duration(time.Minute)
	f.IPFS.UnpinTimeout = config.Duration(time.Minute)
	f.IPFS.ReconcileInterval = config.Duration(time.Hour)
	cfg := FromFile(f, p.dir)
	cfg.ID, cfg.Key, cfg.Name, cfg.DataDir = p.id, p.key, "peer-"+p.id[len(p.id)-4:], p.dir
	cfg.Port.Listener, cfg.Port.Secret, cfg.Advertise = ln, testSecret, p.addr
	cfg.Port.FollowerSecret = testFollowerSecret
	if p.followerSecret != nil {
		cfg.Port.FollowerSecret = p.followerSecret
	}
	if p.follower {
		// A follower's own cluster secret is never used.
		cfg.Port.Secret = []byte("a secret of the follower's own")
		cfg.Membership.Follower = true
	}
	if p.voters > 0 {
		cfg.Membership.Voters = p.voters
	}
	cfg.commitTimeout, cfg.nudgeDelay = p.slowCommitNews, p.slowCommitNews
	cfg.Membership.Bootstrap = bootstrap
	cfg.Allocation.ExpiryInterval = 50 * time.Millisecond
	cfg.Allocation.RepairInterval = time.Second
	cfg.Tracker.RetryBackoff = 50 * time.Millisecond
	cfg.IPFS = p.up
	if p.logs == nil {
		p.logs = &testkit.LogLines{}
	}
	// The test's log gets warnings, as before; p.logs keeps info lines
	// too, for the tests of what operators grep for.
	toTest := &zerolog.FilteredLevelWriter{Writer: zerolog.LevelWriterAdapter{Writer: testkit.LogWriter(p.t)}, Level: zerolog.WarnLevel}
	cfg.Log = zerolog.New(zerolog.MultiLevelWriter(toTest, p.logs)).Level(zerolog.InfoLevel)
	return cfg
}

func (p *testPeer) stop() {
	if p.node != nil {
		p.node.Close()
		p.node = nil
	}
}

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, what, cond, testkit.Within(20*time.Second))
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestPinIsPinnedUpstreamAndSurvivesRestart(t *testing.T) {
	p := newTestPeer(t)
	c := testCid(1)
	pin, err := p.node.Pin(ctx(t), storage.Pin{Cid: c, Name: "one"})
	if err != nil {
		t.Fatal(err)
	}
	if pin.Timestamp.IsZero() || pin.ReplicationFactorMin != -1 {
		t.Fatalf("committed pin lacks decided fields: %+v", pin)
	}
	if err := p.node.WaitPinned(ctx(t), c, nil); err != nil {
		t.Fatal(err)
	}
	if !p.up.has(c) {
		t.Fatal("WaitPinned returned but the upstream does not hold the pin")
	}
	if got := p.node.LocalStatus(c).Status; got != "pinned" {
		t.Fatalf("local status %q", got)
	}

	p.stop()
	p.start()
	got, err := p.node.Get(ctx(t), c)
	if err != nil || got.Name != "one" {
		t.Fatalf("pin lost across restart: %+v %v", got, err)
	}
}

func TestUnpinRemovesOnlyFlotillasPins(t *testing.T) {
	p := newTestPeer(t)
	mine, users := testCid(1), testCid(2)
	p.up.pinBehindBack(users)
	for _, c := range []cid.Cid{mine, users} {
		if _, err := p.node.Pin(ctx(t), storage.Pin{Cid: c}); err != nil {
			t.Fatal(err)
		}
		if err := p.node.WaitPinned(ctx(t), c, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []cid.Cid{mine, users} {
		if _, err := p.node.Unpin(ctx(t), c); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "Flotilla's own pin removed upstream", func() bool { return !p.up.has(mine) })
	if !p.up.has(users) {
		t.Fatal("a pin the user made directly on IPFS was removed")
	}
	if _, err := p.node.Unpin(ctx(t), mine); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("second unpin: %v, want ErrNotFound", err)
	}
}

func TestConcurrentPinsShareRaftEntries(t *testing.T) {
	p := newTestPeer(t)
	var batches, ops atomic.Int64
	p.node.batch.onBatch = func(n int) { batches.Add(1); ops.Add(int64(n)) }
	const n = 300
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if _, err := p.node.Pin(ctx(t), storage.Pin{Cid: testCid(100 + i)}); err != nil {
				errs <- err
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if count, _ := p.node.PinCount(); count != n {
		t.Fatalf("pinset has %d pins, want %d", count, n)
	}
	if ops.Load() != n || batches.Load() >= n/2 {
		t.Fatalf("%d pins went out in %d entries: group commit is not grouping", ops.Load(), batches.Load())
	}
	t.Logf("%d concurrent pins in %d raft entries", n, batches.Load())
}

func TestRestartAfterSnapshotNeverRollsThePinsetBack(t *testing.T) {
	p := newTestPeer(t)
	before, after := testCid(501), testCid(502)
	pinAroundASnapshot(t, p, before, after)
	p.stop()
	p.start()
	// The pin committed after the snapshot is there from the first moment,
	// and nothing was unpinned on the way.
	if _, err := p.node.Get(ctx(t), after); err != nil {
		t.Fatalf("the pinset rolled back to the snapshot: %v", err)
	}
	assertPinnedAndNoneUnpinned(t, p, 2)
}

// pinAroundASnapshot pins before, takes a Raft snapshot, pins after, and
// waits until IPFS holds both.
func pinAroundASnapshot(t *testing.T, p *testPeer, before, after cid.Cid) {
	t.Helper()
	if _, err := p.node.Pin(ctx(t), storage.Pin{Cid: before}); err != nil {
		t.Fatal(err)
	}
	if err := p.node.rp.raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.node.Pin(ctx(t), storage.Pin{Cid: after}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "both pinned upstream", func() bool { return p.up.has(before) && p.up.has(after) })
}

// assertPinnedAndNoneUnpinned reconciles, waits for the tracker to hold
// pinned pins only, and checks that no pin was ever unpinned on IPFS.
func assertPinnedAndNoneUnpinned(t *testing.T, p *testPeer, pinned int) {
	t.Helper()
	if err := p.node.tracker.Reconcile(ctx(t)); err != nil {
		t.Fatal(err)
	}
	// Whatever the reconcile queued, the workers do after it returns: wait
	// until nothing is queued or in flight, then count.
	eventually(t, "the tracker idle with every pin pinned", func() bool {
		counts, err := p.node.status.CountByStatus()
		return err == nil && len(counts) == 1 && counts[storage.StatusPinned] == pinned
	})
	if n := p.up.unpinCount(); n != 0 {
		t.Fatalf("%d pins were unpinned on IPFS", n)
	}
}
