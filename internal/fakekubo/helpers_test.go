package fakekubo

import (
	"bufio"
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

// testCid makes a distinct CIDv0 from a seed.
func testCid(t testing.TB, seed string) cid.Cid {
	t.Helper()
	mh, err := multihash.Sum([]byte(seed), multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return cid.NewCidV0(mh)
}

// post sends a raw request the way a Kubo client does, for wire checks.
func post(t *testing.T, fk *Fake, pathAndQuery string) *http.Response {
	t.Helper()
	return do(t, fk, http.MethodPost, pathAndQuery, nil, "")
}

func do(t *testing.T, fk *Fake, method, pathAndQuery string, body io.Reader, contentType string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, fk.URL()+pathAndQuery, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func readBody(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lines splits an NDJSON body.
func lines(t *testing.T, res *http.Response) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// stdinBody is the multipart body the ipfs CLI sends for `echo ... | ipfs pin add`.
func stdinBody(t *testing.T, content string) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, err := mw.CreateFormFile("file", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, strings.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf, mw.FormDataContentType()
}

func wantHeader(t *testing.T, res *http.Response, key, want string) {
	t.Helper()
	if got := res.Header.Get(key); got != want {
		t.Errorf("header %s = %q, want %q", key, got, want)
	}
}
