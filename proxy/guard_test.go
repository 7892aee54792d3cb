package proxy

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rs/zerolog"
)

// guardedProxy serves a proxy on loopback in front of an upstream that
// counts what reaches it.
func guardedProxy(t *testing.T, cfg Config) (base string, reached *atomic.Int64) {
	t.Helper()
	reached = &atomic.Int64{}
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		io.WriteString(w, "goroutine 1 [running]:\n")
	})
	cfg.Log = zerolog.Nop()
	return serveProxyWith(t, cfg, upstream, nil), reached
}

// send makes one request to the proxy at base with the Host and headers
// given, and returns the status and the body.
func send(t *testing.T, method, base, path, host string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	req.Header.Set("Content-Type", "text/plain")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// Kubo's paths outside /api/v0/ (its profiles, goroutine stacks, metrics)
// are no more open to other sites' pages than /api/v0/ is: a page may not
// change Kubo's profiling, start a profile, or read the answers by
// re-pointing its own name at the proxy (DNS rebinding).
func TestPagesCannotReachKuboOutsideTheAPI(t *testing.T) {
	base, reached := guardedProxy(t, Config{})
	own := strings.TrimPrefix(base, "http://")
	for _, tc := range []struct {
		name, method, path, host string
		header                   []string
	}{
		{"a page's POST", http.MethodPost, "/debug/pprof-block/?rate=1", "", []string{"Origin", "https://evil.example"}},
		{"a page's POST with only a Referer", http.MethodPost, "/debug/pprof-mutex/?fraction=1", "", []string{"Referer", "https://evil.example/x"}},
		{"an old browser's bare POST", http.MethodPost, "/debug/pprof-block/?rate=1", "", []string{"User-Agent", "Mozilla/5.0 Firefox/140.0"}},
		{"a cross-site GET without Referer", http.MethodGet, "/debug/pprof/profile?seconds=30", "", []string{"Sec-Fetch-Site", "cross-site"}},
		{"a same-site GET without Referer", http.MethodGet, "/debug/pprof/trace?seconds=30", "", []string{"Sec-Fetch-Site", "same-site"}},
		{"a rebound name reading stacks", http.MethodGet, "/debug/pprof/goroutine?debug=2", "evil.example:" + portOf(own), nil},
		{"a rebound name reading metrics", http.MethodGet, "/debug/metrics/prometheus", "evil.example", nil},
		{"a rebound name on the API", http.MethodPost, "/api/v0/version", "evil.example:" + portOf(own), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := send(t, tc.method, base, tc.path, tc.host, tc.header...)
			if code != http.StatusForbidden || body != "403 - Forbidden\n" {
				t.Fatalf("got %d %q, want Kubo's 403 - Forbidden", code, body)
			}
		})
	}
	if n := reached.Load(); n != 0 {
		t.Fatalf("%d refused requests reached Kubo", n)
	}
}

// What is not a foreign page still reaches Kubo's other paths: curl and the
// ipfs CLI (no Origin, a loopback Host), the user opening the WebUI, the
// WebUI's own requests, and a name the operator allowed.
func TestClientsAndTheOperatorsPagesStillReachKubo(t *testing.T) {
	base, reached := guardedProxy(t, Config{AllowedHosts: []string{"ipfs.lan"}})
	own := strings.TrimPrefix(base, "http://")
	for _, tc := range []struct {
		name, method, path, host string
		header                   []string
	}{
		{"curl", http.MethodGet, "/debug/vars", "", nil},
		{"curl by localhost", http.MethodPost, "/debug/pprof-block/?rate=0", "localhost:" + portOf(own), nil},
		{"the user opening the WebUI", http.MethodGet, "/webui", "", []string{"User-Agent", "Mozilla/5.0 Firefox/140.0", "Sec-Fetch-Site", "none"}},
		{"the WebUI's own request", http.MethodGet, "/ipfs/bafy/app.js", "", []string{"Referer", "http://127.0.0.1:" + portOf(own) + "/ipfs/bafy/", "Sec-Fetch-Site", "same-origin"}},
		{"an allowed host", http.MethodGet, "/debug/vars", "ipfs.lan:" + portOf(own), nil},
		{"an allowed host on the API", http.MethodPost, "/api/v0/version", "ipfs.lan", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := send(t, tc.method, base, tc.path, tc.host, tc.header...); code != http.StatusOK {
				t.Fatalf("got %d %q, want Kubo's answer", code, body)
			}
		})
	}
	if n := reached.Load(); n != 6 {
		t.Fatalf("%d requests reached Kubo, want 6", n)
	}
}

func portOf(hostport string) string {
	_, port, _ := strings.Cut(hostport, ":")
	return port
}
