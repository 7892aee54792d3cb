package rest

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// A stolen token cannot be renewed forever: every token renewed from a
// login, however often, dies when the login's TTL ends.
func TestTokenChainsEndWithTheLogin(t *testing.T) {
	key := DeriveTokenKey([]byte("cluster secret"))
	e, now := authEnv(t, key) // TTL one hour
	login := *now
	end := login.Add(time.Hour)
	renew := func(auth string) string {
		t.Helper()
		r := e.do(http.MethodPost, "/token", nil, "Authorization", auth).wantStatus(t, http.StatusOK)
		return object(t, r.body)["token"].(string)
	}
	tokens := []string{renew(basic("alice", "s3cret"))}
	for _, after := range []time.Duration{20 * time.Minute, 40 * time.Minute, 59 * time.Minute} {
		*now = login.Add(after)
		tokens = append(tokens, renew("Bearer "+tokens[len(tokens)-1]))
	}
	for i, tok := range tokens {
		c, err := verifyToken(key, tok, login)
		if err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
		if c.ExpiresAt != end.Unix() || c.LoginExpiresAt != end.Unix() {
			t.Errorf("token %d expires at %d in a chain ending at %d, want both %d", i, c.ExpiresAt, c.LoginExpiresAt, end.Unix())
		}
	}
	*now = end.Add(-time.Second)
	for _, tok := range tokens {
		e.do(http.MethodGet, "/id", nil, "Authorization", "Bearer "+tok).wantStatus(t, http.StatusOK)
	}
	*now = end
	for _, tok := range tokens {
		e.do(http.MethodGet, "/id", nil, "Authorization", "Bearer "+tok).wantError(t, http.StatusUnauthorized, "invalid token")
	}
	e.do(http.MethodPost, "/token", nil, "Authorization", "Bearer "+tokens[len(tokens)-1]).
		wantError(t, http.StatusUnauthorized, "invalid token")

	// A new login begins a new chain.
	tok := renew(basic("alice", "s3cret"))
	*now = end.Add(59 * time.Minute)
	e.do(http.MethodGet, "/id", nil, "Authorization", "Bearer "+tok).wantStatus(t, http.StatusOK)
}

// On a peer whose TTL is shorter than what is left of a chain, renewals
// take the peer's TTL and the chain still ends with its login.
func TestTokenChainOutlivesAShortTTLButNotItsLogin(t *testing.T) {
	key := DeriveTokenKey([]byte("cluster secret"))
	login := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	now := login
	e := newEnv(t, Config{
		Auth: AuthConfig{Users: map[string]string{"alice": "s3cret"}, TokenKey: key, TokenTTL: 10 * time.Minute},
		Now:  func() time.Time { return now },
	})
	tok, err := MintToken(key, "alice", time.Hour, login) // from a peer with a 1h TTL
	if err != nil {
		t.Fatal(err)
	}
	for now.Before(login.Add(time.Hour)) {
		r := e.do(http.MethodPost, "/token", nil, "Authorization", "Bearer "+tok).wantStatus(t, http.StatusOK)
		tok = object(t, r.body)["token"].(string)
		c, err := verifyToken(key, tok, now)
		if err != nil {
			t.Fatal(err)
		}
		want := min(now.Add(10*time.Minute).Unix(), login.Add(time.Hour).Unix())
		if c.ExpiresAt != want || c.LoginExpiresAt != login.Add(time.Hour).Unix() {
			t.Fatalf("at %s: exp %d login_exp %d, want exp %d", now.Sub(login), c.ExpiresAt, c.LoginExpiresAt, want)
		}
		now = now.Add(9 * time.Minute)
	}
	e.do(http.MethodPost, "/token", nil, "Authorization", "Bearer "+tok).wantError(t, http.StatusUnauthorized, "invalid token")
}

// A token from before login_exp existed ends its chain with its own expiry.
func TestTokenWithoutLoginExpEndsItsChain(t *testing.T) {
	key := DeriveTokenKey([]byte("cluster secret"))
	e, now := authEnv(t, key)
	enc := base64.RawURLEncoding.EncodeToString
	signed := jwtHeader + "." + enc(fmt.Appendf(nil, `{"iss":"alice","iat":%d,"exp":%d}`, now.Unix(), now.Add(5*time.Minute).Unix()))
	old := signed + "." + enc(sign(key, signed))
	r := e.do(http.MethodPost, "/token", nil, "Authorization", "Bearer "+old).wantStatus(t, http.StatusOK)
	c, err := verifyToken(key, object(t, r.body)["token"].(string), *now)
	if err != nil {
		t.Fatal(err)
	}
	if end := now.Add(5 * time.Minute).Unix(); c.ExpiresAt != end || c.LoginExpiresAt != end {
		t.Fatalf("renewed: exp %d login_exp %d, want both %d", c.ExpiresAt, c.LoginExpiresAt, end)
	}
}
