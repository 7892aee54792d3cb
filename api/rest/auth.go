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
	// when 0. A token renewed with a token lasts no longer than the login
	// that began its chain.
	TokenTTL time.Duration
}

const realm = "Restricted IPFS Cluster API"

type authenticator struct {
	cfg AuthConfig
	now func() time.Time
	// refused is told of each request answered 401.
	refused func()
}

func newAuthenticator(cfg AuthConfig, now func() time.Time, refused func()) *authenticator {
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	return &authenticator{cfg: cfg, now: now, refused: refused}
}

func (a *authenticator) enabled() bool { return len(a.cfg.Users) > 0 || len(a.cfg.TokenKey) > 0 }

type principalKey struct{}

// principal is who a request authenticated as, and how.
type principal struct {
	user string
	// loginEnd is the end of the login behind a bearer token; zero when
	// the request carries the password itself, and so is the login.
	loginEnd time.Time
}

// principalOf is who the request authenticated as; its user is "" when
// auth is off.
func principalOf(r *http.Request) principal {
	p, _ := r.Context().Value(principalKey{}).(principal)
	return p
}

// middleware checks credentials with ipfs-cluster's answers and headers.
// OPTIONS (CORS preflights) and GET and HEAD /health pass without.
func (a *authenticator) middleware(next http.Handler) http.Handler {
	if !a.enabled() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions ||
			(isRead(r.Method) && strings.TrimSuffix(r.URL.Path, "/") == "/health") {
			next.ServeHTTP(w, r)
			return
		}
		user, pass, isBasic := r.BasicAuth()
		token, isBearer := bearerToken(r.Header.Get("Authorization"))
		var who principal
		switch {
		case isBasic:
			if !a.checkPassword(user, pass) {
				a.deny(w, "unauthorized: access denied", `Basic realm="`+realm+`"`)
				return
			}
			who.user = user
		case isBearer:
			var err error
			if who, err = a.checkToken(token); err != nil {
				a.deny(w, "unauthorized: invalid token", `Bearer realm="`+realm+`", error="invalid_token"`)
				return
			}
		default:
			a.deny(w, "unauthorized: no auth provided", `Bearer realm="`+realm+`"`, `Basic realm="`+realm+`"`)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, who)))
	})
}

// deny answers 401 with ipfs-cluster's message and challenges.
func (a *authenticator) deny(w http.ResponseWriter, msg string, challenges ...string) {
	a.refused()
	for _, c := range challenges {
		w.Header().Add("WWW-Authenticate", c)
	}
	writeError(w, http.StatusUnauthorized, errors.New(msg))
}

// isRead is GET or HEAD, which a prober may send alike.
func isRead(method string) bool { return method == http.MethodGet || method == http.MethodHead }

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
// a user revokes their tokens, as changing the signing secret
// (api.token_secret, else the cluster secret) revokes all.
func (a *authenticator) checkToken(token string) (principal, error) {
	c, err := verifyToken(a.cfg.TokenKey, token, a.now())
	if err != nil {
		return principal{}, err
	}
	if len(a.cfg.Users) > 0 {
		if _, ok := a.cfg.Users[c.Issuer]; !ok {
			return principal{}, errInvalidToken
		}
	}
	return principal{user: c.Issuer, loginEnd: c.loginEnd()}, nil
}

// token is POST /token: a fresh token for whoever authenticated. A
// password begins a chain that lasts the TTL; a token still valid gets one
// that ends with that chain.
func (a *API) token(w http.ResponseWriter, r *http.Request) {
	who := principalOf(r)
	if who.user == "" {
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
	now := a.cfg.Now()
	exp, loginEnd := now.Add(ttl), who.loginEnd
	if loginEnd.IsZero() {
		loginEnd = exp
	}
	if exp.After(loginEnd) {
		exp = loginEnd
	}
	tok, err := mintToken(a.cfg.Auth.TokenKey, who.user, now, exp, loginEnd)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": tok})
}
