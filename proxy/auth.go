package proxy

import (
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
)

// Authorization is one entry of Kubo's API.Authorizations: a secret and
// the path prefixes it opens.
type Authorization struct {
	// AuthSecret is "bearer:<token>", "basic:<user>:<password>", or a bare
	// token (a bearer token), as Kubo takes it.
	AuthSecret   string   `json:"auth_secret"`
	AllowedPaths []string `json:"allowed_paths"`
}

// accessDenied is Kubo's exact refusal.
const accessDenied = "Kubo RPC Access Denied: Please provide a valid authorization token as defined in the API.Authorizations configuration."

// authorizer checks the Authorization header with Kubo's semantics: the
// header must equal a configured secret exactly, and the path must start
// with one of that secret's allowed paths; /api/v0/version is open to any
// valid secret.
type authorizer struct {
	entries []authEntry
}

type authEntry struct {
	header string
	paths  []string
}

func newAuthorizer(auths map[string]Authorization) *authorizer {
	if len(auths) == 0 {
		return nil
	}
	a := &authorizer{}
	for _, v := range auths {
		a.entries = append(a.entries, authEntry{header: headerFor(v.AuthSecret), paths: v.AllowedPaths})
	}
	return a
}

// headerFor converts a configured secret into the header value a client
// must send, as Kubo's ConvertAuthSecret does.
func headerFor(secret string) string {
	switch {
	case strings.HasPrefix(secret, "bearer:"):
		return "Bearer " + strings.TrimPrefix(secret, "bearer:")
	case strings.HasPrefix(secret, "basic:"):
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(strings.TrimPrefix(secret, "basic:")))
	}
	return "Bearer " + secret
}

func (a *authorizer) allow(r *http.Request) bool {
	got := r.Header.Get("Authorization")
	for _, e := range a.entries {
		if subtle.ConstantTimeCompare([]byte(got), []byte(e.header)) != 1 {
			continue
		}
		if r.URL.Path == "/api/v0/version" {
			return true
		}
		for _, p := range e.paths {
			if strings.HasPrefix(r.URL.Path, p) {
				return true
			}
		}
	}
	return false
}
