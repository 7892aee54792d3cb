package fakekubo

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
)

// Header names and values of go-ipfs-cmds' HTTP transport.
const (
	hdrStreamErr   = "X-Stream-Error"
	hdrChunked     = "X-Chunked-Output"
	hdrStream      = "X-Stream-Output"
	hdrLength      = "X-Content-Length"
	exposedHeaders = "X-Stream-Output, X-Chunked-Output, X-Content-Length"
)

// kuboError is cmds.Error on the wire.
type kuboError struct {
	Message string
	Code    int
	Type    string
}

// emitter frames one command response the way go-ipfs-cmds does: nothing is
// written until the first value, whose kind picks the framing (Single JSON,
// NDJSON, or byte stream); an error before that is a 500 JSON body, an error
// after it goes in the X-Stream-Error trailer.
type emitter struct {
	ctx     context.Context
	w       http.ResponseWriter
	rc      *http.ResponseController
	gate    *gate
	started bool
	values  int
}

func newEmitter(ctx context.Context, w http.ResponseWriter, g *gate) *emitter {
	return &emitter{ctx: ctx, w: w, rc: http.NewResponseController(w), gate: g}
}

type bodyKind int

const (
	kindSingle bodyKind = iota
	kindChunked
	kindStream
)

func (e *emitter) preamble(kind bodyKind, contentType string) {
	e.started = true
	h := e.w.Header()
	h.Set("Access-Control-Allow-Headers", exposedHeaders)
	h.Set("Access-Control-Expose-Headers", exposedHeaders)
	h.Set("Trailer", hdrStreamErr)
	ct := "application/json"
	switch kind {
	case kindChunked:
		h.Set(hdrChunked, "1")
	case kindStream:
		h.Set(hdrStream, "1")
		ct = "text/plain" // what go-ipfs-cmds sends for streams under encoding=json
	}
	if contentType != "" {
		ct = contentType
	}
	h.Set("Content-Type", ct)
	e.w.WriteHeader(http.StatusOK)
}

// single writes a Single value (cmds.EmitOnce) and closes the response.
func (e *emitter) single(v any) error {
	if !e.started {
		e.preamble(kindSingle, "")
	}
	return json.NewEncoder(e.w).Encode(v)
}

// emit writes one NDJSON value and flushes it, as Kubo does per value.
func (e *emitter) emit(v any) error {
	if !e.started {
		e.preamble(kindChunked, "")
	}
	if err := json.NewEncoder(e.w).Encode(v); err != nil {
		return err
	}
	if err := e.rc.Flush(); err != nil {
		return err
	}
	e.values++
	if e.gate != nil && e.values == e.gate.after {
		select {
		case <-e.gate.ch:
		case <-e.ctx.Done():
			return e.ctx.Err()
		}
	}
	return nil
}

// stream copies a byte stream (cat, block/get). A size >= 0 is announced in
// X-Content-Length; contentType overrides text/plain as SetContentType does.
func (e *emitter) stream(r io.Reader, size int64, contentType string) error {
	if !e.started {
		if size >= 0 {
			e.w.Header().Set(hdrLength, strconv.FormatInt(size, 10))
		}
		e.preamble(kindStream, contentType)
	}
	_, err := io.Copy(e.w, r)
	return err
}

// finish ends the response: an empty NDJSON body when nothing was emitted
// (Kubo's framing for "no values"), or err in the form the response's state
// allows.
func (e *emitter) finish(err error) {
	switch {
	case err == nil && !e.started:
		e.preamble(kindChunked, "")
	case err == nil:
	case !e.started:
		e.fail(err)
	default:
		e.w.Header().Set(hdrStreamErr, err.Error())
	}
}

// fail answers a command error before any output: 500 and Kubo's error JSON.
func (e *emitter) fail(err error) {
	e.started = true
	h := e.w.Header()
	h.Set("Access-Control-Allow-Headers", exposedHeaders)
	h.Set("Access-Control-Expose-Headers", exposedHeaders)
	h.Set("Trailer", hdrStreamErr)
	h.Set("Content-Type", "application/json")
	e.w.WriteHeader(http.StatusInternalServerError)
	_ = json.NewEncoder(e.w).Encode(kuboError{Message: err.Error(), Code: 0, Type: "error"})
}
