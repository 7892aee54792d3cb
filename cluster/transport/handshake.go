package transport

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// Every connection to the cluster port starts with a mutual
// challenge-response over the cluster secret, so that no byte from a peer
// without the secret ever reaches Raft or the peer RPC, and the secret itself
// never crosses the wire:
//
//	server -> client: magic, server nonce (32 bytes)
//	client -> server: channel byte, client nonce, HMAC(secret, "client", channel, server nonce, client nonce)
//	server -> client: HMAC(secret, "server", channel, client nonce, server nonce)
//
// The channel byte picks the protocol that follows: Raft or peer RPC.

const (
	channelRaft byte = 'R'
	channelRPC  byte = 'P'

	nonceSize        = 32
	handshakeTimeout = 5 * time.Second
)

var handshakeMagic = [8]byte{'F', 'L', 'O', 'T', 'I', 'L', '1', 0}

var errBadSecret = errors.New("cluster handshake: the peer does not know the cluster secret")

func mac(secret []byte, role string, channel byte, a, b []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(role))
	h.Write([]byte{channel})
	h.Write(a)
	h.Write(b)
	return h.Sum(nil)
}

// serverHandshake authenticates an accepted connection and returns the
// channel it asked for.
func serverHandshake(conn net.Conn, secret []byte) (byte, error) {
	_ = conn.SetDeadline(time.Now().Add(handshakeTimeout))
	defer conn.SetDeadline(time.Time{})

	serverNonce := make([]byte, nonceSize)
	if _, err := rand.Read(serverNonce); err != nil {
		return 0, err
	}
	if _, err := conn.Write(append(handshakeMagic[:], serverNonce...)); err != nil {
		return 0, err
	}
	msg := make([]byte, 1+nonceSize+sha256.Size)
	if _, err := io.ReadFull(conn, msg); err != nil {
		return 0, fmt.Errorf("cluster handshake: %w", err)
	}
	channel, clientNonce, proof := msg[0], msg[1:1+nonceSize], msg[1+nonceSize:]
	if !hmac.Equal(proof, mac(secret, "client", channel, serverNonce, clientNonce)) {
		return 0, errBadSecret
	}
	if channel != channelRaft && channel != channelRPC {
		return 0, fmt.Errorf("cluster handshake: unknown channel %q", channel)
	}
	if _, err := conn.Write(mac(secret, "server", channel, clientNonce, serverNonce)); err != nil {
		return 0, err
	}
	return channel, nil
}

// clientHandshake proves the secret to the server and checks that the
// server knows it too, so that a peer never talks Raft to an impostor.
func clientHandshake(conn net.Conn, secret []byte, channel byte, deadline time.Time) error {
	if deadline.IsZero() || time.Until(deadline) > handshakeTimeout {
		deadline = time.Now().Add(handshakeTimeout)
	}
	_ = conn.SetDeadline(deadline)
	defer conn.SetDeadline(time.Time{})

	hello := make([]byte, len(handshakeMagic)+nonceSize)
	if _, err := io.ReadFull(conn, hello); err != nil {
		return fmt.Errorf("cluster handshake: %w", err)
	}
	if [8]byte(hello[:8]) != handshakeMagic {
		return errors.New("cluster handshake: not a Flotilla cluster port")
	}
	serverNonce := hello[8:]
	clientNonce := make([]byte, nonceSize)
	if _, err := rand.Read(clientNonce); err != nil {
		return err
	}
	msg := append([]byte{channel}, clientNonce...)
	msg = append(msg, mac(secret, "client", channel, serverNonce, clientNonce)...)
	if _, err := conn.Write(msg); err != nil {
		return err
	}
	proof := make([]byte, sha256.Size)
	if _, err := io.ReadFull(conn, proof); err != nil {
		// A server that rejects our proof closes the connection here.
		return fmt.Errorf("%w (or the connection failed: %v)", errBadSecret, err)
	}
	if !hmac.Equal(proof, mac(secret, "server", channel, clientNonce, serverNonce)) {
		return errBadSecret
	}
	return nil
}
