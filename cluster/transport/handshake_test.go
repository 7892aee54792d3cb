package transport

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func dialCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// listenV1 is a cluster port of protocol v1: it sends its magic and a nonce,
// then reads the client's proof, and hangs up.
func listenV1(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			nonce := make([]byte, 32)
			rand.Read(nonce)
			conn.Write(append(bytes.Clone(magicV1), nonce...))
			io.ReadFull(conn, make([]byte, 65))
			conn.Close()
		}
	}()
	return ln.Addr().String()
}

// dialAsV1 is the dialing side of protocol v1, up to its check of the
// server's magic, and what it reports.
func dialAsV1(t *testing.T, addr string) error {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	hello := make([]byte, 40)
	if _, err := io.ReadFull(conn, hello); err != nil {
		return err
	}
	if !bytes.Equal(hello[:8], magicV1) {
		return errors.New("cluster handshake: not a Flotilla cluster port")
	}
	return nil
}

func TestAnOldPeerIsToldToUpgradeOnBothSides(t *testing.T) {
	p, log := startLoggedPort(t, []byte("s"), nil, nil)

	// This peer dials a v1 peer.
	_, err := p.dial(dialCtx(t), listenV1(t), channelRPC)
	if !errors.Is(err, errOldPeer) || !strings.Contains(err.Error(), "peer speaks cluster protocol v1; this peer needs v2: upgrade it") {
		t.Fatalf("dialing a v1 port = %v, want the upgrade message", err)
	}

	// A v1 peer dials this one: it sees the new magic at once, hangs up,
	// and this side says why.
	if err := dialAsV1(t, p.Addr().String()); err == nil || !strings.Contains(err.Error(), "not a Flotilla cluster port") {
		t.Fatalf("a v1 peer dialing a v2 port got %v", err)
	}
	log.waitFor(t, "peer speaks cluster protocol v1; this peer needs v2: upgrade it")

	// A v1 peer with the operator's TLS starts with a TLS ClientHello.
	p, log = startLoggedPort(t, []byte("s"), nil, nil)
	conn, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if tls.Client(conn, &tls.Config{InsecureSkipVerify: true}).Handshake() == nil {
		t.Fatal("a TLS client got through the cluster hello")
	}
	log.waitFor(t, "peer speaks cluster protocol v1")
}

func TestAWrongSecretIsReportedOnBothSides(t *testing.T) {
	server, log := startLoggedPort(t, []byte("right secret"), nil, nil)
	bad := startPort(t, []byte("wrong secret"), nil)
	_, err := bad.dial(dialCtx(t), server.Addr().String(), channelRaft)
	if !errors.Is(err, errBadSecret) || !strings.Contains(err.Error(), "the two peers hold different cluster secrets") {
		t.Fatalf("dial with the wrong secret = %v", err)
	}
	log.waitFor(t, "the two peers hold different cluster secrets")
}

// A man in the middle that ends TLS on both sides with keys of its own, and
// relays the peers' proofs between its two sessions, gets nowhere: each
// proof is bound to the session it was made in.
func TestAManInTheMiddleWithItsOwnTLSIsRefused(t *testing.T) {
	server, log := startLoggedPort(t, []byte("s"), nil, nil)
	client := startPort(t, []byte("s"), nil)
	mitmServer, mitmClient, _, err := channelTLS(TLSFiles{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		victim, err := ln.Accept()
		if err != nil {
			return
		}
		defer victim.Close()
		victim.Write(serverHello(modeEphemeral, false))
		io.ReadFull(victim, make([]byte, clientHelloSize))
		toClient := tls.Server(victim, mitmServer)
		upstream, err := net.Dial("tcp", server.Addr().String())
		if err != nil {
			return
		}
		defer upstream.Close()
		upstream.Write(clientHello(modeEphemeral))
		io.ReadFull(upstream, make([]byte, serverHelloSize))
		toServer := tls.Client(upstream, mitmClient)
		if toClient.Handshake() != nil || toServer.Handshake() != nil {
			return
		}
		go io.Copy(toServer, toClient)
		io.Copy(toClient, toServer)
	}()
	_, err = client.dial(dialCtx(t), ln.Addr().String(), channelRPC)
	if !errors.Is(err, errBadSecret) {
		t.Fatalf("dial through a TLS-ending man in the middle = %v, want errBadSecret", err)
	}
	log.waitFor(t, "the two peers hold different cluster secrets")
	if accepted(server, 300*time.Millisecond) {
		t.Fatal("a connection through the man in the middle reached RPC")
	}
}

func TestACanceledDialSaysSo(t *testing.T) {
	// A listener that never answers: the dial waits on the hello.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	p := startPort(t, []byte("s"), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := p.dial(ctx, ln.Addr().String(), channelRPC)
		done <- err
	}()
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.ReadFull(conn, make([]byte, clientHelloSize)) // the dial is waiting now
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("canceled dial = %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a canceled dial went on")
	}
}
