package proxy

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"
)

// recorded is what the upstream or the intercept stub saw.
type recorded struct {
	path, query string
	header      http.Header
}

type recorder struct {
	mu   sync.Mutex
	seen []recorded
}

func (rc *recorder) add(r *http.Request) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.seen = append(rc.seen, recorded{r.URL.Path, r.URL.RawQuery, r.Header.Clone()})
}

func (rc *recorder) all() []recorded {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]recorded(nil), rc.seen...)
}

// testProxy wires a proxy to an upstream handler and an intercept stub.
type testProxy struct {
	proxy       *Proxy
	upstream    *httptest.Server
	up, stubbed *recorder
}

func newTestProxy(t *testing.T, upstream http.HandlerFunc, origins ...string) *testProxy {
	t.Helper()
	tp := &testProxy{up: &recorder{}, stubbed: &recorder{}}
	tp.upstream = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tp.up.add(r)
		upstream(w, r)
	}))
	t.Cleanup(tp.upstream.Close)
	u, _ := url.Parse(tp.upstream.URL)
	stub := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tp.stubbed.add(r)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, "{}\n")
	})
	p, err := New(Config{Upstream: u, AllowedOrigins: origins, ListenAddr: "127.0.0.1:9095", Log: zerolog.Nop()}, notObserving{stub})
	if err != nil {
		t.Fatal(err)
	}
	tp.proxy = p
	return tp
}

func (tp *testProxy) do(t *testing.T, method, target string, header ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	req.Host = "127.0.0.1:9095" // as the ipfs CLI sends it to the proxy's ListenAddr
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	tp.proxy.Handler().ServeHTTP(rec, req)
	return rec.Result()
}

func dump(res *http.Response) string {
	body, _ := io.ReadAll(res.Body)
	var keys []string
	for k := range res.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%d\n", res.StatusCode)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(res.Header[k], " | "))
	}
	b.WriteString("\n")
	b.Write(body)
	return b.String()
}

func kuboOK(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Vary", "Origin")
	w.Header().Set("Server", "kubo/0.42.0")
	io.WriteString(w, `{"Version":"0.42.0"}`+"\n")
}

func TestMethodsAsKubo(t *testing.T) {
	tp := newTestProxy(t, kuboOK)
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete} {
		res := tp.do(t, m, "/api/v0/version")
		want := "405\nAllow: OPTIONS, POST\nContent-Type: text/plain; charset=utf-8\nVary: Origin\nX-Content-Type-Options: nosniff\n\n405 - Method Not Allowed\n"
		// (The recorder keeps a HEAD body that a real server drops.)
		if got := dump(res); got != want {
			t.Errorf("%s:\n%s\nwant:\n%s", m, got, want)
		}
	}
	res := tp.do(t, http.MethodOptions, "/api/v0/pin/add")
	if got, want := dump(res), "204\nAllow: OPTIONS, POST\nVary: Origin\n\n"; got != want {
		t.Errorf("OPTIONS:\n%s\nwant:\n%s", got, want)
	}
	if len(tp.up.all())+len(tp.stubbed.all()) != 0 {
		t.Error("refused requests went through")
	}
}

func TestOriginRefererUserAgentChecks(t *testing.T) {
	tp := newTestProxy(t, kuboOK, "https://app.example")
	forbidden := "403\nContent-Type: text/plain; charset=utf-8\nVary: Origin\nX-Content-Type-Options: nosniff\n\n403 - Forbidden\n"
	for _, hdr := range [][]string{
		{"Origin", "http://evil.example"},
		{"Origin", "http://127.0.0.1:5001"}, // the upstream's port is not ours
		{"Referer", "http://evil.example/page"},
		{"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"},
	} {
		if got := dump(tp.do(t, http.MethodPost, "/api/v0/pin/ls", hdr...)); got != forbidden {
			t.Errorf("%v:\n%s", hdr, got)
		}
	}
	for _, hdr := range [][]string{
		{"Origin", "http://127.0.0.1:9095"},
		{"Origin", "https://localhost:9095"},
		{"Origin", "http://[::1]:9095"},
		{"Origin", "https://app.example"},
		{"Referer", "https://app.example/x?y"},
		{"User-Agent", "Mozilla/5.0 Electron/30"},
		{"User-Agent", "go-ipfs-cmds/http"},
	} {
		res := tp.do(t, http.MethodPost, "/api/v0/pin/ls", hdr...)
		if res.StatusCode != 200 {
			t.Errorf("%v: %d", hdr, res.StatusCode)
		}
		if hdr[0] == "Origin" && res.Header.Get("Access-Control-Allow-Origin") != hdr[1] {
			t.Errorf("%v: ACAO %q", hdr, res.Header.Get("Access-Control-Allow-Origin"))
		}
	}
	// "*" allows any origin.
	star := newTestProxy(t, kuboOK, "*")
	res := star.do(t, http.MethodPost, "/api/v0/id", "Origin", "http://evil.example")
	if res.StatusCode != 200 || res.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("star: %d %q", res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
	}
}

func TestPreflight(t *testing.T) {
	tp := newTestProxy(t, kuboOK, "https://app.example")
	res := tp.do(t, http.MethodOptions, "/api/v0/add",
		"Origin", "https://app.example", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type")
	want := "204\nAccess-Control-Allow-Headers: content-type\nAccess-Control-Allow-Methods: POST\nAccess-Control-Allow-Origin: https://app.example\n" +
		"Vary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers\n\n"
	if got := dump(res); got != want {
		t.Errorf("allowed:\n%s\nwant:\n%s", got, want)
	}
	bare := "204\nVary: Origin, Access-Control-Request-Method, Access-Control-Request-Headers\n\n"
	for _, hdr := range [][]string{
		{"Origin", "http://evil.example", "Access-Control-Request-Method", "POST"},
		{"Origin", "https://app.example", "Access-Control-Request-Method", "PUT"},
		// Kubo refuses Authorization cross-origin; so does the proxy.
		{"Origin", "https://app.example", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization"},
	} {
		if got := dump(tp.do(t, http.MethodOptions, "/api/v0/add", hdr...)); got != bare {
			t.Errorf("%v:\n%s", hdr, got)
		}
	}
	if len(tp.up.all()) != 0 {
		t.Error("preflight forwarded")
	}
}

func TestRoutingAndWhatReachesUpstream(t *testing.T) {
	tp := newTestProxy(t, kuboOK, "https://app.example")
	for _, path := range []string{"/api/v0/pin/add", "/api/v0/pin/ls/QmX", "/api/v0/pin/rm", "/api/v0/pin/update",
		"/api/v0/add", "/api/v0/block/put", "/api/v0/dag/put", "/api/v0/dag/import"} {
		tp.do(t, http.MethodPost, path+"?arg=x&api-auth=secret")
	}
	for _, path := range []string{"/api/v0/pin/verify", "/api/v0/pin/lsx", "/api/v0/cat", "/api/v0/version", "/webui"} {
		tp.do(t, http.MethodPost, path+"?api-auth=secret&arg=x",
			"Origin", "https://app.example", "Referer", "https://app.example/", "User-Agent", "Mozilla/5.0 Firefox")
	}
	if got := len(tp.stubbed.all()); got != 8 {
		t.Errorf("intercepted %d requests, want 8", got)
	}
	for _, s := range tp.stubbed.all() {
		if s.query != "arg=x" {
			t.Errorf("%s: intercept got query %q", s.path, s.query)
		}
	}
	seen := tp.up.all()
	if len(seen) != 5 {
		t.Fatalf("forwarded %d, want 5", len(seen))
	}
	for _, s := range seen[:4] {
		if s.query != "arg=x" {
			t.Errorf("%s: upstream got query %q", s.path, s.query)
		}
		// The proxy owns the browser checks: the upstream sees no browser
		// context it would refuse, and no invented forwarding headers.
		for _, h := range []string{"Origin", "Referer", "User-Agent", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
			if v, ok := s.header[h]; ok {
				t.Errorf("%s: upstream got %s: %q", s.path, h, v)
			}
		}
	}
	// Non-API paths are forwarded untouched except for the secret.
	if w := seen[4]; w.path != "/webui" || w.header.Get("Origin") != "https://app.example" || w.query != "arg=x" {
		t.Errorf("webui forwarded as %+v", w)
	}
}

func TestForwardedAnswerKeepsOneVary(t *testing.T) {
	tp := newTestProxy(t, kuboOK, "https://app.example")
	res := tp.do(t, http.MethodPost, "/api/v0/version", "Origin", "https://app.example")
	if v := res.Header.Values("Vary"); len(v) != 1 || v[0] != "Origin" {
		t.Errorf("Vary %q", v)
	}
	if res.Header.Get("Access-Control-Allow-Origin") != "https://app.example" || res.Header.Get("Server") != "kubo/0.42.0" {
		t.Errorf("headers %v", res.Header)
	}
}

func TestUpstreamDown(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1:1")
	p, err := New(Config{Upstream: u, Log: zerolog.Nop()}, notObserving{http.NotFoundHandler()})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	p.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v0/id", nil))
	body := rec.Body.String()
	if rec.Code != 500 || rec.Header().Get("Content-Type") != "application/json" ||
		!strings.HasPrefix(body, `{"Message":"the IPFS node at http://127.0.0.1:1 is not reachable: `) ||
		!strings.HasSuffix(body, `","Code":0,"Type":"error"}`+"\n") {
		t.Errorf("%d %v %q", rec.Code, rec.Header(), body)
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := New(Config{}, notObserving{http.NotFoundHandler()}); err == nil {
		t.Error("no upstream accepted")
	}
	u, _ := url.Parse("http://127.0.0.1:5001")
	if _, err := New(Config{Upstream: u}, nil); err == nil {
		t.Error("no intercept handler accepted")
	}
}

func TestStripQueryKey(t *testing.T) {
	cases := map[string]string{
		"api-auth=s&arg=a&arg=b":    "arg=a&arg=b",
		"arg=%2Fipfs%2FQm&api-auth": "arg=%2Fipfs%2FQm",
		"api%2Dauth=s&x=1":          "x=1",
		"x=api-auth&y=2":            "x=api-auth&y=2",
		"encoding=json&stream=true": "encoding=json&stream=true",
	}
	for in, want := range cases {
		if got := stripQueryKey(in, "api-auth"); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func TestAccessLogHidesSecret(t *testing.T) {
	out := logOfOneRequest(t, "/api/v0/version?api-auth=s3cret&encoding=json")
	for _, want := range []string{`"method":"POST"`, `"path":"/api/v0/version"`, `"options":["encoding"]`, `"status":200`, `"duration":`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s: %s", want, out)
		}
	}
	if strings.Contains(out, "s3cret") {
		t.Errorf("secret logged: %s", out)
	}
}

// Arguments can be secrets (pin remote service add's token, config's
// value): the log names the options a call had, not their values.
func TestAccessLogHasNoArgumentValues(t *testing.T) {
	out := logOfOneRequest(t, "/api/v0/pin/remote/service/add?arg=svc&arg=https%3A%2F%2Fpins.example&arg=REMOTE-TOKEN&encoding=json&stream-channels=true")
	if !strings.Contains(out, `"options":["arg","encoding","stream-channels"]`) {
		t.Errorf("log lacks the option names: %s", out)
	}
	for _, value := range []string{"REMOTE-TOKEN", "pins.example", "svc", "json"} {
		if strings.Contains(out, value) {
			t.Errorf("log has the value %s: %s", value, out)
		}
	}
}

// logOfOneRequest is the debug log of one POST of target to a proxy.
func logOfOneRequest(t *testing.T, target string) string {
	t.Helper()
	var buf strings.Builder
	var mu sync.Mutex
	lg := zerolog.New(zerolog.SyncWriter(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}))).Level(zerolog.DebugLevel)
	up := httptest.NewServer(http.HandlerFunc(kuboOK))
	defer up.Close()
	u, _ := url.Parse(up.URL)
	p, err := New(Config{Upstream: u, Log: lg}, notObserving{http.NotFoundHandler()})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	p.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, target, nil))
	mu.Lock()
	defer mu.Unlock()
	return buf.String()
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
