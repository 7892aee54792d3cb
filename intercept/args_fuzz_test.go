package intercept

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// argsRequest is a pin/add request as the handlers receive it. It is built
// by hand because httptest.NewRequest panics on a query it cannot parse.
func argsRequest(rawQuery, contentType string, body []byte) *http.Request {
	r := &http.Request{
		Method: http.MethodPost,
		URL:    &url.URL{Path: "/api/v0/pin/add", RawQuery: rawQuery},
		Header: http.Header{},
		Body:   io.NopCloser(bytes.NewReader(body)),
	}
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

// FuzzPositionalArgs feeds any query, content type and body to the argument
// parsing of a stdin-enabled command. Nothing may panic, errors of the query
// are usage errors (400), and the body's arguments are bounded by the body:
// no more bytes than it holds, no more lines than its newlines plus one.
func FuzzPositionalArgs(f *testing.F) {
	a, b := testCid(1).String(), rawCid("b").String()
	body, ct := cliStdinBody(f, a+"\n"+b+"\r\n")
	f.Add("arg="+a+"&recursive=true&encoding=json", ct, body.Bytes())
	f.Add("arg="+a+"&arg="+b+"&replication=3&replication-max=0x5", "", []byte(nil))
	f.Add("arg=%zz&timeout=1s;x", "multipart/form-data", []byte("--x\r\n"))
	f.Add("recursive=maybe&r=true", "", []byte(nil))
	f.Add("r=1", "multipart/form-data; boundary=x", []byte("--x\r\n\r\nQm\n\n--x--\r\n"))
	f.Add("name=a&name=b&n=c", "multipart/form-data; boundary=x", []byte("--x--\r\n"))
	body, ct = cliStdinBody(f, "")
	f.Add("", ct, body.Bytes())
	f.Fuzz(func(t *testing.T, rawQuery, contentType string, body []byte) {
		r := argsRequest(rawQuery, contentType, body)
		qargs, _, err := parseQuery(r.URL.Query(), globalOpts, commands["pin/add"].opts)
		if err != nil {
			var ue usageError
			if !errors.As(err, &ue) {
				t.Fatalf("query error %v (%T) is not a usage error", err, err)
			}
			return
		}
		if want := r.URL.Query()["arg"]; !slices.Equal(qargs, want) {
			t.Fatalf("query args %q, want %q", qargs, want)
		}
		pathArg := "path"
		args, err := positionalArgs(r, &pathArg, qargs, true)
		if err != nil {
			return
		}
		if len(args) < 1+len(qargs) || args[0] != pathArg || !slices.Equal(args[1:1+len(qargs)], qargs) {
			t.Fatalf("args %q do not start with the path and query args %q", args, qargs)
		}
		stdin := args[1+len(qargs):]
		n := 0
		for _, s := range stdin {
			n += len(s)
		}
		if n > len(body) || len(stdin) > bytes.Count(body, []byte("\n"))+1 {
			t.Fatalf("%d args of %d bytes from a body of %d bytes", len(stdin), n, len(body))
		}
	})
}

// FuzzStdinArgs builds the request `ipfs pin add` sends for random
// arguments: a path argument, arg query keys, and a multipart stdin part
// with one argument per line. The parsed arguments must be those, in order.
func FuzzStdinArgs(f *testing.F) {
	f.Add("QmPath", "a\x00b", "c\nd", false, false)
	f.Add("", "", "", true, true)
	f.Add("/ipfs/x/y", "=&;?#%", "x\r\ny\r", true, true)
	f.Add("p", "\xff", "\r\n\n\r\r", false, true)
	f.Add("p", "", "one\ntwo\n", true, false)
	f.Fuzz(func(t *testing.T, pathArg, query, stdin string, crlf, unterminated bool) {
		var qargs []string
		if query != "" {
			qargs = strings.Split(query, "\x00")
		}
		lines := strings.Split(stdin, "\n")
		eol := "\n"
		if crlf {
			eol = "\r\n"
		}
		var text strings.Builder
		for i, l := range lines {
			if !crlf {
				// A line that ends in CR and then LF reads as a CRLF line.
				l = strings.TrimRight(l, "\r")
				lines[i] = l
			}
			text.WriteString(l)
			// The last line may end without a newline, unless it is empty:
			// nothing would be left of it.
			if i < len(lines)-1 || !unterminated || l == "" {
				text.WriteString(eol)
			}
		}
		body, ct := cliStdinBody(t, text.String())
		rawQuery := ""
		if qargs != nil {
			rawQuery = url.Values{"arg": qargs}.Encode()
		}
		r := argsRequest(rawQuery, ct, body.Bytes())
		got, _, err := parseQuery(r.URL.Query(), globalOpts, commands["pin/add"].opts)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, qargs) {
			t.Fatalf("query args %q, want %q", got, qargs)
		}
		args, err := positionalArgs(r, &pathArg, got, true)
		if err != nil {
			t.Fatal(err)
		}
		want := append(append([]string{pathArg}, qargs...), lines...)
		if !slices.Equal(args, want) {
			t.Fatalf("args %q, want %q (body %q)", args, want, text.String())
		}
	})
}

// A body of bare newlines is bounded by what its arguments cost in memory,
// not by its bytes alone: 16 bytes of string header each.
func TestStdinArgsOfBareNewlinesAreBounded(t *testing.T) {
	lines := maxStdinArgs/argOverhead + 1
	if _, err := readArgLines(strings.NewReader(strings.Repeat("\n", lines)), nil); err == nil {
		t.Fatalf("%d empty arguments (%d MiB of string headers) were read into memory", lines, lines*argOverhead>>20)
	}
	cids := strings.Repeat("bafkreignezrbkttno2zlfojoodamvq6m6u2ptn2oww4jqgpmkciihuakka\n", 1000)
	if args, err := readArgLines(strings.NewReader(cids), nil); err != nil || len(args) != 1000 {
		t.Fatalf("a thousand CIDs: %d, %v", len(args), err)
	}
}

// The bound is on memory, as maxStdinArgs says: a body of arguments that
// costs the limit by its count (bytes, and argOverhead each) allocates no
// more than 1.1 times the limit while it is parsed, whatever the length of
// its lines, and one line more is refused. Reading a line at a time cost
// about 100 bytes per short argument, so a body under the old count of 16
// allocated over five times the limit.
func TestStdinArgsAtTheLimitAllocateAboutTheLimit(t *testing.T) {
	for _, line := range []string{"\n", "x\n", testCid(1).String() + "\n"} {
		n := maxStdinArgs / (len(line) + argOverhead)
		text := strings.Repeat(line, n)
		body, ct := cliStdinBody(t, text)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		args, err := positionalArgs(argsRequest("", ct, body.Bytes()), nil, nil, true)
		runtime.ReadMemStats(&after)
		if err != nil || len(args) != n {
			t.Fatalf("%d lines of %q: %d args, %v", n, line, len(args), err)
		}
		allocated := after.TotalAlloc - before.TotalAlloc
		if limit := uint64(maxStdinArgs * 11 / 10); allocated > limit {
			t.Errorf("%d lines of %q (%d MiB) allocated %d MiB to parse, %.1f times the bound of %d MiB (%.0f bytes per argument)",
				n, line, len(text)>>20, allocated>>20, float64(allocated)/maxStdinArgs, maxStdinArgs>>20, float64(allocated)/float64(n))
		}
		body, ct = cliStdinBody(t, text+line)
		if _, err := positionalArgs(argsRequest("", ct, body.Bytes()), nil, nil, true); err == nil {
			t.Errorf("%d lines of %q, one over the bound, were taken", n+1, line)
		}
	}
}
