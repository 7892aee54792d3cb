package rest

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func authEnv(t *testing.T, key []byte) (*testEnv, *time.Time) {
	t.Helper()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	e := newEnv(t, Config{
		Auth: AuthConfig{Users: map[string]string{"alice": "s3cret"}, TokenKey: key, TokenTTL: time.Hour},
		Now:  func() time.Time { return now },
	})
	return e, &now
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestAuthRefusals(t *testing.T) {
	e, _ := authEnv(t, DeriveTokenKey([]byte("secret")))

	r := e.get("/id")
	r.wantError(t, http.StatusUnauthorized, "unauthorized: no auth provided")
	if got := r.header.Values("WWW-Authenticate"); !slices.Equal(got, []string{
		`Bearer realm="Restricted IPFS Cluster API"`, `Basic realm="Restricted IPFS Cluster API"`}) {
		t.Errorf("WWW-Authenticate %q", got)
	}
	if string(r.body) != `{"code":401,"message":"unauthorized: no auth provided"}`+"\n" {
		t.Errorf("body %s", r.body)
	}

	r = e.do(http.MethodGet, "/id", nil, "Authorization", basic("alice", "wrong"))
	r.wantError(t, http.StatusUnauthorized, "unauthorized: access denied")
	if got := r.header.Get("WWW-Authenticate"); got != `Basic realm="Restricted IPFS Cluster API"` {
		t.Errorf("WWW-Authenticate %q", got)
	}
	e.do(http.MethodGet, "/id", nil, "Authorization", basic("mallory", "s3cret")).wantError(t, http.StatusUnauthorized, "access denied")
	e.do(http.MethodGet, "/id", nil, "Authorization", basic("alice", "")).wantError(t, http.StatusUnauthorized, "access denied")

	r = e.do(http.MethodGet, "/id", nil, "Authorization", "Bearer not.a.token")
	r.wantError(t, http.StatusUnauthorized, "unauthorized: invalid token")
	if got := r.header.Get("WWW-Authenticate"); got != `Bearer realm="Restricted IPFS Cluster API", error="invalid_token"` {
		t.Errorf("WWW-Authenticate %q", got)
	}
	e.do(http.MethodGet, "/id", nil, "Authorization", "Token abc").wantError(t, http.StatusUnauthorized, "no auth provided")
}

func TestAuthBypassAndAcceptance(t *testing.T) {
	e, _ := authEnv(t, nil)
	e.get("/health").wantStatus(t, http.StatusNoContent)
	// A prober's HEAD is a GET without the body, with or without credentials.
	for _, hdr := range [][]string{nil, {"Authorization", basic("alice", "s3cret")}} {
		if r := e.do(http.MethodHead, "/health", nil, hdr...); r.status != http.StatusNoContent || len(r.body) != 0 {
			t.Errorf("HEAD /health with %v: %d %s, want 204 and no body", hdr, r.status, r.body)
		}
	}
	// OPTIONS passes auth; without CORS the router answers it.
	if r := e.do(http.MethodOptions, "/id", nil); r.status == http.StatusUnauthorized {
		t.Errorf("OPTIONS refused: %d", r.status)
	}
	// Only GET /health is open, not the other methods.
	e.do(http.MethodPost, "/health", nil).wantStatus(t, http.StatusUnauthorized)
	e.do(http.MethodGet, "/id", nil, "Authorization", basic("alice", "s3cret")).wantStatus(t, http.StatusOK)
}

func TestTokens(t *testing.T) {
	key := DeriveTokenKey([]byte("cluster secret"))
	e, now := authEnv(t, key)

	e.do(http.MethodPost, "/token", nil).wantStatus(t, http.StatusUnauthorized)
	r := e.do(http.MethodPost, "/token", nil, "Authorization", basic("alice", "s3cret")).wantStatus(t, http.StatusOK)
	got := object(t, r.body)
	wantKeys(t, "token", got, "token")
	tok := got["token"].(string)
	bearer := "Bearer " + tok

	e.do(http.MethodGet, "/id", nil, "Authorization", bearer).wantStatus(t, http.StatusOK)
	// The scheme is case-insensitive, as in ipfs-cluster.
	e.do(http.MethodGet, "/id", nil, "Authorization", "bearer "+tok).wantStatus(t, http.StatusOK)

	// A token gets a fresh token, which ends with the login (see
	// TestTokenChainsEndWithTheLogin).
	*now = now.Add(30 * time.Minute)
	r = e.do(http.MethodPost, "/token", nil, "Authorization", bearer).wantStatus(t, http.StatusOK)
	fresh := "Bearer " + object(t, r.body)["token"].(string)
	e.do(http.MethodGet, "/id", nil, "Authorization", fresh).wantStatus(t, http.StatusOK)

	// A token signed with another cluster's secret is refused.
	other, err := MintToken(DeriveTokenKey([]byte("another secret")), "alice", time.Hour, *now)
	if err != nil {
		t.Fatal(err)
	}
	e.do(http.MethodGet, "/id", nil, "Authorization", "Bearer "+other).wantError(t, http.StatusUnauthorized, "invalid token")

	// A user that is removed loses their tokens.
	stranger, _ := MintToken(key, "bob", time.Hour, *now)
	e.do(http.MethodGet, "/id", nil, "Authorization", "Bearer "+stranger).wantError(t, http.StatusUnauthorized, "invalid token")
}

func TestTokensDisabledWithoutKey(t *testing.T) {
	e, _ := authEnv(t, nil)
	e.do(http.MethodPost, "/token", nil, "Authorization", basic("alice", "s3cret")).wantError(t, http.StatusNotImplemented, "not enabled")
	tok, _ := MintToken(DeriveTokenKey([]byte("x")), "alice", time.Hour, time.Now())
	e.do(http.MethodGet, "/id", nil, "Authorization", "Bearer "+tok).wantError(t, http.StatusUnauthorized, "invalid token")
}

func TestTokenOnlyAuth(t *testing.T) {
	key := DeriveTokenKey([]byte("s"))
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	e := newEnv(t, Config{Auth: AuthConfig{TokenKey: key}, Now: func() time.Time { return now }})
	e.get("/id").wantError(t, http.StatusUnauthorized, "no auth provided")
	tok, _ := MintToken(key, "ops", time.Minute, now)
	e.do(http.MethodGet, "/id", nil, "Authorization", "Bearer "+tok).wantStatus(t, http.StatusOK)
	// A renewal lasts no longer than the token that asked for it...
	r := e.do(http.MethodPost, "/token", nil, "Authorization", "Bearer "+tok).wantStatus(t, http.StatusOK)
	minted := object(t, r.body)["token"].(string)
	if _, err := verifyToken(key, minted, now.Add(time.Minute)); err == nil {
		t.Error("a renewed token outlived the token that renewed it")
	}
	// ...and no longer than the default TTL when its chain is longer.
	long, _ := MintToken(key, "ops", 100*time.Hour, now)
	r = e.do(http.MethodPost, "/token", nil, "Authorization", "Bearer "+long).wantStatus(t, http.StatusOK)
	minted = object(t, r.body)["token"].(string)
	if _, err := verifyToken(key, minted, now.Add(DefaultTokenTTL-time.Second)); err != nil {
		t.Errorf("minted token invalid before its TTL: %v", err)
	}
	if _, err := verifyToken(key, minted, now.Add(DefaultTokenTTL)); err == nil {
		t.Error("minted token valid after its TTL")
	}
}

func TestAuthOffByDefault(t *testing.T) {
	e := newEnv(t, Config{})
	e.get("/id").wantStatus(t, http.StatusOK)
	e.do(http.MethodPost, "/token", nil).wantError(t, http.StatusUnauthorized, "unauthorized")
}

func TestVerifyTokenRejectsTampering(t *testing.T) {
	key := []byte("k")
	now := time.Unix(2_000_000_000, 0)
	tok, err := MintToken(key, "alice", time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := verifyToken(key, tok, now); err != nil || c.Issuer != "alice" {
		t.Fatalf("valid token: %+v %v", c, err)
	}
	parts := strings.Split(tok, ".")
	enc := base64.RawURLEncoding.EncodeToString
	for name, bad := range map[string]string{
		"none alg":          enc([]byte(`{"alg":"none"}`)) + "." + parts[1] + ".",
		"other issuer":      parts[0] + "." + enc([]byte(`{"iss":"root","exp":9999999999}`)) + "." + parts[2],
		"truncated":         parts[0] + "." + parts[1],
		"empty":             "",
		"bad signature b64": parts[0] + "." + parts[1] + ".***",
	} {
		if _, err := verifyToken(key, bad, now); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Signed correctly but without expiry, or with another algorithm named.
	for name, claims := range map[string]string{
		"no exp":    `{"iss":"alice"}`,
		"no issuer": `{"exp":9999999999}`,
		"not yet":   `{"iss":"alice","exp":9999999999,"nbf":9999999990}`,
	} {
		signed := parts[0] + "." + enc([]byte(claims))
		bad := signed + "." + enc(sign(key, signed))
		if _, err := verifyToken(key, bad, now); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	hs512 := enc([]byte(`{"alg":"HS512","typ":"JWT"}`)) + "." + parts[1]
	if _, err := verifyToken(key, hs512+"."+enc(sign(key, hs512)), now); err == nil {
		t.Error("a header naming another algorithm was accepted")
	}
}

func TestCORS(t *testing.T) {
	off := newEnv(t, Config{})
	r := off.do(http.MethodGet, "/id", nil, "Origin", "https://evil.example")
	for k := range r.header {
		if strings.HasPrefix(k, "Access-Control-") {
			t.Errorf("CORS is off by default, got %s", k)
		}
	}

	on := newEnv(t, Config{
		CORS: CORSConfig{AllowedOrigins: []string{"https://ui.example"}, AllowedMethods: []string{"GET", "POST"}},
		Auth: AuthConfig{Users: map[string]string{"alice": "s3cret"}},
	})
	// The preflight passes auth, and names only the allowed origin.
	r = on.do(http.MethodOptions, "/pins/x", nil, "Origin", "https://ui.example", "Access-Control-Request-Method", "POST")
	if r.status >= 300 || r.header.Get("Access-Control-Allow-Origin") != "https://ui.example" {
		t.Errorf("preflight %d %v", r.status, r.header)
	}
	r = on.do(http.MethodGet, "/id", nil, "Origin", "https://ui.example", "Authorization", basic("alice", "s3cret"))
	if r.status != http.StatusOK || r.header.Get("Access-Control-Allow-Origin") != "https://ui.example" ||
		!strings.Contains(r.header.Get("Access-Control-Expose-Headers"), "X-Chunked-Output") {
		t.Errorf("simple request %d %v", r.status, r.header)
	}
	r = on.do(http.MethodGet, "/id", nil, "Origin", "https://evil.example", "Authorization", basic("alice", "s3cret"))
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("other origin allowed: %v", r.header)
	}
}

// With only origins configured, as the daemon configures it, a page of an
// allowed origin may send credentials and JSON with every method the
// routes use; a page of another origin learns nothing.
func TestCORSPreflightsOfAllowedOriginsPass(t *testing.T) {
	e := newEnv(t, Config{
		CORS: CORSConfig{AllowedOrigins: []string{"https://ui.example"}},
		Auth: AuthConfig{Users: map[string]string{"alice": "s3cret"}},
	})
	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		r := e.do(http.MethodOptions, "/pins/x", nil, "Origin", "https://ui.example",
			"Access-Control-Request-Method", method, "Access-Control-Request-Headers", "authorization,content-type")
		if r.header.Get("Access-Control-Allow-Origin") != "https://ui.example" ||
			!strings.Contains(r.header.Get("Access-Control-Allow-Methods"), method) ||
			!strings.Contains(strings.ToLower(r.header.Get("Access-Control-Allow-Headers")), "authorization") {
			t.Errorf("preflight of %s: %d %v", method, r.status, r.header)
		}
		r = e.do(http.MethodOptions, "/pins/x", nil, "Origin", "https://evil.example",
			"Access-Control-Request-Method", method, "Access-Control-Request-Headers", "authorization")
		for k := range r.header {
			if strings.HasPrefix(k, "Access-Control-Allow-") {
				t.Errorf("preflight of %s from another origin got %s", method, k)
			}
		}
	}
}
