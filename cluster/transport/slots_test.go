package transport

import (
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/internal/testkit"
)

type fakeConn struct {
	net.Conn
	from net.Addr
}

func (c fakeConn) RemoteAddr() net.Addr { return c.from }

func connFrom(ip string, port int) net.Conn {
	return fakeConn{from: &net.TCPAddr{IP: net.ParseIP(ip), Port: port}}
}

func TestSlotsEvictTheOldestOfTheHeaviestSource(t *testing.T) {
	s := newHandshakeSlots(3, 3, 5)
	a1, _ := s.take(connFrom("10.0.0.1", 1))
	s.take(connFrom("10.0.0.1", 2))
	s.take(connFrom("10.0.0.1", 3))
	// A fourth from the same source takes the slot of its oldest.
	if _, ev := s.take(connFrom("10.0.0.1", 4)); ev != a1 {
		t.Fatalf("evicted %v, want the source's oldest", ev)
	}
	peer, _ := s.take(connFrom("10.0.0.2", 1))
	b1, _ := s.take(connFrom("2001:db8::1", 1))
	// All five taken: the next one, from anywhere, evicts from the source
	// that holds the most (10.0.0.1), never the peer's only one.
	_, ev := s.take(connFrom("10.0.0.3", 1))
	if ev == nil || ev.source != "10.0.0.1" {
		t.Fatalf("evicted %v, want one of 10.0.0.1's", ev)
	}
	// 10.0.0.1 and the rest now hold 2,1,1,1: evict 10.0.0.1 again.
	if _, ev = s.take(connFrom("2001:db8::2", 1)); ev == nil || ev.source != "10.0.0.1" {
		t.Fatalf("evicted %v, want one of 10.0.0.1's", ev)
	}
	// One IPv6 /64 is one source: it now holds two, the most.
	if _, ev = s.take(connFrom("10.0.0.4", 1)); ev != b1 {
		t.Fatalf("evicted %v, want the /64's oldest", ev)
	}
	if s.pending("") != 5 {
		t.Fatalf("%d pending, want 5", s.pending(""))
	}
	if s.release(peer) || s.release(a1) != true || s.pending("") != 4 {
		t.Fatal("release miscounted")
	}
}

func TestSlotsEvictTheSilentBeforeThoseThatSpoke(t *testing.T) {
	s := newHandshakeSlots(3, 3, 4)
	slow, _ := s.take(connFrom("10.0.0.1", 1)) // a peer, slow in TLS
	s.heard(slow)
	s.take(connFrom("10.0.0.1", 2))
	s.take(connFrom("10.0.0.1", 3))
	// Its own source is full: the oldest silent one goes, not the peer's.
	if _, ev := s.take(connFrom("10.0.0.1", 4)); ev == nil || ev == slow || ev.conn.RemoteAddr().(*net.TCPAddr).Port != 2 {
		t.Fatalf("evicted %v, want the oldest silent one", ev)
	}
	// All full: a silent one of a lighter source goes before the peer's.
	other, _ := s.take(connFrom("10.0.0.2", 1))
	if _, ev := s.take(connFrom("10.0.0.3", 1)); ev == nil || ev == slow {
		t.Fatalf("evicted %v, want a silent one", ev)
	}
	s.heard(other)
	// Two spoke, two are silent: a silent one goes, whatever its age.
	for i := 0; i < 2; i++ {
		if _, ev := s.take(connFrom("10.0.0.4", i)); ev == nil || ev.spoke {
			t.Fatalf("evicted %v, want a silent one", ev)
		}
		s.heard(s.bySource["10.0.0.4"][i])
	}
	// All four spoke: the oldest of the source holding the most goes,
	// still not the slow peer.
	want := s.bySource["10.0.0.4"][0]
	if _, ev := s.take(connFrom("10.0.0.5", 1)); ev != want {
		t.Fatalf("evicted %v, want 10.0.0.4's oldest", ev)
	}
}

// dialFrom opens n TCP connections to addr from the loopback address src
// (Linux routes all of 127/8 on lo), and holds them.
func dialFrom(t *testing.T, src, addr string, n int) []net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Skipf("cannot dial from %s: %v", src, err)
		}
		conns[i] = c
		t.Cleanup(func() { c.Close() })
	}
	return conns
}

// closedByServer reports whether the server has hung up on c.
func closedByServer(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(time.Millisecond))
	_, err := io.ReadAll(c)
	return err == nil // EOF: hung up; a timeout: still open
}

// patient keeps idle connections pending for the whole test: the deadline
// is not what these tests are about.
func patient(p *Port) { p.timeout = time.Minute }

func TestOneSourceHoldsAtMostItsShareOfSlots(t *testing.T) {
	server, _ := startLoggedPort(t, []byte("s"), nil, patient)
	attack := dialFrom(t, "127.0.0.2", server.Addr().String(), 3*maxPendingPerSource)
	testkit.Eventually(t, "the source's oldest connections to be evicted", func() bool {
		for _, c := range attack[:2*maxPendingPerSource] {
			if !closedByServer(c) {
				return false
			}
		}
		return server.slots.pending("127.0.0.2") == maxPendingPerSource
	})
	for _, c := range attack[2*maxPendingPerSource:] {
		if closedByServer(c) {
			t.Fatal("one of the newest connections was evicted instead of the oldest")
		}
	}
	client := startPort(t, []byte("s"), nil)
	if _, err := client.dial(dialCtx(t), server.Addr().String(), channelRPC); err != nil || !accepted(server, 5*time.Second) {
		t.Fatalf("a peer from another address was not admitted: %v", err)
	}
}

func TestAFloodFromManySourcesLeavesRoomForPeers(t *testing.T) {
	server, _ := startLoggedPort(t, []byte("s"), nil, patient)
	// More idle connections than there are slots, 16 from each of 32
	// addresses; the peer dials from 127.0.0.1.
	for i := 0; i < 32; i++ {
		dialFrom(t, fmt.Sprintf("127.0.0.%d", 10+i), server.Addr().String(), maxPendingPerSource)
	}
	testkit.Eventually(t, "every slot taken", func() bool { return server.slots.pending("") == maxPendingHandshakes })
	client := startPort(t, []byte("s"), nil)
	for i := 0; i < 10; i++ {
		if _, err := client.dial(dialCtx(t), server.Addr().String(), channelRPC); err != nil {
			t.Fatalf("dial %d during the flood: %v", i, err)
		}
		if !accepted(server, 5*time.Second) {
			t.Fatalf("dial %d during the flood was not admitted", i)
		}
	}
}

func TestTheHandshakeDeadlineCoversEveryStep(t *testing.T) {
	if handshakeTimeout > 5*time.Second {
		t.Fatalf("the handshake deadline is %s: an idle connection holds a slot that long", handshakeTimeout)
	}
	const deadline = 300 * time.Millisecond
	server, _ := startLoggedPort(t, []byte("s"), nil, func(p *Port) { p.timeout = deadline })
	steps := map[string]func() net.Conn{
		"silent": func() net.Conn { return dialFrom(t, "127.0.0.1", server.Addr().String(), 1)[0] },
		"hello only": func() net.Conn {
			c := dialFrom(t, "127.0.0.1", server.Addr().String(), 1)[0]
			c.Write(clientHello(modeEphemeral))
			return c
		},
		"TLS, no proof": func() net.Conn { return tlsClientOf(t, server) },
	}
	for name, open := range steps {
		start := time.Now()
		c := open()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		io.ReadAll(c)
		if d := time.Since(start); d < deadline || d > deadline+3*time.Second {
			t.Errorf("%s: the server hung up after %s, want about %s", name, d, deadline)
		}
	}
	testkit.Eventually(t, "no slot held", func() bool { return server.slots.pending("") == 0 })
}

func TestASourceThatProvedTheSecretHoldsItsLargerShare(t *testing.T) {
	s := newHandshakeSlots(2, 4, 10)
	peer, _ := s.take(connFrom("10.0.0.1", 1))
	s.proved(peer)
	s.release(peer)
	for i := range 4 {
		if _, ev := s.take(connFrom("10.0.0.1", 10+i)); ev != nil {
			t.Fatalf("the peer's address: connection %d evicted %v, want room for 4", i, ev)
		}
	}
	if _, ev := s.take(connFrom("10.0.0.1", 20)); ev == nil {
		t.Fatal("the peer's address holds more than its share")
	}
	s.take(connFrom("10.0.0.2", 1))
	s.take(connFrom("10.0.0.2", 2))
	if _, ev := s.take(connFrom("10.0.0.2", 3)); ev == nil || ev.source != "10.0.0.2" {
		t.Fatalf("another address: evicted %v, want one of its own at 2", ev)
	}
}
