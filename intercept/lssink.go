package intercept

import (
	"time"

	"github.com/flotilla-ipfs/flotilla/internal/jsonappend"
)

// lsSink receives pin ls results in order.
type lsSink interface {
	add(obj pinLsObject) error
	finish() error
	// idle tells the sink that the next line may be long in coming.
	idle() error
	repeats() bool // whether a CID given twice is listed twice
}

const (
	// lsChunk is how many bytes of lines a sink gathers before it writes
	// them: a million pins go out in a few thousand writes, not a million.
	lsChunk = 64 << 10
	// lsFlushEvery bounds how long a gathered line waits when lines come
	// slowly (the node's indirect pins): past it, the next line goes out
	// at once.
	lsFlushEvery = 100 * time.Millisecond
)

// streamSink is stream=true: one NDJSON (or text) line per pin, written in
// chunks as they fill, so that a million pins never sit in memory.
type streamSink struct {
	out       *emitter
	text      bool
	quiet     bool
	buf       []byte
	lastFlush time.Time
}

func newStreamSink(out *emitter, opts options) *streamSink {
	return &streamSink{out: out, text: out.text != nil, quiet: opts.flag("quiet", false), lastFlush: time.Now()}
}

func (s *streamSink) repeats() bool { return true }

func (s *streamSink) add(obj pinLsObject) error {
	if s.text {
		s.buf = appendPinLsText(s.buf, s.quiet, obj)
	} else {
		s.buf = appendPinLsLine(s.buf, obj)
	}
	if len(s.buf) < lsChunk && time.Since(s.lastFlush) < lsFlushEvery {
		return nil
	}
	return s.flush()
}

// flush sends the gathered lines. With none it sends nothing, so that a
// failure before the first line can still be Kubo's error object.
func (s *streamSink) flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	s.out.start(true)
	_, err := s.out.w.Write(s.buf)
	s.buf = s.buf[:0]
	s.lastFlush = time.Now()
	if err != nil {
		return err
	}
	return s.out.flush()
}

func (s *streamSink) finish() error { return s.flush() }
func (s *streamSink) idle() error   { return s.flush() }

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

// idle sends nothing: the status line waits until the answer is known to
// succeed or has outgrown keysBuffer.
func (k *keysSink) idle() error { return nil }

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
