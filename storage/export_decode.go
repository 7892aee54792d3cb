package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// InputError is a pin of an export that cannot be taken, with the line of
// the input it ends on, which is the pin's own line in ndjson.
type InputError struct {
	Line int // 1-based
	Err  error
}

func (e *InputError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

func (e *InputError) Unwrap() error { return e.Err }

// DecodeExport reads ipfs-cluster's state export (Pin objects, one after
// the other) and hands fn each pin with its type: "pin", or one of the
// sharding types, which Flotilla does not take. Each object is parsed
// once, for imports of millions of pins. An error of a pin, fn's included,
// is an *InputError.
func DecodeExport(r io.Reader, fn func(p Pin, typ string) error) error {
	lines := &lineCounter{r: r}
	dec := json.NewDecoder(lines)
	for {
		var j pinJSON
		err := dec.Decode(&j)
		if errors.Is(err, io.EOF) {
			return nil
		}
		var p Pin
		if err == nil {
			err = j.decode(&p)
		}
		if err == nil {
			err = ValidateImportedPinName(p.Name)
		}
		if err == nil {
			err = fn(p, j.Type)
		}
		if err != nil {
			return &InputError{Line: lines.lineOf(errorOffset(err, dec, lines)), Err: err}
		}
		// Counts the newlines read so far, which lineCounter then forgets.
		lines.lineOf(dec.InputOffset())
	}
}

// errorOffset is the offset of the input that err is about: a syntax error
// knows its own; an input that ends inside a pin ends on the pin's last
// line; any other error is about the pin just read, which ends before the
// decoder's offset.
func errorOffset(err error, dec *json.Decoder, lines *lineCounter) int64 {
	var syntax *json.SyntaxError
	switch {
	case errors.As(err, &syntax):
		return syntax.Offset - 1
	case errors.Is(err, io.ErrUnexpectedEOF):
		return lines.read - 1
	default:
		return dec.InputOffset() - 1
	}
}

// lineCounter notes where the newlines of what it reads are, so that the
// line of an offset the decoder has read is known. Offsets are asked in
// order, so a newline before the last one asked is counted and forgotten:
// asked after each pin, what is kept is bounded by the decoder's
// read-ahead rather than growing with the input.
type lineCounter struct {
	r        io.Reader
	read     int64   // bytes read so far
	newlines []int64 // offsets of the newlines not yet counted
	counted  int     // newlines before the last offset asked
}

func (l *lineCounter) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for i, b := range p[:n] {
		if b == '\n' {
			l.newlines = append(l.newlines, l.read+int64(i))
		}
	}
	l.read += int64(n)
	return n, err
}

// lineOf is the 1-based line of offset off, which is not before any
// offset asked earlier.
func (l *lineCounter) lineOf(off int64) int {
	for len(l.newlines) > 0 && l.newlines[0] < off {
		l.newlines = l.newlines[1:]
		l.counted++
	}
	return l.counted + 1
}
