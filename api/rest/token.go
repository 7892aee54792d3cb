package rest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Tokens are HS256 JWTs, written here rather than with a JWT library: the
// API accepts exactly one algorithm with one key, so the whole format is a
// fixed header, three claims and an HMAC, and there is no algorithm
// negotiation ("none", RS/HS confusion) to get wrong. Any JWT library
// reads them.

// DefaultTokenTTL is how long a token lasts when AuthConfig says nothing.
const DefaultTokenTTL = 24 * time.Hour

var (
	jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	// errInvalidToken hides why a token failed from the caller: the reason
	// helps a forger more than an honest client.
	errInvalidToken = errors.New("invalid token")
)

// DeriveTokenKey derives the token signing key from the cluster secret, so
// that every peer accepts the tokens of every other, and a key that leaks
// from a token cannot be turned back into the secret.
func DeriveTokenKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("flotilla admin API bearer token key v1"))
	return m.Sum(nil)
}

type claims struct {
	Issuer    string `json:"iss"`
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp"`
	NotBefore int64  `json:"nbf,omitempty"`
}

// MintToken signs a token for user that expires after ttl.
func MintToken(key []byte, user string, ttl time.Duration, now time.Time) (string, error) {
	if len(key) == 0 {
		return "", errors.New("no token key")
	}
	body, err := json.Marshal(claims{Issuer: user, IssuedAt: now.Unix(), ExpiresAt: now.Add(ttl).Unix()})
	if err != nil {
		return "", err
	}
	signed := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(body)
	return signed + "." + base64.RawURLEncoding.EncodeToString(sign(key, signed)), nil
}

// verifyToken checks the signature first, and reads nothing of a token
// whose signature fails. It returns the issuer.
func verifyToken(key []byte, token string, now time.Time) (string, error) {
	if len(key) == 0 {
		return "", errInvalidToken
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errInvalidToken
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, sign(key, parts[0]+"."+parts[1])) {
		return "", errInvalidToken
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if err := decodeSegment(parts[0], &hdr); err != nil || hdr.Alg != "HS256" {
		return "", errInvalidToken
	}
	var c claims
	if err := decodeSegment(parts[1], &c); err != nil || c.Issuer == "" {
		return "", errInvalidToken
	}
	t := now.Unix()
	// A token without expiry is refused: ipfs-cluster's never expired,
	// and that is what Flotilla fixes.
	if c.ExpiresAt == 0 || t >= c.ExpiresAt || (c.NotBefore != 0 && t < c.NotBefore) {
		return "", errInvalidToken
	}
	return c.Issuer, nil
}

func sign(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
