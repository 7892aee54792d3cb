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
		// Origin and Referer stripped (an extension, a privacy setting):
		// the browser's own mark still tells where the request came from.
		{"marked cross-site", request("POST", "127.0.0.1:9094", "User-Agent", "curl/8.5.0", "Sec-Fetch-Site", "cross-site"), false},
		{"marked same-site", request("DELETE", "127.0.0.1:9094", "Sec-Fetch-Site", "same-site"), false},
		{"marked same-origin", request("POST", "127.0.0.1:9094", "Sec-Fetch-Site", "same-origin"), true},
		{"marked none: typed by the user", request("POST", "127.0.0.1:9094", "Sec-Fetch-Site", "none"), true},
		{"marked cross-site, GET", request("GET", "127.0.0.1:9094", "Sec-Fetch-Site", "cross-site"), true},
		{"marked cross-site from an allowed origin", request("POST", "127.0.0.1:9094",
			"Origin", "https://ui.example", "Sec-Fetch-Site", "cross-site"), true},
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

// A page the listener serves calls it back with its own origin as Referer
// (GETs) or Origin (POSTs). That passes on hosts no attacker can name, and
// on no other: a page on a re-pointed name is same-origin with itself.
func TestSameOrigin(t *testing.T) {
	for _, c := range []struct {
		name, listen, host, header, value string
		ok                                bool
	}{
		{"loopback page GET", "127.0.0.1:9094", "127.0.0.1:9094", "Referer", "http://127.0.0.1:9094/", true},
		{"loopback page POST", "127.0.0.1:9094", "127.0.0.1:9094", "Origin", "http://127.0.0.1:9094", true},
		{"localhost page", "127.0.0.1:9094", "localhost:9094", "Referer", "http://localhost:9094/", true},
		{"allowed host behind TLS proxy", "127.0.0.1:9094", "admin.example", "Referer", "https://admin.example/", true},
		{"IP address beyond loopback", "0.0.0.0:9094", "192.0.2.1:9094", "Origin", "http://192.0.2.1:9094", true},
		{"other port on loopback", "127.0.0.1:9094", "127.0.0.1:9094", "Origin", "http://127.0.0.1:8080", false},
		{"foreign page", "127.0.0.1:9094", "127.0.0.1:9094", "Referer", "http://evil.example/", false},
		{"re-pointed name beyond loopback", "0.0.0.0:9094", "evil.example:9094", "Origin", "http://evil.example:9094", false},
		{"origin null", "127.0.0.1:9094", "127.0.0.1:9094", "Origin", "null", false},
	} {
		r := request("POST", c.host, c.header, c.value)
		g := New(Config{ListenAddr: c.listen, Hosts: []string{"admin.example"}, SameOrigin: true})
		if err := g.Check(r); (err == nil) != c.ok {
			t.Errorf("%s: error %v, want allowed=%v", c.name, err, c.ok)
		}
	}
	// Off unless asked: the Pinning Service API serves no pages.
	r := request("POST", "127.0.0.1:9097", "Origin", "http://127.0.0.1:9097")
	if New(Config{ListenAddr: "127.0.0.1:9097"}).Check(r) == nil {
		t.Error("a same-origin request passed a guard without SameOrigin")
	}
}
