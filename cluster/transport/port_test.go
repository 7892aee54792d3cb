package transport

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/rs/zerolog"
)

func startPort(t *testing.T, secret []byte, tlsFiles *TLSFiles) *Port {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Listener: ln, Secret: secret, Log: zerolog.Nop()}
	if tlsFiles != nil {
		cfg.TLS = *tlsFiles
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	go p.Serve()
	t.Cleanup(func() { p.Close() })
	return p
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

func TestGarbageNeverReachesRaft(t *testing.T) {
	server := startPort(t, []byte("s"), nil)
	conn, err := net.Dial("tcp", server.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.ReadFull(conn, make([]byte, 40)) // the server's challenge
	conn.Write(append([]byte{channelRaft}, make([]byte, 64)...))
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Fatal("the server answered a forged proof")
	}
	got := make(chan struct{})
	go func() {
		if c, err := server.raft.Accept(); err == nil {
			c.Close()
			close(got)
		}
	}()
	select {
	case <-got:
		t.Fatal("an unauthenticated connection reached Raft")
	case <-time.After(300 * time.Millisecond):
	}
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
	plain := startPort(t, []byte("s"), nil)
	if _, err := plain.dial(ctx, server.Addr().String(), channelRPC); err == nil {
		t.Fatal("a plain-TCP peer got through a TLS cluster port")
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
