package transport

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"os"
	"time"
)

// Every connection to the cluster port runs in TLS 1.3 once the hellos are
// exchanged. By default each peer makes a fresh key and self-signed
// certificate at start: the certificate says nothing about who holds it, and
// the secret handshake inside TLS, bound to that very TLS session through an
// exported key, is what authenticates both ends. With TLSFiles the operator's
// certificates are the channel instead, verified against their CA, and the
// secret handshake still runs inside, bound the same way.

// TLS modes, sent in the hellos so that a mismatch is reported clearly.
const (
	modeEphemeral byte = 'E' // TLS with per-peer ephemeral keys
	modeOperator  byte = 'O' // mutual TLS with the operator's certificates
)

// TLSFiles names the PEM files of the operator's mutual TLS on the cluster
// port. Without them the port still runs TLS, with per-peer ephemeral keys.
type TLSFiles struct {
	CertFile string
	KeyFile  string
	// CAFile verifies the other peers' certificates; every peer presents
	// its own certificate to the others.
	CAFile string
}

// Enabled reports whether the operator's TLS was asked for.
func (f TLSFiles) Enabled() bool { return f.CertFile != "" || f.KeyFile != "" || f.CAFile != "" }

// channelTLS builds the server and client TLS configurations of the port,
// and its mode.
func channelTLS(f TLSFiles) (server, client *tls.Config, mode byte, err error) {
	if f.Enabled() {
		server, client, err = f.load()
		return server, client, modeOperator, err
	}
	cert, err := ephemeralCertificate()
	if err != nil {
		return nil, nil, 0, err
	}
	server = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13, SessionTicketsDisabled: true}
	client = &tls.Config{
		MinVersion: tls.VersionTLS13,
		// The certificate is not what proves the peer: the secret handshake
		// bound to this TLS session is (see handshake.go). A man in the
		// middle with a key of its own has two sessions, so the proofs it
		// relays are for the wrong one.
		InsecureSkipVerify: true,
	}
	return server, client, modeEphemeral, nil
}

// ephemeralCertificate makes a fresh Ed25519 key and a self-signed
// certificate for it.
func ephemeralCertificate() (tls.Certificate, error) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "flotilla cluster peer"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(100, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("cluster port certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// load builds the server and client TLS configurations from the files.
func (f TLSFiles) load() (server, client *tls.Config, err error) {
	if f.CertFile == "" || f.KeyFile == "" || f.CAFile == "" {
		return nil, nil, fmt.Errorf("cluster TLS needs a certificate, its key and a CA file")
	}
	cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster TLS certificate: %w", err)
	}
	pem, err := os.ReadFile(f.CAFile)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster TLS CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, nil, fmt.Errorf("cluster TLS CA %s holds no PEM certificate", f.CAFile)
	}
	server = &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS13,
		// Every connection does a full handshake: nothing to resume.
		SessionTicketsDisabled: true,
	}
	client = &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		MinVersion:   tls.VersionTLS13,
	}
	return server, client, nil
}
