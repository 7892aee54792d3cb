package rest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/internal/car/cartest"
	"github.com/flotilla-ipfs/flotilla/storage"
)

// fakeDagImport is an upstream whose dag/import records what it was sent
// and answers as Kubo does with pin-roots=false and stats=true, or fails.
type fakeDagImport struct {
	mu    sync.Mutex
	query url.Values
	body  []byte
	fail  string
}

func (f *fakeDagImport) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v0/dag/import" {
		http.NotFound(w, r)
		return
	}
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.query, f.body = r.URL.Query(), b
	failMsg := f.fail
	f.mu.Unlock()
	if failMsg != "" {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, `{"Message":%q,"Code":0,"Type":"error"}`+"\n", failMsg)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"Stats":{"BlockCount":2,"BlockBytesCount":%d}}`+"\n", len(b))
}

func carEnv(t *testing.T) (*testEnv, *fakeDagImport) {
	t.Helper()
	up := &fakeDagImport{}
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return newEnv(t, Config{UpstreamURL: u}), up
}

func (e *testEnv) postCAR(query string, cars ...[]byte) response {
	e.t.Helper()
	body, ct := cartest.Upload(e.t, cars...)
	return e.do(http.MethodPost, "/add?format=car&"+query, bytes.NewReader(body), "Content-Type", ct)
}

func TestAddCARImportsAndPinsTheRoot(t *testing.T) {
	e, up := carEnv(t)
	root := cartest.RawCid("a")
	data := cartest.V1(t, []cid.Cid{root}, "a", "b")
	r := e.postCAR("replication=2&name=photos&meta-k=v", data).wantStatus(t, http.StatusOK)
	if r.header.Get("X-Chunked-Output") != "1" {
		t.Errorf("headers %v", r.header)
	}
	items := ndjson(t, r.body)
	if len(items) != 1 {
		t.Fatalf("output %s", r.body)
	}
	it := items[0]
	wantKeys(t, "AddedOutput", it, "name", "cid", "bytes", "allocations")
	if it["cid"] != root.String() || it["name"] != "x.car" || len(it["allocations"].([]any)) != 2 || it["bytes"] == nil {
		t.Errorf("output %v", it)
	}
	p, err := e.fc.Get(t.Context(), root)
	if err != nil {
		t.Fatalf("root not pinned: %v", err)
	}
	if p.Name != "photos" || p.ReplicationFactorMin != 2 || p.Metadata["k"] != "v" || p.Mode != storage.Recursive {
		t.Errorf("cluster pin %+v", p)
	}
	up.mu.Lock()
	defer up.mu.Unlock()
	if up.query.Get("pin-roots") != "false" {
		t.Errorf("dag/import query %v: the IPFS node must not pin", up.query)
	}
	if !bytes.Contains(up.body, data) {
		t.Error("the CAR did not reach dag/import unchanged")
	}
}

func TestAddCAREveryRootNamedAfterTheFile(t *testing.T) {
	e, _ := carEnv(t)
	r1, r2 := cartest.RawCid("a"), cartest.RawCid("b")
	r := e.postCAR("stream-channels=false", cartest.V1(t, []cid.Cid{r1, r2}, "a", "b")).wantStatus(t, http.StatusOK)
	var arr []map[string]any
	if err := jsonUnmarshal(r.body, &arr); err != nil || len(arr) != 2 {
		t.Fatalf("want one JSON array of two roots: %s (%v)", r.body, err)
	}
	for i, c := range []cid.Cid{r1, r2} {
		p, err := e.fc.Get(t.Context(), c)
		if arr[i]["cid"] != c.String() || err != nil || p.Name != "x.car" {
			t.Errorf("root %d: %v, pin %+v (%v)", i, arr[i], p, err)
		}
	}
}

func TestAddCARErrors(t *testing.T) {
	e, up := carEnv(t)
	root := cartest.RawCid("a")
	e.postCAR("no-pin=true", cartest.V1(t, []cid.Cid{root}, "a")).wantStatus(t, http.StatusOK)
	if e.fc.PinCalls() != 0 {
		t.Error("no-pin pinned")
	}
	e.postCAR("wrap-with-directory=true", cartest.V1(t, []cid.Cid{root})).
		wantError(t, http.StatusBadRequest, "cannot wrap a CAR file upload")
	e.postCAR("", cartest.V1(t, nil, "a")).wantError(t, http.StatusBadRequest, "no root")
	e.postCAR("", []byte("not a car")).wantError(t, http.StatusBadRequest, "CAR")

	up.mu.Lock()
	up.fail = "failed to decode CAR"
	up.mu.Unlock()
	e.postCAR("", cartest.V1(t, []cid.Cid{root}, "a")).
		wantError(t, http.StatusInternalServerError, "failed to decode CAR")
	up.mu.Lock()
	up.fail = ""
	up.mu.Unlock()

	e.fc.FailPin(fmt.Errorf("no leader"))
	e.postCAR("", cartest.V1(t, []cid.Cid{root}, "a")).wantError(t, http.StatusInternalServerError, "no leader")
	if got := e.postCAR("", []byte{}); got.status == http.StatusOK || !strings.Contains(string(got.body), "CAR") {
		t.Errorf("empty CAR: %d %s", got.status, got.body)
	}
}
