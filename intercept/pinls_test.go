package intercept

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/flotilla-ipfs/flotilla/storage"
)

func TestPinLsEmptyIsExactlyBraces(t *testing.T) {
	h := newTestHandlers(t, newFakeCluster(), nil, "", true)
	res := post(t, h, "/api/v0/pin/ls", nil)
	checkGolden(t, res, 200, kuboHeaders(), "{}\n")
}

func TestPinLsKeysShape(t *testing.T) {
	a, b := testCid(1), testCid(2)
	f := newFakeCluster(recursivePin(a, "alpha"), directPin(b, "beta"))
	h := newTestHandlers(t, f, nil, "", true)

	res := post(t, h, "/api/v0/pin/ls", nil)
	want := fmt.Sprintf(`{"Keys":{"%s":{"Type":"recursive","Name":""},"%s":{"Type":"direct","Name":""}}}`+"\n", a, b)
	checkGolden(t, res, 200, kuboHeaders(), want)

	res = post(t, h, "/api/v0/pin/ls?names=true", nil)
	want = fmt.Sprintf(`{"Keys":{"%s":{"Type":"recursive","Name":"alpha"},"%s":{"Type":"direct","Name":"beta"}}}`+"\n", a, b)
	checkGolden(t, res, 200, kuboHeaders(), want)
}

func TestPinLsStream(t *testing.T) {
	a, b := testCid(1), testCid(2)
	f := newFakeCluster(recursivePin(a, "alpha"), directPin(b, ""))
	h := newTestHandlers(t, f, nil, "", true)

	res := post(t, h, "/api/v0/pin/ls?stream=true&names=true", nil)
	want := fmt.Sprintf("{\"Cid\":\"%s\",\"Name\":\"alpha\",\"Type\":\"recursive\"}\n{\"Cid\":\"%s\",\"Type\":\"direct\"}\n", a, b)
	checkGolden(t, res, 200, kuboHeaders("X-Chunked-Output: 1"), want)

	// Without names, Name is omitted; s is the alias of stream.
	res = post(t, h, "/api/v0/pin/ls?s", nil)
	want = fmt.Sprintf("{\"Cid\":\"%s\",\"Type\":\"recursive\"}\n{\"Cid\":\"%s\",\"Type\":\"direct\"}\n", a, b)
	checkGolden(t, res, 200, kuboHeaders("X-Chunked-Output: 1"), want)
}

func TestPinLsStreamEmptyHasEmptyBody(t *testing.T) {
	h := newTestHandlers(t, newFakeCluster(), nil, "", true)
	res := post(t, h, "/api/v0/pin/ls?stream=true", nil)
	checkGolden(t, res, 200, kuboHeaders("X-Chunked-Output: 1"), "")
}

func TestPinLsFilters(t *testing.T) {
	a, b, c := testCid(1), testCid(2), testCid(3)
	f := newFakeCluster(recursivePin(a, "photos-2024"), directPin(b, "photos-2023"), recursivePin(c, "docs"))
	h := newTestHandlers(t, f, nil, "", true)
	cases := []struct{ query, want string }{
		{"type=recursive", fmt.Sprintf("%s recursive\n%s recursive\n", a, c)},
		{"t=direct", fmt.Sprintf("%s direct\n", b)},
		{"type=indirect", ""},
		// name filters by substring and implies names.
		{"name=photos", fmt.Sprintf("%s recursive photos-2024\n%s direct photos-2023\n", a, b)},
		{"n=2024&type=direct", ""},
		{"quiet=true&type=recursive", fmt.Sprintf("%s\n%s\n", a, c)},
	}
	for _, tc := range cases {
		res := post(t, h, "/api/v0/pin/ls?stream=true&encoding=text&"+tc.query, nil)
		if got := readBody(t, res); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.query, got, tc.want)
		}
		if ct := res.Header.Get("Content-Type"); ct != "text/plain" {
			t.Errorf("%s: Content-Type %q", tc.query, ct)
		}
	}
	// Indirect without stream is the empty object.
	res := post(t, h, "/api/v0/pin/ls?type=indirect", nil)
	checkGolden(t, res, 200, kuboHeaders(), "{}\n")
}

func TestPinLsInvalidType(t *testing.T) {
	h := newTestHandlers(t, newFakeCluster(), nil, "", true)
	res := post(t, h, "/api/v0/pin/ls?type=bogus", nil)
	checkGolden(t, res, 500, kuboHeaders(),
		`{"Message":"invalid type 'bogus', must be one of {direct, indirect, recursive, all}","Code":0,"Type":"error"}`+"\n")
}

func TestPinLsArgs(t *testing.T) {
	a, b := testCid(1), testCid(2)
	f := newFakeCluster(recursivePin(a, "alpha"), directPin(b, "beta"))
	r := &fakeResolver{}
	h := newTestHandlers(t, f, r, "", true)

	// The Go client's IsPinned form.
	res := post(t, h, "/api/v0/pin/ls?arg="+url.QueryEscape("/ipfs/"+a.String())+"&type=all", nil)
	checkGolden(t, res, 200, kuboHeaders(), fmt.Sprintf(`{"Keys":{"%s":{"Type":"recursive","Name":""}}}`+"\n", a))

	// The path-segment form, with names.
	res = post(t, h, "/api/v0/pin/ls/"+b.String()+"?names=1", nil)
	checkGolden(t, res, 200, kuboHeaders(), fmt.Sprintf(`{"Keys":{"%s":{"Type":"direct","Name":"beta"}}}`+"\n", b))

	// Not pinned: the argument is quoted as given.
	missing := "/ipfs/" + testCid(9).String()
	res = post(t, h, "/api/v0/pin/ls?arg="+url.QueryEscape(missing), nil)
	checkGolden(t, res, 500, kuboHeaders(),
		fmt.Sprintf(`{"Message":"path '%s' is not pinned","Code":0,"Type":"error"}`+"\n", missing))

	// Pinned, but not as the requested type.
	res = post(t, h, "/api/v0/pin/ls?type=direct&arg="+a.String(), nil)
	checkGolden(t, res, 500, kuboHeaders(),
		fmt.Sprintf(`{"Message":"path '%s' is not pinned","Code":0,"Type":"error"}`+"\n", a))

	// Streaming: lines before the failing argument are sent, the failure
	// goes in the trailer.
	res = post(t, h, "/api/v0/pin/ls?stream=true&arg="+a.String()+"&arg="+testCid(9).String(), nil)
	body := readBody(t, res)
	if want := fmt.Sprintf("{\"Cid\":\"%s\",\"Type\":\"recursive\"}\n", a); body != want {
		t.Errorf("body %q, want %q", body, want)
	}
	if got := res.Trailer.Get("X-Stream-Error"); got != fmt.Sprintf("path '%s' is not pinned", testCid(9)) {
		t.Errorf("trailer %q", got)
	}
	if len(r.calls) != 0 {
		t.Errorf("bare CIDs went to the resolver: %v", r.calls)
	}
}

func TestPinLsCidBase(t *testing.T) {
	a := testCid(1)
	h := newTestHandlers(t, newFakeCluster(recursivePin(a, "")), nil, "", true)
	res := post(t, h, "/api/v0/pin/ls?stream=true&cid-base=base32", nil)
	body := readBody(t, res)
	v1 := "bafybei"
	if !strings.HasPrefix(body, `{"Cid":"`+v1) {
		t.Errorf("CIDv0 not upgraded to base32 v1: %q", body)
	}
	res = post(t, h, "/api/v0/pin/ls?cid-base=nope", nil)
	if res.StatusCode != 500 || !strings.Contains(readBody(t, res), `"Type":"error"`) {
		t.Errorf("bad cid-base: status %d", res.StatusCode)
	}
}

func TestPinLsListErrors(t *testing.T) {
	a, b := testCid(1), testCid(2)
	f := newFakeCluster(recursivePin(a, ""), recursivePin(b, ""))
	f.FailList(errNoLeader, 1)
	h := newTestHandlers(t, f, nil, "", true)

	// Small non-streamed answers are still held back: Kubo's 500.
	res := post(t, h, "/api/v0/pin/ls", nil)
	checkGolden(t, res, 500, kuboHeaders(), `{"Message":"no leader","Code":0,"Type":"error"}`+"\n")

	// Streamed: the line before the failure, then the trailer.
	res = post(t, h, "/api/v0/pin/ls?stream=true", nil)
	if body := readBody(t, res); body != fmt.Sprintf("{\"Cid\":\"%s\",\"Type\":\"recursive\"}\n", a) {
		t.Errorf("body %q", body)
	}
	if res.StatusCode != 200 || res.Trailer.Get("X-Stream-Error") != "no leader" {
		t.Errorf("status %d trailer %q", res.StatusCode, res.Trailer.Get("X-Stream-Error"))
	}

	// A stream that fails before its first line still answers 200 with the
	// trailer, which client/rpc handles (it panics on an error status).
	f.FailList(errNoLeader, 0)
	res = post(t, h, "/api/v0/pin/ls?stream=true", nil)
	if body := readBody(t, res); res.StatusCode != 200 || body != "" || res.Trailer.Get("X-Stream-Error") != "no leader" {
		t.Errorf("status %d body %q trailer %q", res.StatusCode, body, res.Trailer.Get("X-Stream-Error"))
	}
}

func TestPinLsLargeKeysStreamsAndReportsLateErrorsInTrailer(t *testing.T) {
	var pins []storage.Pin
	for i := range 3000 {
		pins = append(pins, recursivePin(testCid(i), ""))
	}
	f := newFakeCluster(pins...)
	f.FailList(errors.New("state read failed"), 2500)
	h := newTestHandlers(t, f, nil, "", true)
	res := post(t, h, "/api/v0/pin/ls", nil)
	body := readBody(t, res)
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	if !strings.HasPrefix(body, `{"Keys":{`) || strings.HasSuffix(body, "}}\n") {
		t.Errorf("want a truncated Keys object, got %d bytes ending %q", len(body), body[len(body)-20:])
	}
	if got := res.Trailer.Get("X-Stream-Error"); got != "state read failed" {
		t.Errorf("trailer %q", got)
	}
}

func TestPinLsTextKeys(t *testing.T) {
	a := testCid(1)
	h := newTestHandlers(t, newFakeCluster(recursivePin(a, "x")), nil, "", true)
	res := post(t, h, "/api/v0/pin/ls?encoding=text&names=true", nil)
	want := strings.Replace(kuboHeaders(), "application/json", "text/plain", 1)
	checkGolden(t, res, 200, want, fmt.Sprintf("%s recursive x\n", a))
}

func TestPinLsOptionErrors(t *testing.T) {
	h := newTestHandlers(t, newFakeCluster(), nil, "", true)
	cases := []struct{ query, want string }{
		{"stream=maybe", `could not convert value "maybe" to type "bool" (for option "-stream")` + "\n"},
		{"s=maybe", `could not convert value "maybe" to type "bool" (for option "-stream")` + "\n"},
		{"type=all&type=direct", "expected key type to have only a single value, received [all direct]\n"},
		{"encoding=xml", "invalid encoding: xml\n"},
	}
	for _, tc := range cases {
		res := post(t, h, "/api/v0/pin/ls?"+tc.query, nil)
		body := readBody(t, res)
		if res.StatusCode != http.StatusBadRequest || body != tc.want {
			t.Errorf("%s: %d %q, want 400 %q", tc.query, res.StatusCode, body, tc.want)
		}
		if ct := res.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", tc.query, ct)
		}
	}
	// Unknown keys are ignored, and an invalid timeout is Kubo's empty 200.
	res := post(t, h, "/api/v0/pin/ls?metadata=&stream-channels=true", nil)
	if body := readBody(t, res); res.StatusCode != 200 || body != "{}\n" {
		t.Errorf("unknown keys: %d %q", res.StatusCode, body)
	}
	res = post(t, h, "/api/v0/pin/ls?timeout=abc", nil)
	if body := readBody(t, res); res.StatusCode != 200 || body != "" || res.Header.Get("Content-Type") != "" {
		t.Errorf("bad timeout: %d %q %v", res.StatusCode, body, res.Header)
	}
}
