package transport

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/internal/testkit"
)

// testLog is a log a test can read while the port writes it.
type testLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *testLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor waits until the log says want.
func (l *testLog) waitFor(t *testing.T, want string) {
	t.Helper()
	testkit.Eventually(t, "the log to say "+strconv.Quote(want), func() bool { return strings.Contains(l.String(), want) })
}

func startPort(t *testing.T, secret []byte, tlsFiles *TLSFiles) *Port {
	t.Helper()
	p, _ := startLoggedPort(t, secret, tlsFiles, nil)
	return p
}

// startLoggedPort starts a port that logs to the returned log; tune, when
// set, changes the port before it serves.
func startLoggedPort(t *testing.T, secret []byte, tlsFiles *TLSFiles, tune func(*Port)) (*Port, *testLog) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log := &testLog{}
	cfg := Config{Listener: ln, Secret: secret, Log: zerolog.New(log)}
	if tlsFiles != nil {
		cfg.TLS = *tlsFiles
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if tune != nil {
		tune(p)
	}
	go p.Serve()
	t.Cleanup(func() { p.Close() })
	return p, log
}

// accepted reports whether the port hands a connection to RPC within d.
func accepted(p *Port, d time.Duration) bool {
	got := make(chan net.Conn, 1)
	go func() {
		if c, err := p.rpc.Accept(); err == nil {
			got <- c
		}
	}()
	select {
	case c := <-got:
		c.Close()
		return true
	case <-time.After(d):
		return false
	}
}

func TestHandshakeAdmitsOnlyTheSecret(t *testing.T) {
	server := startPort(t, []byte("right secret"), nil)
	good := startPort(t, []byte("right secret"), nil)
	bad := startPort(t, []byte("wrong secret"), nil)
	addr := server.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	conn, err := good.dial(ctx, addr, channelRPC)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if !accepted(server, 2*time.Second) {
		t.Fatal("a peer with the secret was not admitted")
	}
	if _, err := bad.dial(ctx, addr, channelRPC); !errors.Is(err, errBadSecret) {
		t.Fatalf("dial with the wrong secret = %v, want errBadSecret", err)
	}
	if accepted(server, 300*time.Millisecond) {
		t.Fatal("a peer without the secret reached RPC")
	}
}

func TestForgedProofNeverReachesRaft(t *testing.T) {
	server, log := startLoggedPort(t, []byte("s"), nil, nil)
	// A client that speaks the protocol, TLS included, but has no secret.
	tc := tlsClientOf(t, server)
	defer tc.Close()
	if _, err := tc.Write(append([]byte{channelRaft}, make([]byte, 32)...)); err != nil {
		t.Fatal(err)
	}
	tc.SetReadDeadline(time.Now().Add(5 * time.Second))
	verdict, _ := io.ReadAll(tc)
	if !bytes.Equal(verdict, []byte{verdictRefused}) {
		t.Fatalf("the server answered a forged proof with %q", verdict)
	}
	log.waitFor(t, "the two peers hold different cluster secrets")
	if raftAccepted(server, 300*time.Millisecond) {
		t.Fatal("an unauthenticated connection reached Raft")
	}
}

func TestGarbageIsRefused(t *testing.T) {
	server, log := startLoggedPort(t, []byte("s"), nil, nil)
	conn, err := net.Dial("tcp", server.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.ReadAll(conn) // the hello, then the server hangs up
	log.waitFor(t, errNotPeer.Error())
}

// tlsClientOf opens a connection to p as a client of the right version and
// TLS mode would, up to the proof, which the caller sends.
func tlsClientOf(t *testing.T, p *Port) *tls.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write(clientHello(modeEphemeral)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(conn, make([]byte, serverHelloSize)); err != nil {
		t.Fatal(err)
	}
	tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	return tc
}

func TestClusterPortOverTLS(t *testing.T) {
	files := writeTestPKI(t)
	server := startPort(t, []byte("s"), files)
	client := startPort(t, []byte("s"), files)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := client.dial(ctx, server.Addr().String(), channelRPC)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if !accepted(server, 2*time.Second) {
		t.Fatal("TLS peer not admitted")
	}
	ephemeral := startPort(t, []byte("s"), nil)
	_, err = ephemeral.dial(ctx, server.Addr().String(), channelRPC)
	if err == nil || !strings.Contains(err.Error(), "the peer uses TLS certificates of the operator") {
		t.Fatalf("a peer without the operator's certificates dialing a port with them: %v", err)
	}
	_, err = client.dial(ctx, ephemeral.Addr().String(), channelRPC)
	if err == nil || !strings.Contains(err.Error(), "this peer uses TLS certificates of the operator") {
		t.Fatalf("a peer with the operator's certificates dialing a port without them: %v", err)
	}
}

// writeTestPKI makes a CA and one certificate for 127.0.0.1 signed by it.
func writeTestPKI(t *testing.T) *TLSFiles {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "flotilla test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "peer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		KeyUsage:    x509.KeyUsageDigitalSignature,
	}
	caCert, _ := x509.ParseCertificate(caDER)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	write := func(name, typ string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return &TLSFiles{
		CAFile:   write("ca.pem", "CERTIFICATE", caDER),
		CertFile: write("peer.pem", "CERTIFICATE", der),
		KeyFile:  write("peer.key", "EC PRIVATE KEY", keyDER),
	}
}

func TestEachChannelReachesItsOwnListener(t *testing.T) {
	server := startPort(t, []byte("s"), nil)
	client := startPort(t, []byte("s"), nil)
	raftConns := make(chan net.Conn, 1)
	go func() {
		if c, err := server.Raft().Accept(); err == nil {
			raftConns <- c
		}
	}()
	conn, err := client.Raft().Dial(raft.ServerAddress(server.Addr().String()), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	select {
	case c := <-raftConns:
		if _, err := conn.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 1)
		if _, err := io.ReadFull(c, b); err != nil || b[0] != 'x' {
			t.Fatalf("raft connection carried %q, %v", b, err)
		}
		c.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("a Raft dial never reached the Raft listener")
	}
	if accepted(server, 300*time.Millisecond) {
		t.Fatal("a Raft connection was handed to RPC")
	}
}

func TestIncompleteTLSSettingsAreRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := New(Config{Listener: ln, Secret: []byte("s"), TLS: TLSFiles{CertFile: "peer.pem"}}); err == nil {
		t.Fatal("a certificate without key and CA was accepted")
	}
}
