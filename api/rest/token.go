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
// fixed header, four claims and an HMAC, and there is no algorithm
// negotiation ("none", RS/HS confusion) to get wrong. Any JWT library
// reads them.
//
// A token renewed with a token (POST /token with a bearer token) is a link
// in a chain that began with a password: every token carries login_exp,
// the end of that login, and no renewal reaches past it. A stolen token can
// thus not be renewed forever. A token without login_exp (one minted before
// the claim existed) ends its chain with its own exp.

// DefaultTokenTTL is how long a token lasts when AuthConfig says nothing.
const DefaultTokenTTL = 24 * time.Hour

var (
	jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	// errInvalidToken hides why a token failed from the caller: the reason
	// helps a forger more than an honest client.
	errInvalidToken = errors.New("invalid token")
)

// DeriveTokenKey derives the token signing key from the cluster secret (or
// api.token_secret when set), so that every peer accepts the tokens of
// every other, and a key that leaks from a token cannot be turned back into
// the secret. Changing the secret revokes every token.
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
	// LoginExpiresAt ends the chain of renewals this token belongs to.
	LoginExpiresAt int64 `json:"login_exp,omitempty"`
}

// loginEnd is when the login behind the token ends: no token renewed
// from it may last longer.
func (c claims) loginEnd() time.Time {
	if c.LoginExpiresAt != 0 {
		return time.Unix(c.LoginExpiresAt, 0)
	}
	return time.Unix(c.ExpiresAt, 0)
}

// MintToken signs a token for user that expires after ttl: the start of a
// chain, as a login with a password is.
func MintToken(key []byte, user string, ttl time.Duration, now time.Time) (string, error) {
	exp := now.Add(ttl)
	return mintToken(key, user, now, exp, exp)
}

// mintToken signs a token for user that expires at exp, in a chain that
// ends at loginEnd.
func mintToken(key []byte, user string, now, exp, loginEnd time.Time) (string, error) {
	if len(key) == 0 {
		return "", errors.New("no token key")
	}
	body, err := json.Marshal(claims{Issuer: user, IssuedAt: now.Unix(), ExpiresAt: exp.Unix(), LoginExpiresAt: loginEnd.Unix()})
	if err != nil {
		return "", err
	}
	signed := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(body)
	return signed + "." + base64.RawURLEncoding.EncodeToString(sign(key, signed)), nil
}

// verifyToken checks the signature first, and reads nothing of a token
// whose signature fails. It returns the claims.
func verifyToken(key []byte, token string, now time.Time) (claims, error) {
	if len(key) == 0 {
		return claims{}, errInvalidToken
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return claims{}, errInvalidToken
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, sign(key, parts[0]+"."+parts[1])) {
		return claims{}, errInvalidToken
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if err := decodeSegment(parts[0], &hdr); err != nil || hdr.Alg != "HS256" {
		return claims{}, errInvalidToken
	}
	var c claims
	if err := decodeSegment(parts[1], &c); err != nil || c.Issuer == "" {
		return claims{}, errInvalidToken
	}
	t := now.Unix()
	// A token without expiry is refused: ipfs-cluster's never expired,
	// and that is what Flotilla fixes.
	if c.ExpiresAt == 0 || t >= c.ExpiresAt || (c.NotBefore != 0 && t < c.NotBefore) {
		return claims{}, errInvalidToken
	}
	return c, nil
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
