package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestAuthAcceptedAndRefusedOnEachListener(t *testing.T) {
	k, p := onePeer(t,
		`FLOTILLA_PROXY_AUTHORIZATIONS={"ci":{"auth_secret":"bearer:proxytoken","allowed_paths":["/api/v0"]}}`,
		"FLOTILLA_API_BASIC_AUTH_CREDENTIALS=admin=adminpw",
		"FLOTILLA_PINSVC_TOKENS=pinsvctoken",
	)

	// Proxy: Kubo's API.Authorizations semantics, with the real CLI.
	if out, err := k.try(nil, "--api", p.proxyAPI(), "id"); err == nil || !strings.Contains(out, "Access Denied") {
		t.Fatalf("proxy without a secret: %v\n%s", err, out)
	}
	if out, err := k.try(nil, "--api", p.proxyAPI(), "--api-auth", "bearer:proxytoken", "id"); err != nil {
		t.Fatalf("proxy with its secret: %v\n%s", err, out)
	}

	// Admin API: basic auth, then a bearer token from POST /token.
	get := func(path, auth string) int {
		req, _ := http.NewRequest(http.MethodGet, "http://"+p.api+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get("/id", ""); code != 401 {
		t.Fatalf("admin API without credentials: %d, want 401", code)
	}
	if code := get("/id", "Basic YWRtaW46d3Jvbmc="); code != 401 {
		t.Fatalf("admin API with a wrong password: %d, want 401", code)
	}
	if code := get("/id", "Basic YWRtaW46YWRtaW5wdw=="); code != 200 {
		t.Fatalf("admin API with basic auth: %d, want 200", code)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+p.api+"/token", nil)
	req.SetBasicAuth("admin", "adminpw")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if tok.Token == "" {
		t.Fatalf("POST /token gave no token (status %d)", resp.StatusCode)
	}
	if code := get("/id", "Bearer "+tok.Token); code != 200 {
		t.Fatalf("admin API with a token: %d, want 200", code)
	}
	if code := get("/id", "Bearer "+tok.Token+"x"); code != 401 {
		t.Fatalf("admin API with a forged token: %d, want 401", code)
	}

	// Pinning Service API: bearer tokens.
	pinsvc := pinsvcAddr(t, p)
	for auth, want := range map[string]int{"": 401, "Bearer nope": 401, "Bearer pinsvctoken": 200} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+pinsvc+"/pins", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("pinning service with %q: %d, want %d", auth, resp.StatusCode, want)
		}
	}
}
