package intercept

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
)

// dirUpload is the CLI's upload of sk/{a.txt, empty/, sub/b.txt}: sub has
// no part of its own, as boxo allows.
func dirUpload(t *testing.T) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range []struct{ name, ct, data string }{
		{"sk", "application/x-directory", ""},
		{"sk%2Fa.txt", "application/octet-stream", "hello\n"},
		{"sk%2Fempty", "application/x-directory", ""},
		{"sk%2Fsub%2Fb.txt", "application/octet-stream", "world\n"},
	} {
		part, err := mw.CreatePart(map[string][]string{
			"Content-Disposition": {fmt.Sprintf(`form-data; name="file"; filename="%s"`, p.name)},
			"Content-Type":        {p.ct},
		})
		if err != nil {
			t.Fatal(err)
		}
		part.Write([]byte(p.data))
	}
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

// Kubo's add?silent=true mutes the lines of files only: its directories and
// progress lines still come (seen on Kubo 0.42). The proxy asks without
// silent, to learn the files' CIDs, and answers what Kubo would.
func TestAddSilentAnswersKubosDirectoryAndProgressLines(t *testing.T) {
	a, b, empty, sub, sk := testCid(1), testCid(2), testCid(3), testCid(4), testCid(5)
	progress := `{"Name":"sk/a.txt","Bytes":6}`
	emptyLine := fmt.Sprintf(`{"Name":"sk/empty","Hash":"%s","Size":"4"}`, empty)
	subLine := fmt.Sprintf(`{"Name":"sk/sub","Hash":"%s","Size":"62"}`, sub)
	skLine := fmt.Sprintf(`{"Name":"sk","Hash":"%s","Size":"180"}`, sk)
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if strings.Contains(r.URL.RawQuery, "silent") {
			t.Errorf("silent reached the upstream: %q", r.URL.RawQuery)
		}
		kuboStream(w, progress,
			fmt.Sprintf(`{"Name":"sk/a.txt","Hash":"%s","Size":"14"}`, a),
			fmt.Sprintf(`{"Name":"sk/sub/b.txt","Hash":"%s","Size":"14"}`, b),
			emptyLine, subLine, skLine)
	})
	f := newFakeCluster()
	srv := serveThrough(t, newTestHandlers(t, f, nil, up.srv.URL, true))
	body, ct := dirUpload(t)
	res, got := postReal(t, srv.URL+"/api/v0/add?silent=true&progress=true", ct, body)
	if want := joinLines([]string{progress, emptyLine, subLine, skLine}); res.StatusCode != 200 || got != want {
		t.Errorf("client got %d\n%s\nwant Kubo's\n%s", res.StatusCode, got, want)
	}
	if _, ok := f.Stored(sk); !ok {
		t.Errorf("root not pinned: %v", f.Calls())
	}
	if c := up.lastCall(t); !bytes.Equal(c.body, body) {
		t.Error("upstream body differs from the upload")
	}

	// A file alone prints nothing but -w's wrapper.
	wrapper := testCid(6)
	up.respond = func(w http.ResponseWriter, r *http.Request, _ []byte) {
		kuboStream(w, fmt.Sprintf(`{"Name":"a.txt","Hash":"%s","Size":"9"}`, a),
			fmt.Sprintf(`{"Name":"","Hash":"%s","Size":"60"}`, wrapper))
	}
	body, ct = addBody(t)
	_, got = postReal(t, srv.URL+"/api/v0/add?silent=true&w=true", ct, body)
	if want := fmt.Sprintf(`{"Name":"","Hash":"%s","Size":"60"}`+"\n", wrapper); got != want {
		t.Errorf("silent -w: client got %q, want %q", got, want)
	}
}
