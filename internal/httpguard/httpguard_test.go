package httpguard

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

const firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

func request(method, host string, hdr ...string) *http.Request {
	r := httptest.NewRequest(method, "http://"+host+"/pins", nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	return r
}

func TestOrigins(t *testing.T) {
	o := NewOrigins([]string{"https://ui.example"})
	for _, c := range []struct {
		name string
		r    *http.Request
		ok   bool
	}{
		{"no browser headers", request("POST", "127.0.0.1:9094", "User-Agent", "Go-http-client/1.1"), true},
		{"curl", request("DELETE", "127.0.0.1:9094", "User-Agent", "curl/8.5.0"), true},
		{"allowed origin", request("POST", "127.0.0.1:9094", "Origin", "https://ui.example"), true},
		{"allowed referer", request("POST", "127.0.0.1:9094", "Referer", "https://ui.example/app?x=1"), true},
		{"forged origin", request("GET", "127.0.0.1:9094", "Origin", "http://evil.example"), false},
		{"origin null", request("POST", "127.0.0.1:9094", "Origin", "null"), false},
		{"same name, other port", request("POST", "127.0.0.1:9094", "Origin", "https://ui.example:8443"), false},
		{"foreign referer", request("DELETE", "127.0.0.1:9094", "Referer", "http://evil.example/page"), false},
		{"allowed origin, foreign referer", request("POST", "127.0.0.1:9094",
			"Origin", "https://ui.example", "Referer", "http://evil.example/"), false},
		{"old browser POST", request("POST", "127.0.0.1:9094", "User-Agent", firefox), false},
		{"browser GET", request("GET", "127.0.0.1:9094", "User-Agent", firefox), true},
		{"electron POST", request("POST", "127.0.0.1:9094", "User-Agent", "Mozilla/5.0 Electron/30"), true},
	} {
		err := o.Check(c.r)
		if (err == nil) != c.ok {
			t.Errorf("%s: error %v, want allowed=%v", c.name, err, c.ok)
		}
		var ref *Refusal
		if err != nil && !errors.As(err, &ref) {
			t.Errorf("%s: %T is not a *Refusal", c.name, err)
		}
	}
	if err := NewOrigins([]string{"*"}).Check(request("POST", "x", "Origin", "http://evil.example")); err != nil {
		t.Errorf("* refused an origin: %v", err)
	}
}

func TestHostOnLoopback(t *testing.T) {
	g := New(Config{ListenAddr: "127.0.0.1:9094", Hosts: []string{"admin.example", "ui.example:8443"}})
	for host, ok := range map[string]bool{
		"127.0.0.1:9094":     true,
		"127.0.0.1":          true,
		"127.0.0.2:9094":     true,
		"localhost:9094":     true,
		"LOCALHOST":          true,
		"[::1]:9094":         true,
		"[::1]":              true,
		"::1":                true,
		"admin.example":      true,
		"Admin.Example:443":  true,
		"ui.example:8443":    true,
		"evil.example:9094":  false,
		"evil.example":       false,
		"ui.example":         false,
		"ui.example:9094":    false,
		"localhost.evil.com": false,
		"192.168.1.5:9094":   false,
		"":                   false,
	} {
		r := request("GET", "127.0.0.1:9094")
		r.Host = host
		if err := g.Check(r); (err == nil) != ok {
			t.Errorf("Host %q: error %v, want allowed=%v", host, err, ok)
		}
	}
}

func TestHostUncheckedBeyondLoopback(t *testing.T) {
	for _, listen := range []string{"0.0.0.0:9094", "192.0.2.1:9094", ":9094", "[::]:9094"} {
		r := request("GET", "evil.example:9094")
		if err := New(Config{ListenAddr: listen}).Check(r); err != nil {
			t.Errorf("listening on %s: %v", listen, err)
		}
	}
	for _, listen := range []string{"localhost:9094", "[::1]:9094", "127.0.0.1:0"} {
		r := request("GET", "evil.example:9094")
		if New(Config{ListenAddr: listen}).Check(r) == nil {
			t.Errorf("listening on %s: a foreign Host passed", listen)
		}
	}
	r := request("GET", "evil.example:9094")
	if err := New(Config{ListenAddr: "127.0.0.1:9094", Hosts: []string{"*"}}).Check(r); err != nil {
		t.Errorf("allowed_hosts * refused a Host: %v", err)
	}
}

// Without a configured address the connection's local address decides, so
// that an API served without one (httptest) is guarded all the same.
func TestHostFromTheConnection(t *testing.T) {
	g := New(Config{})
	var got error
	srv := httptest.NewServer(g.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
		func(w http.ResponseWriter, _ *http.Request, err error) {
			got = err
			w.WriteHeader(http.StatusForbidden)
		}))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Host = "evil.example:9094"
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || got == nil {
		t.Fatalf("status %d, refusal %v: a rebinding Host passed a loopback server", resp.StatusCode, got)
	}
	resp, err = srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d for the server's own address", resp.StatusCode)
	}
}
