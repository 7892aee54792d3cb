package main

import (
	"strings"
	"testing"
	"time"

	"github.com/flotilla-ipfs/flotilla/api/rest"
)

// A password in --api is never printed: the messages that name the API
// show it as xxxxx, as url.URL.Redacted does.
func TestAPasswordInTheAPIURLIsNeverPrinted(t *testing.T) {
	const password = "UrlPass999"
	hung := hungPeer(t)
	for _, tc := range []struct {
		api, want string
	}{
		{"http://admin:" + password + "@127.0.0.1:1", "cannot reach the flotilla API at http://admin:xxxxx@127.0.0.1:1: connection refused"},
		{"admin:" + password + "@127.0.0.1:1", "cannot reach the flotilla API at http://admin:xxxxx@127.0.0.1:1"},
		{"http://admin:" + password + "@" + hung, "the flotilla API at http://admin:xxxxx@" + hung + " did not answer"},
		{"ftp://admin:" + password + "@127.0.0.1:1", `"ftp://admin:xxxxx@127.0.0.1:1" is not an http(s) URL`},
		{"http://admin:" + password + "@127.0.0.1:port", "--api: not a URL"},
	} {
		r := runEnv(t, Env{AnswerWait: 100 * time.Millisecond}, "id", "--api", tc.api)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stdout+r.stderr, password) {
			t.Errorf("id --api %s: want a failure saying %q, without the password; got %s", tc.api, tc.want, r)
		}
	}
}

// The user:password of --api authenticates when neither --basic-auth nor
// FLOTILLA_BASIC_AUTH is given; either of them wins over it.
func TestTheAPIURLsUserinfoIsBasicAuth(t *testing.T) {
	cl := newCLI(t)
	api := serveAPI(t, cl.c, rest.AuthConfig{Users: map[string]string{"admin": "p@ss:word"}})
	withPassword := strings.Replace(api, "http://", "http://admin:p%40ss:word@", 1)
	if r := runCLI(t, nil, nil, "id", "--api", withPassword); r.code != 0 {
		t.Fatalf("id with the credentials in --api: %s", r)
	}
	if r := runCLI(t, []string{"FLOTILLA_API=" + withPassword}, nil, "pin", "ls"); r.code != 0 {
		t.Fatalf("pin ls with the credentials in FLOTILLA_API: %s", r)
	}
	r := runCLI(t, nil, nil, "id", "--api", withPassword, "--basic-auth", "admin:wrong")
	if r.code != 1 || !strings.Contains(r.stderr, "access denied") {
		t.Fatalf("--basic-auth must win over the URL's credentials: %s", r)
	}
	r = runCLI(t, []string{"FLOTILLA_BASIC_AUTH=admin:wrong"}, nil, "id", "--api", withPassword)
	if r.code != 1 || !strings.Contains(r.stderr, "access denied") {
		t.Fatalf("FLOTILLA_BASIC_AUTH must win over the URL's credentials: %s", r)
	}
}
