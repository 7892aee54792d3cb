package intercept

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
)

type upstreamCall struct {
	path, query string
	body        []byte
}

// fakeUpstream is a minimal Kubo for the forwarded commands: it reads the
// whole request, records it, and answers with respond.
type fakeUpstream struct {
	srv     *httptest.Server
	mu      sync.Mutex
	calls   []upstreamCall
	respond func(w http.ResponseWriter, r *http.Request, body []byte)
}

func newFakeUpstream(t *testing.T, respond func(w http.ResponseWriter, r *http.Request, body []byte)) *fakeUpstream {
	u := &fakeUpstream{respond: respond}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("upstream read: %v", err)
		}
		u.mu.Lock()
		u.calls = append(u.calls, upstreamCall{path: r.URL.Path, query: r.URL.RawQuery, body: body})
		u.mu.Unlock()
		u.respond(w, r, body)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *fakeUpstream) lastCall(t *testing.T) upstreamCall {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.calls) == 0 {
		t.Fatal("upstream not called")
	}
	return u.calls[len(u.calls)-1]
}

// kuboStream answers as Kubo's emitter does for NDJSON, flushing each line.
func kuboStream(w http.ResponseWriter, lines ...string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Chunked-Output", "1")
	w.Header().Set("Trailer", "X-Stream-Error")
	w.Header().Set("Server", "kubo/0.42.0")
	w.WriteHeader(http.StatusOK)
	for _, l := range lines {
		io.WriteString(w, l+"\n")
		w.(http.Flusher).Flush()
	}
}

// addBody is a two-file CLI add upload.
func addBody(t *testing.T) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, name := range []string{"a.txt", "dir%2Fb.txt"} {
		part, _ := mw.CreatePart(map[string][]string{
			"Content-Disposition": {fmt.Sprintf(`form-data; name="file"; filename="%s"`, name)},
			"Content-Type":        {"application/octet-stream"},
		})
		part.Write(bytes.Repeat([]byte(name), 1000))
	}
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

// serveThrough runs the handlers behind a real server, so that trailers,
// flushing and full duplex behave as in production.
func serveThrough(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func postReal(t *testing.T, url, contentType string, body []byte) (*http.Response, string) {
	t.Helper()
	res, err := http.Post(url, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

func TestAddPinsTopLevelEntriesThroughCluster(t *testing.T) {
	fileA, fileB, dir := testCid(1), testCid(2), testCid(3)
	lines := []string{
		`{"Name":"a.txt","Bytes":5000}`,
		fmt.Sprintf(`{"Name":"a.txt","Hash":"%s","Size":"5011"}`, fileA),
		fmt.Sprintf(`{"Name":"dir/b.txt","Hash":"%s","Size":"11011"}`, fileB),
		fmt.Sprintf(`{"Name":"dir","Hash":"%s","Size":"11070"}`, dir),
	}
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) { kuboStream(w, lines...) })
	f := newFakeCluster()
	h := newTestHandlers(t, f, nil, up.srv.URL, true)
	srv := serveThrough(t, h)

	body, ct := addBody(t)
	res, got := postReal(t, srv.URL+"/api/v0/add?stream-channels=true&pin-name=photos&replication-min=2&progress=true&pin=true&cid-version=0", ct, body)
	if res.StatusCode != 200 || got != strings.Join(lines, "\n")+"\n" {
		t.Fatalf("client got %d %q", res.StatusCode, got)
	}
	if res.Header.Get("Server") != "kubo/0.42.0" || res.Header.Get("X-Chunked-Output") != "1" {
		t.Errorf("upstream headers not relayed: %v", res.Header)
	}
	call := up.lastCall(t)
	if call.query != "stream-channels=true&progress=true&cid-version=0&pin=false" {
		t.Errorf("upstream query %q", call.query)
	}
	if !bytes.Equal(call.body, body) {
		t.Error("upstream body differs from the upload")
	}
	for _, c := range []cid.Cid{fileA, dir} {
		p, ok := f.Stored(c)
		if !ok || p.Name != "photos" || p.Mode != storage.Recursive || p.ReplicationFactorMin != 2 {
			t.Errorf("%s: pin %+v %v", c, p, ok)
		}
	}
	if _, ok := f.Stored(fileB); ok {
		t.Error("a nested entry was pinned")
	}
	if want := []string{"pin " + fileA.String() + " recursive", "pin " + dir.String() + " recursive",
		"wait " + fileA.String(), "wait " + dir.String()}; !sameElements(f.Calls(), want) {
		t.Errorf("calls %v, want %v", f.Calls(), want)
	}
	// Intercepted answers now carry the upstream's Server header.
	if s := h.serverHeader(); s != "kubo/0.42.0" {
		t.Errorf("server header %q", s)
	}
}

func sameElements(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestAddWrapPinsOnlyTheWrapper(t *testing.T) {
	fileA, wrapper := testCid(1), testCid(4)
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		kuboStream(w, fmt.Sprintf(`{"Name":"a.txt","Hash":"%s","Size":"9"}`, fileA),
			fmt.Sprintf(`{"Name":"","Hash":"%s","Size":"60"}`, wrapper))
	})
	f := newFakeCluster()
	h := newTestHandlers(t, f, nil, up.srv.URL, false)
	body, ct := addBody(t)
	res := post(t, h, "/api/v0/add?w=true", bytes.NewReader(body), "Content-Type", ct)
	readBody(t, res)
	if got := f.Calls(); !slices.Equal(got, []string{"pin " + wrapper.String() + " recursive"}) {
		t.Errorf("calls %v", got)
	}
}

// Kubo's Go client uploads a directory unnamed: Kubo reports its children
// by names without '/', then the directory as "", and pins that alone.
func TestAddOfAnUnnamedDirectoryPinsOnlyTheDirectory(t *testing.T) {
	fileA, fileB, sub, root := testCid(1), testCid(2), testCid(3), testCid(4)
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		kuboStream(w, fmt.Sprintf(`{"Name":"a.txt","Hash":"%s","Size":"9"}`, fileA),
			fmt.Sprintf(`{"Name":"sub/b.txt","Hash":"%s","Size":"9"}`, fileB),
			fmt.Sprintf(`{"Name":"sub","Hash":"%s","Size":"60"}`, sub),
			fmt.Sprintf(`{"Name":"","Hash":"%s","Size":"120"}`, root))
	})
	f := newFakeCluster()
	h := newTestHandlers(t, f, nil, up.srv.URL, false)
	body, ct := addBody(t)
	res := post(t, h, "/api/v0/add", bytes.NewReader(body), "Content-Type", ct)
	readBody(t, res)
	if got := f.Calls(); !slices.Equal(got, []string{"pin " + root.String() + " recursive"}) {
		t.Errorf("calls %v, want the unnamed directory's pin alone", got)
	}
}

func TestAddWithoutPinIsForwardedUnchanged(t *testing.T) {
	for _, q := range []string{"pin=false&pin-name=x", "only-hash=true&pin=true", "n=1"} {
		up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
			kuboStream(w, fmt.Sprintf(`{"Name":"a","Hash":"%s"}`, testCid(1)))
		})
		f := newFakeCluster()
		h := newTestHandlers(t, f, nil, up.srv.URL, true)
		body, ct := addBody(t)
		res := post(t, h, "/api/v0/add?"+q, bytes.NewReader(body), "Content-Type", ct)
		readBody(t, res)
		if call := up.lastCall(t); call.query != q {
			t.Errorf("%s: upstream query %q", q, call.query)
		}
		if len(f.Calls()) != 0 {
			t.Errorf("%s: cluster called: %v", q, f.Calls())
		}
	}
}

func TestAddPinFailureGoesToTrailer(t *testing.T) {
	c := testCid(1)
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		kuboStream(w, fmt.Sprintf(`{"Name":"a","Hash":"%s"}`, c))
	})
	f := newFakeCluster()
	pinErr := errors.New("not enough peers to allocate CID. Needed at least: 2. Wanted at most: 2. Available candidates: 1")
	f.FailPin(pinErr)
	h := newTestHandlers(t, f, nil, up.srv.URL, true)
	srv := serveThrough(t, h)
	body, ct := addBody(t)
	res, got := postReal(t, srv.URL+"/api/v0/add", ct, body)
	if res.StatusCode != 200 || got != fmt.Sprintf(`{"Name":"a","Hash":"%s"}`+"\n", c) {
		t.Errorf("client got %d %q", res.StatusCode, got)
	}
	if tr := res.Trailer.Get("X-Stream-Error"); tr != pinErr.Error() {
		t.Errorf("trailer %q", tr)
	}
}

func TestAddUpstreamErrorAnswerPinsNothing(t *testing.T) {
	// An error answer is relayed verbatim. (A stream that fails later:
	// streamerror_test.go.)
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(500)
		io.WriteString(w, `{"Message":"unrecognized hash function: \"md5\"","Code":0,"Type":"error"}`+"\n")
	})
	f := newFakeCluster()
	h := newTestHandlers(t, f, nil, up.srv.URL, true)
	srv := serveThrough(t, h)
	body, ct := addBody(t)
	res, got := postReal(t, srv.URL+"/api/v0/add?hash=md5", ct, body)
	if res.StatusCode != 500 || got != `{"Message":"unrecognized hash function: \"md5\"","Code":0,"Type":"error"}`+"\n" {
		t.Errorf("client got %d %q", res.StatusCode, got)
	}
	if len(f.Calls()) != 0 {
		t.Errorf("cluster called: %v", f.Calls())
	}
}

func TestAddSilentStillPins(t *testing.T) {
	c := testCid(1)
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if strings.Contains(r.URL.RawQuery, "silent") {
			kuboStream(w) // what silent would make Kubo say: nothing
			return
		}
		kuboStream(w, fmt.Sprintf(`{"Name":"a","Hash":"%s"}`, c))
	})
	f := newFakeCluster()
	h := newTestHandlers(t, f, nil, up.srv.URL, false)
	body, ct := addBody(t)
	res := post(t, h, "/api/v0/add?silent=true", bytes.NewReader(body), "Content-Type", ct)
	if got := readBody(t, res); got != "" {
		t.Errorf("silent add printed %q", got)
	}
	if _, ok := f.Stored(c); !ok {
		t.Error("not pinned")
	}
}

func TestAddHoldsLastLineUntilPinned(t *testing.T) {
	a, root := testCid(1), testCid(2)
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		kuboStream(w, `{"Name":"a","Bytes":10}`, fmt.Sprintf(`{"Name":"a","Hash":"%s"}`, a),
			fmt.Sprintf(`{"Name":"b","Hash":"%s"}`, root))
	})
	f := newFakeCluster()
	pinning, release := make(chan cid.Cid, 2), make(chan struct{})
	f.OnPin(func(p storage.Pin) {
		pinning <- p.Cid
		<-release
	})
	h := newTestHandlers(t, f, nil, up.srv.URL, true)
	srv := serveThrough(t, h)
	body, ct := addBody(t)
	res, err := http.Post(srv.URL+"/api/v0/add", ct, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	for range 2 {
		if _, err := br.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	// The client has every line but the last, and the pin is under way.
	if c := <-pinning; c != a {
		t.Fatalf("pinning %s first", c)
	}
	if br.Buffered() != 0 {
		t.Fatalf("more bytes arrived before the pin: %d", br.Buffered())
	}
	close(release)
	last, _ := br.ReadString('\n')
	if last != fmt.Sprintf(`{"Name":"b","Hash":"%s"}`+"\n", root) {
		t.Errorf("last line %q", last)
	}
	if _, err := br.ReadString('\n'); err != io.EOF {
		t.Errorf("want EOF, got %v", err)
	}
}

func TestImportOptionErrorsAndUpstreamDown(t *testing.T) {
	h := newTestHandlers(t, newFakeCluster(), nil, "http://127.0.0.1:1", true)
	res := post(t, h, "/api/v0/add?pin=maybe", nil)
	if body := readBody(t, res); res.StatusCode != 400 || body != `could not convert value "maybe" to type "bool" (for option "-pin")`+"\n" {
		t.Errorf("bad bool: %d %q", res.StatusCode, body)
	}
	res = post(t, h, "/api/v0/add?pin-name="+strings.Repeat("n", 300), nil)
	checkGolden(t, res, 500, kuboHeaders(), `{"Message":"pin name is 300 bytes (max 255 bytes)","Code":0,"Type":"error"}`+"\n")

	res = post(t, h, "/api/v0/block/put?pin=true", strings.NewReader("x"))
	body := readBody(t, res)
	if res.StatusCode != 500 || !strings.HasPrefix(body, `{"Message":"the IPFS node at http://127.0.0.1:1 is not reachable: `) {
		t.Errorf("upstream down: %d %q", res.StatusCode, body)
	}
}
