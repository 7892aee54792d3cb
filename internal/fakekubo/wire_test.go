package fakekubo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/boxo/files"
	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/internal/testkit"
)

// Raw HTTP checks of the framing and messages in the Kubo RPC contract.

func TestTransportRules(t *testing.T) {
	fk := New(t)

	res := do(t, fk, http.MethodGet, "/api/v0/version", nil, "")
	if res.StatusCode != http.StatusMethodNotAllowed || readBody(t, res) != "405 - Method Not Allowed\n" {
		t.Fatalf("GET = %d", res.StatusCode)
	}
	wantHeader(t, res, "Allow", "OPTIONS, POST")
	wantHeader(t, res, "Content-Type", "text/plain; charset=utf-8")

	res = do(t, fk, http.MethodOptions, "/api/v0/version", nil, "")
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("OPTIONS = %d", res.StatusCode)
	}

	res = post(t, fk, "/api/v0/nosuch/command")
	if res.StatusCode != http.StatusNotFound || readBody(t, res) != "404 page not found\n" {
		t.Fatalf("unknown command = %d", res.StatusCode)
	}

	res = post(t, fk, "/api/v0/version")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("version = %d", res.StatusCode)
	}
	wantHeader(t, res, "Content-Type", "application/json")
	if _, ok := res.Trailer["X-Stream-Error"]; !ok { // Go moves the Trailer header here
		t.Errorf("Trailer: X-Stream-Error not announced: %v", res.Trailer)
	}
	wantHeader(t, res, "Server", "kubo/0.42.0")
	wantHeader(t, res, "Access-Control-Expose-Headers", "X-Stream-Output, X-Chunked-Output, X-Content-Length")
	wantHeader(t, res, "X-Chunked-Output", "")
	want := `{"Version":"0.42.0","Commit":"","Repo":"18","System":"amd64/linux","Golang":"go1.26"}` + "\n"
	if got := readBody(t, res); got != want {
		t.Fatalf("version body = %q, want %q", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	fk := New(t)
	c := testCid(t, "x")
	for _, tc := range []struct{ query, want string }{
		{"/api/v0/pin/add", `argument "ipfs-path" is required`},
		{"/api/v0/pin/add?arg=" + c.String() + "&recursive=maybe", `could not convert value "maybe" to type "bool" (for option "-recursive")`},
		{"/api/v0/pin/add?arg=" + c.String() + "&r=true&r=false", `expected key recursive to have only a single value, received [true false]`},
		{"/api/v0/pin/update?arg=" + c.String(), `argument "to-path" is required`},
		{"/api/v0/add", `file argument 'path' is required`},
	} {
		res := post(t, fk, tc.query)
		if body := readBody(t, res); res.StatusCode != http.StatusBadRequest || body != tc.want+"\n" {
			t.Errorf("%s = %d %q, want 400 %q", tc.query, res.StatusCode, body, tc.want)
		}
	}
}

func TestCommandErrorsAreKuboJSON(t *testing.T) {
	fk := New(t)
	c := testCid(t, "x")
	for _, tc := range []struct{ query, want string }{
		{"/api/v0/pin/rm?arg=" + c.String(), "not pinned or pinned indirectly"},
		{"/api/v0/pin/ls?arg=" + c.String(), "path '" + c.String() + "' is not pinned"},
		{"/api/v0/pin/ls?type=bogus", "invalid type 'bogus', must be one of {direct, indirect, recursive, all}"},
		{"/api/v0/pin/add?arg=notacid", `invalid path "notacid": path does not have enough components`},
		{"/api/v0/pin/add?arg=" + c.String() + "&name=" + strings.Repeat("n", 256), "pin name is 256 bytes (max 255 bytes)"},
	} {
		res := post(t, fk, tc.query)
		want := fmt.Sprintf(`{"Message":%q,"Code":0,"Type":"error"}`+"\n", tc.want)
		if body := readBody(t, res); res.StatusCode != http.StatusInternalServerError || body != want {
			t.Errorf("%s = %d %q, want 500 %q", tc.query, res.StatusCode, body, want)
		}
		wantHeader(t, res, "Content-Type", "application/json")
	}
}

func TestPinArgumentForms(t *testing.T) {
	fk := New(t)
	a, b, c := testCid(t, "a"), testCid(t, "b"), testCid(t, "c")
	for _, x := range []cid.Cid{a, b, c} {
		fk.AddBlock(x)
	}

	// Path segment, and the r alias for recursive.
	res := post(t, fk, "/api/v0/pin/add/"+a.String()+"?r=false")
	if body := readBody(t, res); body != `{"Pins":["`+a.String()+`"]}`+"\n" {
		t.Fatalf("path-arg pin/add = %q", body)
	}
	if fk.Pins()[a.String()] != Direct {
		t.Fatalf("r=false must pin directly: %v", fk.Pins())
	}

	// Multipart stdin args, CRLF tolerated, /ipfs/ paths accepted.
	body, ct := stdinBody(t, b.String()+"\r\n/ipfs/"+c.String()+"\n")
	res = do(t, fk, http.MethodPost, "/api/v0/pin/add?name=batch", body, ct)
	want := fmt.Sprintf(`{"Pins":["%s","%s"]}`+"\n", b, c)
	if got := readBody(t, res); got != want {
		t.Fatalf("stdin pin/add = %q, want %q", got, want)
	}
	if n, _ := fk.PinName(c); n != "batch" || fk.Pins()[c.String()] != Recursive {
		t.Fatalf("pin c = %v name %q", fk.Pins()[c.String()], n)
	}

	// pin/ls with a path-segment argument and names.
	res = post(t, fk, "/api/v0/pin/ls/"+b.String()+"?names=true")
	want = fmt.Sprintf(`{"Keys":{"%s":{"Type":"recursive","Name":"batch"}}}`+"\n", b)
	if got := readBody(t, res); got != want {
		t.Fatalf("pin/ls/<cid> = %q, want %q", got, want)
	}

	// pin/rm from stdin.
	body, ct = stdinBody(t, b.String()+"\n"+c.String())
	res = do(t, fk, http.MethodPost, "/api/v0/pin/rm", body, ct)
	if got := readBody(t, res); res.StatusCode != 200 || !strings.Contains(got, c.String()) {
		t.Fatalf("stdin pin/rm = %d %q", res.StatusCode, got)
	}
	if len(fk.Pins()) != 1 {
		t.Fatalf("pins after rm = %v", fk.Pins())
	}
}

func TestPinLsShapes(t *testing.T) {
	fk := New(t)

	res := post(t, fk, "/api/v0/pin/ls")
	if got := readBody(t, res); got != "{}\n" {
		t.Fatalf("empty pin/ls = %q, want {}", got)
	}
	res = post(t, fk, "/api/v0/pin/ls?stream=true")
	wantHeader(t, res, "X-Chunked-Output", "1")
	if got := readBody(t, res); res.StatusCode != 200 || got != "" {
		t.Fatalf("empty stream = %d %q", res.StatusCode, got)
	}

	r, d := testCid(t, "r"), testCid(t, "d")
	fk.PinDirect(r, Recursive)
	fk.PinDirect(d, Direct)
	res = post(t, fk, "/api/v0/pin/ls?s=true&type=all")
	got := lines(t, res)
	want := []string{
		fmt.Sprintf(`{"Cid":"%s","Type":"recursive"}`, r),
		fmt.Sprintf(`{"Cid":"%s","Type":"direct"}`, d),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("stream = %q, want %q", got, want)
	}

	res = post(t, fk, "/api/v0/pin/ls?type=direct")
	want1 := fmt.Sprintf(`{"Keys":{"%s":{"Type":"direct","Name":""}}}`+"\n", d)
	if got := readBody(t, res); got != want1 {
		t.Fatalf("keys = %q, want %q", got, want1)
	}
}

func TestPinAddProgressStream(t *testing.T) {
	fk := New(t)
	fk.SetProgressInterval(2 * time.Millisecond)
	root := fk.AddData([]byte("root"))
	kids := []cid.Cid{testCid(t, "k1"), testCid(t, "k2")}
	fk.SetLinks(root, kids...)

	res := post(t, fk, "/api/v0/pin/add?arg="+root.String()+"&progress=true")
	wantHeader(t, res, "X-Chunked-Output", "1")
	dec := json.NewDecoder(res.Body)
	var first struct{ Progress int }
	if err := dec.Decode(&first); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the first child to be fetched", func() bool { return fk.Fetching(kids[0]) == 1 })
	for _, k := range kids {
		fk.AddBlock(k)
	}
	var last struct {
		Pins     []string
		Progress int
		Bytes    uint64
	}
	var progress []int
	for {
		last.Pins, last.Progress = nil, 0
		if err := dec.Decode(&last); err != nil {
			t.Fatalf("stream ended without Pins: %v", err)
		}
		if last.Pins != nil {
			break
		}
		progress = append(progress, last.Progress)
	}
	if len(progress) == 0 || progress[len(progress)-1] != 3 {
		t.Fatalf("progress = %v, want it to end at 3 nodes", progress)
	}
	if len(last.Pins) != 1 || last.Pins[0] != root.String() {
		t.Fatalf("Pins = %v", last.Pins)
	}
	all := fk.Pins()
	if len(all) != 1 || all[root.String()] != Recursive {
		t.Fatalf("pins = %v", all)
	}
}

func TestStreamErrorGoesInTrailer(t *testing.T) {
	fk := New(t)
	fk.SetProgressInterval(time.Millisecond)
	c := testCid(t, "gone")
	res := post(t, fk, "/api/v0/pin/add?arg="+c.String()+"&progress=true")
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	testkit.Eventually(t, "the pin to wait", func() bool { return fk.Fetching(c) == 1 })
	fk.SetOffline(true) // the fetch now fails, after output has started
	_ = readBody(t, res)
	want := "pin: block was not found locally (offline): ipld: could not find " + c.String()
	if got := res.Trailer.Get("X-Stream-Error"); got != want {
		t.Fatalf("trailer = %q, want %q", got, want)
	}
}

func TestTimeoutOption(t *testing.T) {
	fk := New(t)
	c := testCid(t, "slow")
	res := post(t, fk, "/api/v0/pin/add?arg="+c.String()+"&timeout=abc")
	if body := readBody(t, res); res.StatusCode != 200 || body != "" {
		t.Fatalf("bad timeout = %d %q, want Kubo's empty 200", res.StatusCode, body)
	}
	res = post(t, fk, "/api/v0/pin/add?arg="+c.String()+"&timeout=20ms")
	if body := readBody(t, res); !strings.Contains(body, "pin: context deadline exceeded") {
		t.Fatalf("timeout = %d %q", res.StatusCode, body)
	}
}

func TestAddDirectoryLikeTheCLI(t *testing.T) {
	fk := New(t)
	dir := files.NewMapDirectory(map[string]files.Node{
		"docs": files.NewMapDirectory(map[string]files.Node{
			"a.txt": files.NewBytesFile([]byte("aaa")),
			"b.txt": files.NewBytesFile([]byte("bb")),
		}),
	})
	mfr := files.NewMultiFileReader(dir, true, false) // form=true: the CLI's shape
	res := do(t, fk, http.MethodPost, "/api/v0/add?pin-name=site&progress=true", mfr, "multipart/form-data; boundary="+mfr.Boundary())
	var events []addEvent
	dec := json.NewDecoder(res.Body)
	for dec.More() {
		var e addEvent
		if err := dec.Decode(&e); err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	last := events[len(events)-1]
	if last.Name != "docs" || last.Size != "5" {
		t.Fatalf("last event = %+v, want the docs directory, size 5", last)
	}
	var sawProgress, sawA bool
	for _, e := range events {
		sawProgress = sawProgress || (e.Name == "docs/a.txt" && e.Bytes == 3 && e.Hash == "")
		sawA = sawA || (e.Name == "docs/a.txt" && e.Hash == fileCid([]byte("aaa"), 0).String() && e.Size == "3")
	}
	if !sawProgress || !sawA {
		t.Fatalf("events = %+v", events)
	}
	root, _ := cid.Decode(last.Hash)
	if n, _ := fk.PinName(root); fk.Pins()[root.String()] != Recursive || n != "site" {
		t.Fatalf("pins = %v name %q", fk.Pins(), n)
	}
	res = post(t, fk, "/api/v0/pin/ls?type=indirect&stream=true")
	if got := lines(t, res); len(got) != 2 {
		t.Fatalf("indirect pins = %q, want the two files", got)
	}
}

func TestCatAndBlockGetFraming(t *testing.T) {
	fk := New(t)
	c := fk.AddData([]byte("0123456789"))

	res := post(t, fk, "/api/v0/cat?arg="+c.String()+"&offset=2&length=5")
	wantHeader(t, res, "X-Stream-Output", "1")
	wantHeader(t, res, "X-Content-Length", "5")
	wantHeader(t, res, "Content-Type", "text/plain")
	if got := readBody(t, res); got != "23456" {
		t.Fatalf("cat = %q", got)
	}

	res = post(t, fk, "/api/v0/block/get?arg="+c.String())
	wantHeader(t, res, "Content-Type", "application/vnd.ipld.raw")
	if got := readBody(t, res); got != "0123456789" {
		t.Fatalf("block/get = %q", got)
	}
}

func TestCidBase(t *testing.T) {
	fk := New(t)
	c := testCid(t, "v0")
	fk.AddBlock(c)
	res := post(t, fk, "/api/v0/pin/add?arg="+c.String()+"&cid-base=base32")
	want := cid.NewCidV1(cid.DagProtobuf, c.Hash()).String()
	if got := readBody(t, res); got != `{"Pins":["`+want+`"]}`+"\n" {
		t.Fatalf("cid-base=base32 = %q, want %s", got, want)
	}
}

func TestNodeEndpoints(t *testing.T) {
	fk := New(t)
	fk.AddData(bytes.Repeat([]byte("x"), 100))

	var id struct {
		ID, PublicKey, AgentVersion string
		Addresses                   []string
	}
	if err := json.NewDecoder(post(t, fk, "/api/v0/id").Body).Decode(&id); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id.ID, "12D3KooW") || id.ID != fk.ID() || id.PublicKey == "" || len(id.Addresses) != 1 {
		t.Fatalf("id = %+v", id)
	}

	var st struct {
		RepoSize, StorageMax, NumObjects uint64
		RepoPath, Version                string
	}
	if err := json.NewDecoder(post(t, fk, "/api/v0/repo/stat").Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if st.RepoSize != 100 || st.StorageMax != defaultStorageMax || st.NumObjects != 1 || st.Version != "fs-repo@18" {
		t.Fatalf("repo/stat = %+v", st)
	}
	fk.SetRepoStat(5, 50)
	res := post(t, fk, "/api/v0/repo/stat?size-only=true")
	want := `{"RepoSize":5,"StorageMax":50,"NumObjects":0,"RepoPath":"","Version":""}` + "\n"
	if got := readBody(t, res); got != want {
		t.Fatalf("size-only = %q, want %q", got, want)
	}
}

func TestResolve(t *testing.T) {
	fk := New(t)
	c, sub := testCid(t, "dir"), testCid(t, "file")
	res := post(t, fk, "/api/v0/resolve?arg=/ipfs/"+c.String())
	if got := readBody(t, res); got != `{"Path":"/ipfs/`+c.String()+`"}`+"\n" {
		t.Fatalf("resolve = %q", got)
	}
	res = post(t, fk, "/api/v0/resolve?arg="+url.QueryEscape("/ipfs/"+c.String()+"/a/b"))
	if got := readBody(t, res); !strings.Contains(got, `no link named \"a\" under `+c.String()) {
		t.Fatalf("unknown subpath = %q", got)
	}
	fk.SetResolve("/ipfs/"+c.String()+"/a/b", sub)
	fk.SetResolve("/ipns/example.org", c)
	res = post(t, fk, "/api/v0/resolve?arg="+url.QueryEscape("/ipfs/"+c.String()+"/a/b"))
	if got := readBody(t, res); got != `{"Path":"/ipfs/`+sub.String()+`"}`+"\n" {
		t.Fatalf("subpath = %q", got)
	}
	res = post(t, fk, "/api/v0/dag/resolve?arg=/ipns/example.org")
	if got := readBody(t, res); got != `{"Cid":{"/":"`+c.String()+`"},"RemPath":""}`+"\n" {
		t.Fatalf("dag/resolve = %q", got)
	}
}

func TestDagPut(t *testing.T) {
	fk := New(t)
	body, ct := stdinBody(t, `{"hello":"world"}`)
	res := do(t, fk, http.MethodPost, "/api/v0/dag/put?pin=true", body, ct)
	var out struct{ Cid map[string]string }
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	c, err := cid.Decode(out.Cid["/"])
	if err != nil || c.Type() != cid.DagCBOR || !fk.IsPinned(c) {
		t.Fatalf("dag/put = %v %v pinned=%v", out, err, fk.IsPinned(c))
	}
}
