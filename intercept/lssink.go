package intercept

import (
	"github.com/flotilla-ipfs/flotilla/internal/jsonappend"
	"github.com/flotilla-ipfs/flotilla/internal/linewriter"
)

// lsSink receives pin ls results in order.
type lsSink interface {
	add(obj pinLsObject) error
	finish() error
	repeats() bool // whether a CID given twice is listed twice
}

// streamSink is stream=true: one NDJSON (or text) line per pin, written in
// large chunks, so that a million pins cost a few thousand writes and
// never sit in memory.
type streamSink struct {
	out   *emitter
	text  bool
	quiet bool
	lines *linewriter.Writer
	line  []byte
}

func newStreamSink(out *emitter, opts options) *streamSink {
	return &streamSink{
		out: out, text: out.text != nil, quiet: opts.flag("quiet", false),
		lines: linewriter.New(chunkedBody{out}, out.flush),
	}
}

func (s *streamSink) repeats() bool { return true }

func (s *streamSink) add(obj pinLsObject) error {
	if s.text {
		s.line = appendPinLsText(s.line[:0], s.quiet, obj)
	} else {
		s.line = appendPinLsLine(s.line[:0], obj)
	}
	_, err := s.lines.Write(s.line)
	return err
}

// finish sends the lines still gathered. With none it sends nothing, so
// that a failure before the first line can still be Kubo's error object.
func (s *streamSink) finish() error { return s.lines.Flush() }

// chunkedBody is the body of an NDJSON answer, started by its first write.
type chunkedBody struct{ e *emitter }

func (b chunkedBody) Write(p []byte) (int, error) {
	b.e.start(true)
	return b.e.w.Write(p)
}

// keysBuffer is how much of a Keys answer is held back before the status
// line goes out: a listing that fails within it still gets Kubo's 500 error
// object, a larger one reports the failure in the trailer instead.
const keysBuffer = 64 << 10

// keysSink writes Kubo's single {"Keys":{cid:{"Type":..,"Name":..},...}}
// object incrementally rather than building a Go map of the pinset. Kubo's
// Keys is omitempty, so no pins is exactly {}. Kubo sorts the keys (Go map
// encoding); here they come in pinset order, which no client relies on.
type keysSink struct {
	out   *emitter
	text  bool
	quiet bool
	buf   []byte
	n     int
}

func newKeysSink(out *emitter, opts options) *keysSink {
	return &keysSink{out: out, text: out.text != nil, quiet: opts.flag("quiet", false)}
}

func (k *keysSink) repeats() bool { return false }

func (k *keysSink) add(obj pinLsObject) error {
	if k.text {
		k.buf = appendPinLsText(k.buf, k.quiet, obj)
	} else {
		if k.n == 0 {
			k.buf = append(k.buf, `{"Keys":{`...)
		} else {
			k.buf = append(k.buf, ',')
		}
		k.buf = appendPinLsKey(k.buf, obj)
	}
	k.n++
	if len(k.buf) < keysBuffer {
		return nil
	}
	return k.flush()
}

func (k *keysSink) flush() error {
	_, err := k.out.body().Write(k.buf)
	k.buf = k.buf[:0]
	return err
}

func (k *keysSink) finish() error {
	if !k.text {
		if k.n == 0 {
			k.buf = append(k.buf, "{}\n"...)
		} else {
			k.buf = append(k.buf, "}}\n"...)
		}
	}
	return k.flush()
}

// appendPinLsLine appends Kubo's streamed line as encoding/json writes a
// pinLsObject: fields in order, each omitted when empty.
func appendPinLsLine(b []byte, obj pinLsObject) []byte {
	b = append(b, '{')
	fields := [...]struct{ key, val string }{{`"Cid":`, obj.Cid}, {`"Name":`, obj.Name}, {`"Type":`, obj.Type}}
	first := true
	for _, f := range fields {
		if f.val == "" {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, f.key...)
		b = jsonappend.String(b, f.val)
	}
	return append(b, '}', '\n')
}

// appendPinLsKey appends one entry of Kubo's Keys map: the CID, and its
// PinLsType{Type, Name}, whose Name is always present.
func appendPinLsKey(b []byte, obj pinLsObject) []byte {
	b = jsonappend.String(b, obj.Cid)
	b = append(b, `:{"Type":`...)
	b = jsonappend.String(b, obj.Type)
	b = append(b, `,"Name":`...)
	b = jsonappend.String(b, obj.Name)
	return append(b, '}')
}

// appendPinLsText appends Kubo's text line: "<cid> <type>[ <name>]", or
// the CID alone with quiet.
func appendPinLsText(b []byte, quiet bool, obj pinLsObject) []byte {
	b = append(b, obj.Cid...)
	if !quiet {
		b = append(b, ' ')
		b = append(b, obj.Type...)
		if obj.Name != "" {
			b = append(b, ' ')
			b = append(b, obj.Name...)
		}
	}
	return append(b, '\n')
}
