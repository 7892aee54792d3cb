package intercept

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Headers and values of go-ipfs-cmds' HTTP response emitter.
const (
	hdrStreamError  = "X-Stream-Error"
	hdrChunked      = "X-Chunked-Output"
	exposedHeaders  = "X-Stream-Output, X-Chunked-Output, X-Content-Length"
	mimeJSON        = "application/json"
	mimeText        = "text/plain"
	encodingJSON    = "json"
	encodingText    = "text"
	defaultEncoding = encodingJSON
)

// textEncoder renders one output value the way the command's Kubo Text
// encoder does; some depend on the request's options.
type textEncoder func(o options, w io.Writer, v any) error

// emitter frames a command's answer as go-ipfs-cmds does. The first value
// decides the framing: a single value, or NDJSON (X-Chunked-Output) that may
// be empty. An error before any output is a 500 error object; after output it
// goes in the X-Stream-Error trailer, announced up front.
type emitter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	server  string
	text    func(w io.Writer, v any) error // nil for JSON
	started bool
}

func (h *Handlers) newEmitter(w http.ResponseWriter, encoding string, opts options, text textEncoder) *emitter {
	e := &emitter{w: w, rc: http.NewResponseController(w), server: h.serverHeader()}
	if encoding == encodingText && text != nil {
		e.text = func(w io.Writer, v any) error { return text(opts, w, v) }
	}
	return e
}

// commonHeaders are on every command answer, success or error.
func (e *emitter) commonHeaders() {
	hd := e.w.Header()
	hd.Set("Access-Control-Allow-Headers", exposedHeaders)
	hd.Set("Access-Control-Expose-Headers", exposedHeaders)
	hd.Set("Trailer", hdrStreamError)
	hd.Set("Server", e.server)
	addVary(hd, "Origin")
	if e.text != nil {
		hd.Set("Content-Type", mimeText)
	} else {
		hd.Set("Content-Type", mimeJSON)
	}
}

// addVary adds a Vary token once; the proxy's CORS layer may have set it.
func addVary(hd http.Header, token string) {
	for _, v := range hd.Values("Vary") {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return
			}
		}
	}
	hd.Add("Vary", token)
}

func (e *emitter) start(chunked bool) {
	if e.started {
		return
	}
	e.started = true
	e.commonHeaders()
	if chunked {
		e.w.Header().Set(hdrChunked, "1")
	}
	e.w.WriteHeader(http.StatusOK)
}

func (e *emitter) encode(v any) error {
	if e.text != nil {
		return e.text(e.w, v)
	}
	// json.Encoder: compact, HTML-escaped, newline-terminated, as Kubo.
	return json.NewEncoder(e.w).Encode(v)
}

// once answers with a single value (cmds.EmitOnce).
func (e *emitter) once(v any) error {
	e.start(false)
	return e.encode(v)
}

// emit sends one NDJSON value and flushes it, so that progress and streamed
// listings reach the client as they happen.
func (e *emitter) emit(v any) error {
	e.start(true)
	if err := e.encode(v); err != nil {
		return err
	}
	return e.flush()
}

func (e *emitter) flush() error {
	err := e.rc.Flush()
	if err == http.ErrNotSupported {
		return nil
	}
	return err
}

// body starts a single-value answer whose bytes the caller writes itself.
func (e *emitter) body() io.Writer {
	e.start(false)
	return e.w
}

// fail reports err as Kubo does: an error object before output, the trailer
// after it.
func (e *emitter) fail(err error) {
	if e.started {
		e.w.Header().Set(hdrStreamError, err.Error())
		return
	}
	e.started = true
	writeError(e.w, e.text != nil, e.server, err)
}

// close ends an answer; with nothing emitted Kubo still sends an empty
// NDJSON stream.
func (e *emitter) close() {
	e.start(true)
}

// writeError is writeErrorBody for err: a clientError is Kubo's 400 with
// Code 1, anything else its 500.
func writeError(w http.ResponseWriter, text bool, server string, err error) {
	var client clientError
	if errors.As(err, &client) {
		writeErrorStatus(w, text, server, http.StatusBadRequest, cmdsErrClient, err.Error())
		return
	}
	writeErrorBody(w, text, server, err.Error())
}

// cmdsErrClient is go-ipfs-cmds' ErrClient, the Code of a 400 error object.
const cmdsErrClient = 1

// writeErrorBody writes a Kubo error before any output: 500 with the common
// headers and {"Message":..,"Code":0,"Type":"error"}, or the bare message
// as text/plain for encoding=text.
func writeErrorBody(w http.ResponseWriter, text bool, server, msg string) {
	writeErrorStatus(w, text, server, http.StatusInternalServerError, 0, msg)
}

func writeErrorStatus(w http.ResponseWriter, text bool, server string, status, code int, msg string) {
	e := &emitter{w: w, server: server}
	if text {
		e.text = func(io.Writer, any) error { return nil }
	}
	e.commonHeaders()
	w.WriteHeader(status)
	if text {
		fmt.Fprint(w, msg)
		return
	}
	_, _ = w.Write(kuboErrorJSON(msg, code))
}

// KuboErrorJSON is Kubo's error object carrying msg,
// {"Message":..,"Code":0,"Type":"error"}, as its clients decode it.
func KuboErrorJSON(msg string) []byte { return kuboErrorJSON(msg, 0) }

func kuboErrorJSON(msg string, code int) []byte {
	b, _ := json.Marshal(struct {
		Message string
		Code    int
		Type    string
	}{msg, code, "error"})
	return append(b, '\n')
}

// WriteError answers r with a Kubo error object (500) carrying msg, in the
// request's encoding. The proxy uses it for failures of its own, so that
// clients decode them like any Kubo error.
func WriteError(w http.ResponseWriter, r *http.Request, msg string) {
	text := strings.EqualFold(requestEncoding(r), encodingText)
	writeErrorBody(w, text, fallbackServer(), msg)
}

// requestEncoding reads encoding/enc without failing: for error answers only.
func requestEncoding(r *http.Request) string {
	q := r.URL.Query()
	if v := q.Get("encoding"); v != "" {
		return v
	}
	if v := q.Get("enc"); v != "" {
		return v
	}
	return defaultEncoding
}
