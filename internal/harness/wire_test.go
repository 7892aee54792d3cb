package harness

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// A follower, to pin through: its writes cross the cluster port to the
// leader, and come back to every peer in Raft entries.
func (c *Cluster) follower() *Peer {
	leader := c.WaitLeader()
	for _, p := range c.Alive() {
		if p.ID != leader.ID {
			return p
		}
	}
	c.t.Fatal("no follower")
	return nil
}

// recorder keeps every byte of every dialed connection, one stream per
// connection and direction, as an on-path observer sees them.
type recorder struct {
	mu      sync.Mutex
	streams []*bytes.Buffer
}

func (r *recorder) tap(_, _ string, conn net.Conn) net.Conn {
	r.mu.Lock()
	defer r.mu.Unlock()
	rc := &recordedConn{Conn: conn, r: r, out: &bytes.Buffer{}, in: &bytes.Buffer{}}
	r.streams = append(r.streams, rc.out, rc.in)
	return rc
}

func (r *recorder) snapshot() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out [][]byte
	for _, s := range r.streams {
		out = append(out, bytes.Clone(s.Bytes()))
	}
	return out
}

type recordedConn struct {
	net.Conn
	r       *recorder
	out, in *bytes.Buffer // guarded by r.mu
}

func (c *recordedConn) Write(b []byte) (int, error) {
	c.r.mu.Lock()
	c.out.Write(b)
	c.r.mu.Unlock()
	return c.Conn.Write(b)
}

func (c *recordedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.r.mu.Lock()
	c.in.Write(b[:n])
	c.r.mu.Unlock()
	return n, err
}

// inTheClear is every form in which a pin could show on the wire.
func inTheClear(p storage.Pin) map[string][]byte {
	dec, _ := multihash.Decode(p.Cid.Hash())
	return map[string][]byte{
		"name":         []byte(p.Name),
		"CID":          []byte(p.Cid.String()),
		"binary CID":   p.Cid.Bytes(),
		"multihash":    p.Cid.Hash(),
		"digest":       dec.Digest,
		"CIDv0 string": []byte(cid.NewCidV0(p.Cid.Hash()).String()),
	}
}

func TestTheClusterPortCarriesNoPinInTheClear(t *testing.T) {
	rec := &recorder{}
	c := New(t, 3, Options{Tap: rec.tap})
	follower := c.follower()
	var pins []storage.Pin
	for i := 0; i < 20; i++ {
		p := storage.Pin{Cid: testCid(9000 + i), Name: fmt.Sprintf("holiday-photos-%02d-known-name", i)}
		if _, err := follower.Node.Pin(timeout(t, 20*time.Second), p); err != nil {
			t.Fatal(err)
		}
		pins = append(pins, p)
	}
	c.WaitFor("every pin on every peer", func() bool {
		for _, peer := range c.Alive() {
			for _, p := range pins {
				if got, err := peer.Node.Get(context.Background(), p.Cid); err != nil || got.Name != p.Name {
					return false
				}
			}
		}
		return true
	})
	streams, total := rec.snapshot(), 0
	for i, s := range streams {
		total += len(s)
		if i%2 == 0 && len(s) > 0 && !bytes.HasPrefix(s, []byte("FLOTIL2\x00")) {
			t.Fatalf("a dialed stream starts with %q: the capture missed its start", s[:min(len(s), 8)])
		}
	}
	if total < 20*1024 {
		t.Fatalf("only %d bytes captured: the pins did not cross the tapped connections", total)
	}
	for _, p := range pins {
		for form, needle := range inTheClear(p) {
			for _, s := range streams {
				if bytes.Contains(s, needle) {
					t.Fatalf("the %s of pin %s is readable on the cluster port", form, p.Name)
				}
			}
		}
	}
	t.Logf("%d bytes in %d streams, none with a pin's name or CID", total, len(streams))
}

// flipper flips one bit in the next large write of every connection that
// was past its TLS ClientHello when the flipper was armed: a write that
// large is then a Raft or RPC frame, such as the one carrying a pin.
type flipper struct {
	mu    sync.Mutex
	conns []*flipConn
}

const flipAtLeast = 1000 // bytes: more than any write of a completed handshake

type flipConn struct {
	net.Conn
	f                         *flipper
	writes                    int  // guarded by f.mu
	eligible, flipped, broken bool // guarded by f.mu
}

func (f *flipper) tap(_, _ string, conn net.Conn) net.Conn {
	f.mu.Lock()
	defer f.mu.Unlock()
	fc := &flipConn{Conn: conn, f: f}
	f.conns = append(f.conns, fc)
	return fc
}

// arm makes every connection that has sent its hello and ClientHello
// (two writes) eligible for one flip.
func (f *flipper) arm() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.eligible = c.writes >= 2
	}
}

// flipped counts the connections flipped, and those of them broken.
func (f *flipper) flipped() (flipped, broken int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		if c.flipped {
			flipped++
			if c.broken {
				broken++
			}
		}
	}
	return flipped, broken
}

func (c *flipConn) Write(b []byte) (int, error) {
	c.f.mu.Lock()
	c.writes++
	if c.eligible && !c.flipped && len(b) >= flipAtLeast {
		b = bytes.Clone(b)
		b[len(b)/2] ^= 0x20
		c.flipped = true
	}
	c.f.mu.Unlock()
	return c.Conn.Write(b)
}

func (c *flipConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if err != nil {
		c.markBroken()
	}
	return n, err
}

func (c *flipConn) Close() error {
	c.markBroken()
	return c.Conn.Close()
}

func (c *flipConn) markBroken() {
	c.f.mu.Lock()
	c.broken = true
	c.f.mu.Unlock()
}

func TestAFlippedByteBreaksTheConnectionAndNothingIsApplied(t *testing.T) {
	f := &flipper{}
	c := New(t, 3, Options{Tap: f.tap})
	follower := c.follower()
	warm := storage.Pin{Cid: testCid(9100), Name: "warm-up"}
	if _, err := follower.Node.Pin(timeout(t, 20*time.Second), warm); err != nil {
		t.Fatal(err)
	}
	f.arm()
	// A name long enough that the forwarded write and the Raft entry that
	// carry it are writes of more than flipAtLeast bytes.
	pin := storage.Pin{Cid: testCid(9101), Name: "flipped-" + strings.Repeat("n", 2*flipAtLeast)}
	if _, err := follower.Node.Pin(timeout(t, 30*time.Second), pin); err != nil {
		t.Fatalf("the pin was not retried over a fresh connection: %v", err)
	}
	c.WaitFor("the flipped connections to break", func() bool { n, broken := f.flipped(); return n > 0 && broken == n })
	want := map[string]string{warm.Cid.String(): warm.Name, pin.Cid.String(): pin.Name}
	c.WaitFor("the pin on every peer, with its true name", func() bool {
		for _, peer := range c.Alive() {
			if got, err := peer.Node.Get(context.Background(), pin.Cid); err != nil || got.Name != pin.Name {
				return false
			}
		}
		return true
	})
	for _, peer := range c.Alive() {
		got := map[string]string{}
		peer.Node.List(context.Background(), func(p storage.Pin) error { got[p.Cid.String()] = p.Name; return nil })
		if len(got) != len(want) || got[warm.Cid.String()] != warm.Name || got[pin.Cid.String()] != pin.Name {
			t.Fatalf("peer %s holds %d pins, not just the two with their true names", peer.ID, len(got))
		}
	}
	n, _ := f.flipped()
	t.Logf("%d connections flipped and broken; the pin committed once, intact", n)
}
