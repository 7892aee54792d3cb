package intercept

import (
	"bytes"
	"encoding/json"
)

// lsSink receives pin ls results in order.
type lsSink interface {
	add(obj pinLsObject) error
	finish() error
	repeats() bool // whether a CID given twice is listed twice
}

// streamSink is stream=true: one NDJSON (or text) line per pin, flushed as
// it comes, so that a million pins never sit in memory.
type streamSink struct{ out *emitter }

func (s *streamSink) add(obj pinLsObject) error { return s.out.emit(obj) }
func (s *streamSink) finish() error             { return nil }
func (s *streamSink) repeats() bool             { return true }

// keysBuffer is how much of a Keys answer is held back before the status
// line goes out: a listing that fails within it still gets Kubo's 500 error
// object, a larger one reports the failure in the trailer instead.
const keysBuffer = 64 << 10

// keysSink writes Kubo's single {"Keys":{cid:{"Type":..,"Name":..},...}}
// object incrementally rather than building a Go map of the pinset. Kubo's
// Keys is omitempty, so no pins is exactly {}. Kubo sorts the keys (Go map
// encoding); here they come in pinset order, which no client relies on.
type keysSink struct {
	out  *emitter
	text bool
	opts options
	buf  bytes.Buffer
	n    int
}

func (k *keysSink) repeats() bool { return false }

func (k *keysSink) add(obj pinLsObject) error {
	if k.text {
		if err := textPinLs(k.opts, &k.buf, obj); err != nil {
			return err
		}
	} else {
		if k.n == 0 {
			k.buf.WriteString(`{"Keys":{`)
		} else {
			k.buf.WriteByte(',')
		}
		key, err := json.Marshal(obj.Cid)
		if err != nil {
			return err
		}
		val, err := json.Marshal(pinLsType{Type: obj.Type, Name: obj.Name})
		if err != nil {
			return err
		}
		k.buf.Write(key)
		k.buf.WriteByte(':')
		k.buf.Write(val)
	}
	k.n++
	if k.buf.Len() < keysBuffer {
		return nil
	}
	return k.flush()
}

func (k *keysSink) flush() error {
	_, err := k.out.body().Write(k.buf.Bytes())
	k.buf.Reset()
	return err
}

func (k *keysSink) finish() error {
	if !k.text {
		if k.n == 0 {
			k.buf.WriteString("{}\n")
		} else {
			k.buf.WriteString("}}\n")
		}
	}
	return k.flush()
}
