package rest

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"
)

// AuthConfig turns on authentication. It is off when Users is empty and
// TokenKey is nil.
type AuthConfig struct {
	// Users maps user names to passwords for HTTP basic auth
	// (api.basic_auth_credentials).
	Users map[string]string
	// TokenKey signs and checks the bearer tokens of POST /token; see
	// DeriveTokenKey. Nil disables tokens. A key without Users means
	// token-only auth, with tokens minted by MintToken.
	TokenKey []byte
	// TokenTTL is how long a token lasts (api.token_ttl); DefaultTokenTTL
	// when 0.
	TokenTTL time.Duration
}

const realm = "Restricted IPFS Cluster API"

type authenticator struct {
	cfg AuthConfig
	now func() time.Time
}

func newAuthenticator(cfg AuthConfig, now func() time.Time) *authenticator {
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	return &authenticator{cfg: cfg, now: now}
}

func (a *authenticator) enabled() bool { return len(a.cfg.Users) > 0 || len(a.cfg.TokenKey) > 0 }

type userKey struct{}

// userOf is who the request authenticated as, "" when auth is off.
func userOf(r *http.Request) string {
	u, _ := r.Context().Value(userKey{}).(string)
	return u
}

// middleware checks credentials with ipfs-cluster's answers and headers.
// OPTIONS (CORS preflights) and GET /health pass without.
func (a *authenticator) middleware(next http.Handler) http.Handler {
	if !a.enabled() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions ||
			(r.Method == http.MethodGet && strings.TrimSuffix(r.URL.Path, "/") == "/health") {
			next.ServeHTTP(w, r)
			return
		}
		user, pass, isBasic := r.BasicAuth()
		token, isBearer := bearerToken(r.Header.Get("Authorization"))
		switch {
		case isBasic:
			if !a.checkPassword(user, pass) {
				w.Header().Set("WWW-Authenticate", `Basic realm="`+realm+`"`)
				writeError(w, http.StatusUnauthorized, errors.New("unauthorized: access denied"))
				return
			}
		case isBearer:
			var err error
			if user, err = a.checkToken(token); err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`", error="invalid_token"`)
				writeError(w, http.StatusUnauthorized, errors.New("unauthorized: invalid token"))
				return
			}
		default:
			w.Header().Add("WWW-Authenticate", `Bearer realm="`+realm+`"`)
			w.Header().Add("WWW-Authenticate", `Basic realm="`+realm+`"`)
			writeError(w, http.StatusUnauthorized, errors.New("unauthorized: no auth provided"))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, user)))
	})
}

func bearerToken(h string) (string, bool) {
	const prefix = "Bearer "
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	return h[len(prefix):], true
}

// checkPassword compares digests in constant time, so that neither the
// password nor its length shows in the timing.
func (a *authenticator) checkPassword(user, pass string) bool {
	want, ok := a.cfg.Users[user]
	if !ok || user == "" || pass == "" {
		return false
	}
	w, g := sha256.Sum256([]byte(want)), sha256.Sum256([]byte(pass))
	return subtle.ConstantTimeCompare(w[:], g[:]) == 1
}

// checkToken accepts a valid token whose issuer is still a user: removing
// a user revokes their tokens, as rotating the cluster secret revokes all.
func (a *authenticator) checkToken(token string) (string, error) {
	user, err := verifyToken(a.cfg.TokenKey, token, a.now())
	if err != nil {
		return "", err
	}
	if len(a.cfg.Users) > 0 {
		if _, ok := a.cfg.Users[user]; !ok {
			return "", errInvalidToken
		}
	}
	return user, nil
}

// token is POST /token: a fresh token for whoever authenticated, by
// password or by a token still valid.
func (a *API) token(w http.ResponseWriter, r *http.Request) {
	user := userOf(r)
	if user == "" {
		// Auth is off: nobody to issue a token to (ipfs-cluster's answer).
		writeError(w, http.StatusUnauthorized, errors.New("unauthorized"))
		return
	}
	if len(a.cfg.Auth.TokenKey) == 0 {
		writeError(w, http.StatusNotImplemented, errors.New("tokens are not enabled on this peer"))
		return
	}
	ttl := a.cfg.Auth.TokenTTL
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	tok, err := MintToken(a.cfg.Auth.TokenKey, user, ttl, a.cfg.Now())
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": tok})
}
