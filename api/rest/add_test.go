package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/internal/fakekubo"
	"github.com/flotilla-ipfs/flotilla/internal/slowclient"
	"github.com/flotilla-ipfs/flotilla/internal/testkit"
)

// addEnv is an API whose /add goes to a fake Kubo.
func addEnv(t *testing.T) (*testEnv, *fakekubo.Fake) {
	t.Helper()
	fk := fakekubo.New(t)
	u, err := url.Parse(fk.URL())
	if err != nil {
		t.Fatal(err)
	}
	return newEnv(t, Config{UpstreamURL: u}), fk
}

// multipartBody builds a form with one file part per name=content pair.
func multipartBody(t *testing.T, files ...string) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for i := 0; i+1 < len(files); i += 2 {
		part, err := mw.CreateFormFile("file", files[i])
		if err != nil {
			t.Fatal(err)
		}
		part.Write([]byte(files[i+1]))
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func (e *testEnv) postAdd(query string, files ...string) response {
	e.t.Helper()
	body, ct := multipartBody(e.t, files...)
	return e.do(http.MethodPost, "/add?"+query, body, "Content-Type", ct)
}

func TestAddPinsEachTopLevelFile(t *testing.T) {
	e, fk := addEnv(t)
	r := e.postAdd("name=&replication=2&meta-k=v", "a.txt", "hello", "b.txt", "world!").wantStatus(t, http.StatusOK)
	if r.header.Get("X-Chunked-Output") != "1" || r.header.Get("Cache-Control") != "no-cache" {
		t.Errorf("headers %v", r.header)
	}
	items := ndjson(t, r.body)
	if len(items) != 2 {
		t.Fatalf("output %s", r.body)
	}
	for i, want := range []struct {
		name string
		size float64
	}{{"a.txt", 5}, {"b.txt", 6}} {
		it := items[i]
		wantKeys(t, "AddedOutput", it, "name", "cid", "size", "allocations")
		if it["name"] != want.name || it["size"] != want.size || len(it["allocations"].([]any)) != 2 {
			t.Errorf("item %d: %v", i, it)
		}
		c, err := cid.Decode(it["cid"].(string))
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.fc.Get(t.Context(), c)
		if err != nil {
			t.Fatalf("%s not pinned in the cluster: %v", want.name, err)
		}
		// Without a name option the pin is named after the file.
		if p.Name != want.name || p.ReplicationFactorMin != 2 || p.Metadata["k"] != "v" {
			t.Errorf("cluster pin %+v", p)
		}
		if !fk.HasBlock(c) {
			t.Errorf("%s not imported into IPFS", want.name)
		}
	}
	if n := len(fk.Pins()); n != 0 {
		t.Errorf("the IPFS node pinned %d items itself: the pin is the cluster's", n)
	}
}

func TestAddWrapPinsOnlyTheDirectory(t *testing.T) {
	e, _ := addEnv(t)
	r := e.postAdd("wrap-with-directory=true&name=bundle&progress=true&replication=1", "a.txt", "hello", "b.txt", "world!").wantStatus(t, http.StatusOK)
	items := ndjson(t, r.body)
	var roots []map[string]any
	progress := 0
	for _, it := range items {
		switch {
		case it["cid"] == nil:
			progress++
			if it["bytes"] == nil {
				t.Errorf("progress line without bytes: %v", it)
			}
		case it["allocations"] != nil:
			roots = append(roots, it)
		}
	}
	if progress != 2 || len(roots) != 1 || items[len(items)-1]["name"] != "" {
		t.Fatalf("output %s", r.body)
	}
	if e.fc.PinCalls() != 1 || e.fc.LastPin().Name != "bundle" || e.fc.LastPin().Cid.String() != roots[0]["cid"] {
		t.Errorf("pinned %d times, last %+v", e.fc.PinCalls(), e.fc.LastPin())
	}
}

func TestAddNoPinAndArrayOutput(t *testing.T) {
	e, _ := addEnv(t)
	r := e.postAdd("no-pin=true&stream-channels=false", "a.txt", "hello").wantStatus(t, http.StatusOK)
	var arr []map[string]any
	if err := json.Unmarshal(r.body, &arr); err != nil || len(arr) != 1 {
		t.Fatalf("stream-channels=false must answer one JSON array: %s (%v)", r.body, err)
	}
	if arr[0]["allocations"] != nil || e.fc.PinCalls() != 0 {
		t.Errorf("no-pin pinned: %v, %d calls", arr[0], e.fc.PinCalls())
	}
}

func TestAddErrors(t *testing.T) {
	e, fk := addEnv(t)
	e.do(http.MethodPost, "/add", strings.NewReader("x"), "Content-Type", "text/plain").
		wantError(t, http.StatusBadRequest, "isn't multipart/form-data")
	e.postAdd("layout=zigzag", "a", "b").wantError(t, http.StatusBadRequest, "layout parameter is invalid")
	e.postAdd("replication=-5", "a", "b").wantError(t, http.StatusBadRequest, "parameter replication invalid")
	e.postAdd("hash=bogus", "a", "b").wantError(t, http.StatusBadRequest, "parameter hash invalid")
	e.postAdd("chunker=bogus", "a", "b").wantError(t, http.StatusBadRequest, "parameter chunker invalid")
	if n := fk.Calls("add"); n != 0 {
		t.Fatalf("refused adds reached the IPFS node %d times", n)
	}

	fk.FailNext("add", 1, "disk full")
	e.postAdd("", "a", "b").wantError(t, http.StatusInternalServerError, "disk full")

	// The cluster refuses the pin of the only entry: nothing was sent yet.
	e.fc.FailPin(fmt.Errorf("no leader"))
	e.postAdd("", "a", "b").wantError(t, http.StatusInternalServerError, "no leader")

	// Refused after a first entry went out: the error is in the trailer.
	r := e.postAdd("wrap-with-directory=true", "a", "b")
	r.wantStatus(t, http.StatusOK)
	if got := r.resp.Trailer.Get("X-Stream-Error"); !strings.Contains(got, "no leader") {
		t.Errorf("trailer %q, body %s", got, r.body)
	}

	noUpstream := newEnv(t, Config{})
	noUpstream.postAdd("", "a", "b").wantError(t, http.StatusNotImplemented, "no IPFS node")
}

// An upload whose body the listener cuts is answered by the listener, with
// the reason, not by /add with "context canceled".
func TestAnUploadCutForSlownessIsAnsweredWithTheReason(t *testing.T) {
	e, _ := addEnv(t)
	limits := slowclient.Limits{Idle: 200 * time.Millisecond}
	srv := httptest.NewServer(slowclient.Handler(e.api, limits, func(*http.Request) bool { return true },
		func(w http.ResponseWriter, _ *http.Request, msg string) {
			writeError(w, http.StatusRequestTimeout, errors.New(msg))
		}))
	t.Cleanup(srv.Close)
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /add HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: 10000\r\n\r\n"+
		"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\nthe first bytes, then nothing")
	res, b := testkit.ReadAnswer(t, c)
	if res.StatusCode != http.StatusRequestTimeout || !strings.Contains(b, "too slowly") {
		t.Fatalf("the cut upload got %d %s, want the listener's 408 with the reason", res.StatusCode, b)
	}
}
