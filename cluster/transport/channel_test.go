package transport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// relay is a TCP relay between dialers and a cluster port, as an on-path
// attacker would run it: it records every byte, and its hooks may alter
// what it passes on.
type relay struct {
	ln     net.Listener
	target string
	// up alters what clients send, down what the server sends; end stops
	// that direction after out (a cut).
	up, down hook

	mu   sync.Mutex
	wire bytes.Buffer
}

type hook = func(b []byte) (out []byte, end bool)

// startRelay relays to target, through up and down (nil: unaltered).
func startRelay(t *testing.T, target string, up, down hook) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{ln: ln, target: target, up: up, down: down}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go r.pipe(s.(*net.TCPConn), c, r.up)
			go r.pipe(c.(*net.TCPConn), s, r.down)
		}
	}()
	return r
}

func (r *relay) Addr() string { return r.ln.Addr().String() }

func (r *relay) captured() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.wire.Bytes())
}

func (r *relay) pipe(dst *net.TCPConn, src net.Conn, alter hook) {
	defer dst.CloseWrite()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		out, end := buf[:n], false
		if alter != nil && n > 0 {
			out, end = alter(bytes.Clone(out))
		}
		r.mu.Lock()
		r.wire.Write(buf[:n])
		r.mu.Unlock()
		if _, werr := dst.Write(out); werr != nil || end || err != nil {
			return
		}
	}
}

// recordTamper alters the TLS records of one direction once armed, by
// kind: flip a bit, replay, drop, swap two, or cut one in half.
type recordTamper struct {
	kind    string
	armed   atomic.Bool
	buf     []byte
	held    []byte
	done    bool
	touched atomic.Bool
}

func (rt *recordTamper) hook(b []byte) ([]byte, bool) {
	if !rt.armed.Load() || rt.done {
		return b, false
	}
	rt.buf = append(rt.buf, b...)
	var out []byte
	for !rt.done && len(rt.buf) >= 5 {
		n := 5 + int(binary.BigEndian.Uint16(rt.buf[3:5]))
		if len(rt.buf) < n {
			break
		}
		rec := bytes.Clone(rt.buf[:n])
		rt.buf = rt.buf[n:]
		rt.touched.Store(true)
		switch rt.kind {
		case "flip":
			rec[5+(n-5)/2] ^= 0x10
			out, rt.done = append(out, rec...), true
		case "replay":
			out, rt.done = append(append(out, rec...), rec...), true
		case "drop":
			rt.done = true
		case "swap":
			if rt.held == nil {
				rt.held = rec
				continue
			}
			out, rt.done = append(append(out, rec...), rt.held...), true
		case "cut":
			return append(out, rec[:n/2]...), true
		}
	}
	if rt.done {
		out, rt.buf = append(out, rt.buf...), nil
	}
	return out, false
}

// openThrough dials server through r on channel and returns both ends.
func openThrough(t *testing.T, client, server *Port, r *relay, channel byte) (dialed, accepted net.Conn) {
	t.Helper()
	ln := server.rpc
	if channel == channelRaft {
		ln = server.raft
	}
	got := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			got <- c
		}
	}()
	dialed, err := client.dial(dialCtx(t), r.Addr(), channel)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dialed.Close() })
	select {
	case accepted = <-got:
		t.Cleanup(func() { accepted.Close() })
	case <-time.After(5 * time.Second):
		t.Fatal("the server never accepted the connection")
	}
	return dialed, accepted
}

func TestTamperedRecordsBreakTheConnection(t *testing.T) {
	first, second := []byte("first message: /v1/apply pin name=alpha"), []byte("second message: raft append entries")
	for _, channel := range []byte{channelRaft, channelRPC} {
		for _, kind := range []string{"flip", "replay", "drop", "swap", "cut"} {
			t.Run(string(channel)+"/"+kind, func(t *testing.T) {
				server := startPort(t, []byte("s"), nil)
				client := startPort(t, []byte("s"), nil)
				rt := &recordTamper{kind: kind}
				r := startRelay(t, server.Addr().String(), rt.hook, nil)
				dialed, accepted := openThrough(t, client, server, r, channel)
				rt.armed.Store(true)
				dialed.Write(first)
				dialed.Write(second)
				accepted.SetReadDeadline(time.Now().Add(10 * time.Second))
				got, err := io.ReadAll(accepted)
				if errors.Is(err, os.ErrDeadlineExceeded) || !rt.touched.Load() {
					t.Fatalf("the relay did not get to tamper (%v)", err)
				}
				if err == nil {
					t.Fatalf("the connection survived: it delivered %q and a clean end", got)
				}
				want := []byte{}
				if kind == "replay" {
					want = first // the genuine record, once
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("delivered %q before breaking, want %q", got, want)
				}
				if kind == "cut" && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("a cut record ended with %v, want an unexpected EOF", err)
				}
			})
		}
	}
}

func TestNothingOnTheWireIsReadable(t *testing.T) {
	secret := []byte("the cluster secret, which never crosses the wire")
	server := startPort(t, secret, nil)
	client := startPort(t, secret, nil)
	r := startRelay(t, server.Addr().String(), nil, nil)
	for _, channel := range []byte{channelRaft, channelRPC} {
		dialed, accepted := openThrough(t, client, server, r, channel)
		question, answer := []byte("pin bafy-question name=holiday-photos"), []byte("pinned bafy-answer")
		dialed.Write(question)
		if _, err := io.ReadFull(accepted, make([]byte, len(question))); err != nil {
			t.Fatal(err)
		}
		accepted.Write(answer)
		if _, err := io.ReadFull(dialed, make([]byte, len(answer))); err != nil {
			t.Fatal(err)
		}
		wire := r.captured()
		if !bytes.Contains(wire, magicV2) {
			t.Fatal("the capture missed the start of the connection")
		}
		for _, plain := range [][]byte{question, answer, []byte("holiday-photos"), secret} {
			if bytes.Contains(wire, plain) {
				t.Fatalf("%q is readable on the wire", plain)
			}
		}
	}
}

func TestAlteredHellosFailTheProofs(t *testing.T) {
	server, log := startLoggedPort(t, []byte("s"), nil, nil)
	client := startPort(t, []byte("s"), nil)
	var offset int
	r := startRelay(t, server.Addr().String(), nil, func(b []byte) ([]byte, bool) {
		if offset <= 20 && 20 < offset+len(b) {
			b[20-offset] ^= 1 // in the server hello's padding: a downgrade would hide here
		}
		offset += len(b)
		return b, false
	})
	if _, err := client.dial(dialCtx(t), r.Addr(), channelRPC); !errors.Is(err, errBadSecret) {
		t.Fatalf("dial with an altered hello = %v, want errBadSecret", err)
	}
	log.waitFor(t, "the two peers hold different cluster secrets")
}
