package intercept

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
)

func TestPinAddCommitsAndWaits(t *testing.T) {
	a := testCid(1)
	f := newFakeCluster()
	h := newTestHandlers(t, f, &fakeResolver{}, "", true)
	res := post(t, h, "/api/v0/pin/add?arg=/ipfs/"+a.String()+"&name=photos", nil)
	checkGolden(t, res, 200, kuboHeaders(), fmt.Sprintf(`{"Pins":["%s"]}`+"\n", a))
	p, ok := f.Stored(a)
	if !ok || p.Name != "photos" || p.Mode != storage.Recursive || p.ReplicationFactorMin != 0 {
		t.Errorf("committed %+v", p)
	}
	want := []string{"pin " + a.String() + " recursive", "wait " + a.String()}
	if got := f.Calls(); !slices.Equal(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
}

func TestPinAddCommittedModeDoesNotWait(t *testing.T) {
	a := testCid(1)
	f := newFakeCluster()
	h := newTestHandlers(t, f, nil, "", false)
	res := post(t, h, "/api/v0/pin/add/"+a.String(), nil)
	if body := readBody(t, res); body != fmt.Sprintf(`{"Pins":["%s"]}`+"\n", a) {
		t.Errorf("body %q", body)
	}
	if got := f.Calls(); !slices.Equal(got, []string{"pin " + a.String() + " recursive"}) {
		t.Errorf("calls %v", got)
	}
}

func TestPinAddArgumentForms(t *testing.T) {
	a, b, c, d := testCid(1), testCid(2), testCid(3), rawCid("d")
	r := &fakeResolver{paths: map[string]cid.Cid{
		"/ipfs/" + a.String() + "/sub": c,
		"/ipns/example.org":            d,
	}}
	f := newFakeCluster()
	h := newTestHandlers(t, f, r, "", true)
	q := url.Values{"arg": {
		a.String(),                     // bare CID
		"/ipfs/" + b.String(),          // path
		"/ipfs/" + a.String() + "/sub", // sub-path: resolver
		"ipfs://" + b.String(),         // URL form
		"/ipns/example.org",            // IPNS: resolver
	}}
	res := post(t, h, "/api/v0/pin/add?"+q.Encode(), nil)
	want := fmt.Sprintf(`{"Pins":["%s","%s","%s","%s","%s"]}`+"\n", a, b, c, b, d)
	if body := readBody(t, res); body != want {
		t.Errorf("body %q, want %q", body, want)
	}
	if want := []string{"/ipfs/" + a.String() + "/sub", "/ipns/example.org"}; !slices.Equal(r.calls, want) {
		t.Errorf("resolver calls %v, want %v", r.calls, want)
	}

	// Resolver failures and bad paths are Kubo errors.
	res = post(t, h, "/api/v0/pin/add?arg=notacid", nil)
	checkGolden(t, res, 500, kuboHeaders(),
		`{"Message":"invalid path \"notacid\": path does not have enough components","Code":0,"Type":"error"}`+"\n")
}

func TestPinAddDirect(t *testing.T) {
	a, b := testCid(1), testCid(2)
	f := newFakeCluster(recursivePin(a, ""))
	h := newTestHandlers(t, f, nil, "", true)
	res := post(t, h, "/api/v0/pin/add?arg="+b.String()+"&recursive=false", nil)
	if res.StatusCode != 200 {
		t.Fatalf("status %d: %s", res.StatusCode, readBody(t, res))
	}
	if p, _ := f.Stored(b); p.Mode != storage.Direct {
		t.Errorf("mode %v", p.Mode)
	}
	res = post(t, h, "/api/v0/pin/add?arg="+a.String()+"&r=0", nil)
	checkGolden(t, res, 500, kuboHeaders(),
		fmt.Sprintf(`{"Message":"pin: %s already pinned recursively","Code":0,"Type":"error"}`+"\n", a))
}

func TestPinAddErrors(t *testing.T) {
	a := testCid(1)
	h := newTestHandlers(t, newFakeCluster(), nil, "", true)
	text400 := []struct{ query, want string }{
		{"", `argument "ipfs-path" is required`},
		{"arg=" + a.String() + "&recursive=maybe", `could not convert value "maybe" to type "bool" (for option "-recursive")`},
		{"arg=" + a.String() + "&r=maybe", `could not convert value "maybe" to type "bool" (for option "-recursive")`},
		{"arg=" + a.String() + "&name=a&name=b", "expected key name to have only a single value, received [a b]"},
		{"arg=" + a.String() + "&replication-min=two", `could not convert value "two" to type "int" (for option "-replication-min")`},
		{"arg=" + a.String() + "&replication=", `could not convert empty value to type "int" (for option "-replication")`},
		// The admin API's bound: 32 bits, as Kubo's int options.
		{"arg=" + a.String() + "&replication=2147483648", `could not convert value "2147483648" to type "int" (for option "-replication")`},
	}
	for _, tc := range text400 {
		res := post(t, h, "/api/v0/pin/add?"+tc.query, nil)
		if body := readBody(t, res); res.StatusCode != 400 || body != tc.want+"\n" {
			t.Errorf("%q: %d %q, want 400 %q", tc.query, res.StatusCode, body, tc.want)
		}
	}
	long := strings.Repeat("x", 256)
	res := post(t, h, "/api/v0/pin/add?arg="+a.String()+"&name="+long, nil)
	checkGolden(t, res, 500, kuboHeaders(), `{"Message":"pin name is 256 bytes (max 255 bytes)","Code":0,"Type":"error"}`+"\n")
}

func TestPinAddClusterErrorsKeepTheirMessage(t *testing.T) {
	a := testCid(1)
	for _, msg := range []string{
		"not enough peers to allocate CID. Needed at least: 3. Wanted at most: 3. Available candidates: 1",
		"no leader",
	} {
		f := newFakeCluster()
		f.FailPin(errors.New(msg))
		h := newTestHandlers(t, f, nil, "", true)
		res := post(t, h, "/api/v0/pin/add?arg="+a.String(), nil)
		checkGolden(t, res, 500, kuboHeaders(), fmt.Sprintf(`{"Message":%q,"Code":0,"Type":"error"}`+"\n", msg))
	}
	// And in text encoding, the bare message.
	f := newFakeCluster()
	f.FailPin(errNoLeader)
	h := newTestHandlers(t, f, nil, "", true)
	res := post(t, h, "/api/v0/pin/add?encoding=text&arg="+a.String(), nil)
	checkGolden(t, res, 500, strings.Replace(kuboHeaders(), "application/json", "text/plain", 1), "no leader")
}

func TestPinAddReplicationAndOrder(t *testing.T) {
	a, b := testCid(1), testCid(2)
	f := newFakeCluster()
	h := newTestHandlers(t, f, nil, "", true)
	res := post(t, h, "/api/v0/pin/add?arg="+a.String()+"&arg="+b.String()+"&replication-min=3&replication-max=0x5&encoding=text", nil)
	if body := readBody(t, res); body != fmt.Sprintf("pinned %s recursively\npinned %s recursively\n", a, b) {
		t.Errorf("body %q", body)
	}
	for _, c := range []cid.Cid{a, b} {
		if p, _ := f.Stored(c); p.ReplicationFactorMin != 3 || p.ReplicationFactorMax != 5 {
			t.Errorf("%s: replication %d/%d", c, p.ReplicationFactorMin, p.ReplicationFactorMax)
		}
	}
	calls := f.Calls()
	if !sameSet(calls[:2], []string{"pin " + a.String() + " recursive", "pin " + b.String() + " recursive"}) {
		t.Errorf("calls %v", calls)
	}
}

// sameSet reports whether got and want hold the same strings, in any order:
// the commits of one command go out together.
func sameSet(got, want []string) bool {
	return len(got) == len(want) && !slices.ContainsFunc(want, func(w string) bool { return !slices.Contains(got, w) })
}

// The arguments of one pin add are committed together, not one round
// through Raft after another: the node's group commit then takes them into
// few log entries (a thousand CIDs took a thousand entries, one at a time).
func TestPinAddCommitsItsArgumentsTogether(t *testing.T) {
	f := newFakeCluster()
	const n = 8
	var inFlight sync.WaitGroup
	inFlight.Add(n)
	together := make(chan struct{})
	go func() { inFlight.Wait(); close(together) }()
	var alone atomic.Bool
	f.OnPin(func(storage.Pin) {
		inFlight.Done()
		select {
		case <-together:
		case <-time.After(2 * time.Second):
			alone.Store(true)
		}
	})
	h := newTestHandlers(t, f, nil, "", false)
	q := ""
	for i := range n {
		q += "&arg=" + testCid(i).String()
	}
	res := post(t, h, "/api/v0/pin/add?"+q[1:], nil)
	if res.StatusCode != 200 {
		t.Fatalf("status %d: %s", res.StatusCode, readBody(t, res))
	}
	if alone.Load() {
		t.Fatalf("the %d pins were not committed together", n)
	}
}

// cliStdinBody builds the body `echo CIDS | ipfs pin add` sends: one
// multipart part named stdin holding newline-separated arguments.
func cliStdinBody(t testing.TB, lines string) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	part, err := mw.CreatePart(map[string][]string{
		"Content-Disposition": {`form-data; name="stdin"; filename=""`},
		"Content-Type":        {"application/octet-stream"},
	})
	if err != nil {
		t.Fatal(err)
	}
	part.Write([]byte(lines))
	mw.Close()
	return &buf, "multipart/form-data; boundary=" + mw.Boundary()
}

func TestPinAddAndRmStdinArgs(t *testing.T) {
	a, b := testCid(1), testCid(2)
	f := newFakeCluster()
	h := newTestHandlers(t, f, nil, "", true)
	body, ct := cliStdinBody(t, a.String()+"\n"+b.String()+"\r\n")
	res := post(t, h, "/api/v0/pin/add?encoding=json&stream-channels=true&recursive=true", body, "Content-Type", ct)
	if got := readBody(t, res); got != fmt.Sprintf(`{"Pins":["%s","%s"]}`+"\n", a, b) {
		t.Errorf("add body %q", got)
	}
	body, ct = cliStdinBody(t, a.String()+"\n"+b.String())
	res = post(t, h, "/api/v0/pin/rm", body, "Content-Type", ct)
	if got := readBody(t, res); got != fmt.Sprintf(`{"Pins":["%s","%s"]}`+"\n", a, b) {
		t.Errorf("rm body %q", got)
	}
	if _, ok := f.Stored(a); ok {
		t.Error("a still pinned")
	}
	// An empty stdin part is a missing argument.
	body, ct = cliStdinBody(t, "")
	res = post(t, h, "/api/v0/pin/add", body, "Content-Type", ct)
	if got := readBody(t, res); res.StatusCode != 400 || got != "argument \"ipfs-path\" is required\n" {
		t.Errorf("empty stdin: %d %q", res.StatusCode, got)
	}
}

func TestPinAddProgressStreamsWhileWaiting(t *testing.T) {
	a := testCid(1)
	f := newFakeCluster()
	release := make(chan struct{})
	reported := make(chan struct{})
	f.OnWait(func(ctx context.Context, c cid.Cid, progress func(nodes, bytes uint64)) error {
		<-reported // the test saw {} first
		progress(4, 167)
		<-release
		return nil
	})
	h := newTestHandlers(t, f, nil, "", true)
	srv := httptest.NewServer(h)
	defer srv.Close()

	res, err := http.Post(srv.URL+"/api/v0/pin/add?arg="+a.String()+"&progress=true", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.Header.Get("X-Chunked-Output") != "1" || res.Header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", res.Header)
	}
	lines := bufio.NewScanner(res.Body)
	next := func() string {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("stream ended: %v", lines.Err())
		}
		return lines.Text()
	}
	if l := next(); l != "{}" {
		t.Fatalf("first tick %q, want {}", l)
	}
	close(reported)
	for {
		l := next()
		if l == `{"Progress":4,"Bytes":167}` {
			break
		}
		if l != "{}" {
			t.Fatalf("unexpected line %q", l)
		}
	}
	close(release)
	for {
		l := next()
		if strings.HasPrefix(l, `{"Pins"`) {
			if l != fmt.Sprintf(`{"Pins":["%s"]}`, a) {
				t.Errorf("final %q", l)
			}
			break
		}
		if l != `{"Progress":4,"Bytes":167}` {
			t.Fatalf("unexpected line %q", l)
		}
	}
	if lines.Scan() {
		t.Errorf("extra line %q", lines.Text())
	}
}

func TestPinAddProgressFailureAfterOutputGoesToTrailer(t *testing.T) {
	a := testCid(1)
	f := newFakeCluster()
	ticked := make(chan struct{})
	f.OnWait(func(ctx context.Context, c cid.Cid, _ func(nodes, bytes uint64)) error {
		<-ticked
		return errors.New("pin_error: context deadline exceeded")
	})
	h := newTestHandlers(t, f, nil, "", true)
	srv := httptest.NewServer(h)
	defer srv.Close()
	res, err := http.Post(srv.URL+"/api/v0/pin/add?arg="+a.String()+"&progress", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	if l, _ := br.ReadString('\n'); l != "{}\n" {
		t.Fatalf("first line %q", l)
	}
	close(ticked)
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			break
		}
		if l != "{}\n" {
			t.Fatalf("line %q", l)
		}
	}
	if got := res.Trailer.Get("X-Stream-Error"); got != "pin_error: context deadline exceeded" {
		t.Errorf("trailer %q", got)
	}
}
