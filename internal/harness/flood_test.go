package harness

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// raiseFileLimit makes room for n more open files, or skips the test.
func raiseFileLimit(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("getrlimit: %v", err)
	}
	if lim.Cur >= n {
		return
	}
	old := lim
	lim.Cur = min(n, lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < n {
		t.Skipf("cannot open %d files (limit %d): %v", n, lim.Cur, err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
}

// holdIdle keeps n idle connections open to addr, from the loopback
// addresses 127.0.0.2 to 127.0.0.64 (Linux routes all of 127/8 on lo): the
// peers dial from 127.0.0.1, as peers on other hosts would from their own
// addresses. A connection the server hangs up on is opened again, so that
// the port always has about n of them: at most perSecond openings a second
// in all, far more than it takes to keep every handshake slot taken, and
// few enough to leave the peers in this process some of the 2 cores. It
// returns how many it has opened so far.
func holdIdle(t *testing.T, addr string, n, perSecond int) *atomic.Int64 {
	ctx, cancel := context.WithCancel(context.Background())
	tick := time.NewTicker(time.Second / time.Duration(perSecond))
	var opened atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%63))}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				conn, err := d.DialContext(ctx, "tcp", addr)
				if err != nil {
					return
				}
				opened.Add(1)
				stop := context.AfterFunc(ctx, func() { conn.Close() })
				io.Copy(io.Discard, conn) // until the server hangs up
				stop()
				conn.Close()
			}
		}()
	}
	t.Cleanup(func() { cancel(); wg.Wait(); tick.Stop() })
	return &opened
}

func TestAThousandIdleConnectionsDoNotStallPeers(t *testing.T) {
	const idle = 1000
	raiseFileLimit(t, 4*idle)
	// Raft's timeouts are longer than the harness's 500 ms, so that the
	// load of a whole test run on two cores sets off no election: a flood
	// that stalled the leader's port, for the handshake deadline (3 s) or
	// more, still would.
	c := New(t, 3, Options{RaftTimeout: 2 * time.Second})
	leader, follower := c.WaitLeader(), c.follower()
	opened := holdIdle(t, leader.Addr, idle, 2000)
	c.WaitFor(fmt.Sprintf("%d idle connections on the leader's cluster port", idle), func() bool { return opened.Load() >= idle })

	const pins = 20
	var slowest, total time.Duration
	for i := 0; i < pins; i++ {
		// Drop the follower's connections, so that its write must make
		// a new one to the leader's cluster port, through the flood.
		c.Cut(follower)
		c.Heal(follower)
		start := time.Now()
		p := storage.Pin{Cid: testCid(9200 + i), Name: fmt.Sprintf("through-the-flood-%d", i)}
		if _, err := follower.Node.Pin(timeout(t, 20*time.Second), p); err != nil {
			t.Fatalf("pin %d through the follower during the flood: %v", i, err)
		}
		slowest, total = max(slowest, time.Since(start)), total+time.Since(start)
		if c.Leader().ID != leader.ID {
			t.Fatal("the flood cost the leader its leadership")
		}
	}
	// How long the pins took is a figure, not a verdict: on a loaded
	// machine it varies tenfold. The slots' rule that keeps a peer's
	// handshake from waiting behind a flood is tested in
	// cluster/transport (TestAFloodFromManySourcesLeavesRoomForPeers).
	t.Logf("%d pins through the follower in %s, slowest %s, while %d idle connections were held (%d opened)", pins, total, slowest, idle, opened.Load())
}
