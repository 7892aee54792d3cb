package main

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// printable is s as text a terminal shows rather than obeys: anyone who
// may write a pin chooses its name and metadata, and a peer's name and
// errors come from afar, so an ESC or BEL in them would set the operator's
// title or colours, and a bidi override would hide text. Those runes are
// written as Go escapes (\x1b, \a, \u202e); newlines and tabs, which a
// caller lays out itself, and every other rune (accents, CJK) stay as
// they are.
func printable(s string) string {
	if strings.IndexFunc(s, obeyed) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if !obeyed(r) {
			b.WriteRune(r)
			continue
		}
		q := strconv.QuoteRune(r)
		b.WriteString(q[1 : len(q)-1])
	}
	return b.String()
}

// obeyed says whether a terminal acts on r rather than showing it: the
// control characters but newline and tab, the bidi controls, and the
// line and paragraph separators.
func obeyed(r rune) bool {
	if r == '\n' || r == '\t' {
		return false
	}
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029'
}

// jsonPrintable writes the bidi controls of a JSON text as \u escapes,
// which mean the same rune to a JSON reader; the API escapes the control
// characters already. Outside strings JSON has only ASCII, so no rune
// replaced was anything but string content.
func jsonPrintable(js []byte) []byte {
	if bytes.IndexFunc(js, obeyed) < 0 {
		return js
	}
	out := make([]byte, 0, len(js)+16)
	for len(js) > 0 {
		r, size := utf8.DecodeRune(js)
		if r >= utf8.RuneSelf && obeyed(r) {
			out = fmt.Appendf(out, `\u%04x`, r)
		} else {
			out = append(out, js[:size]...)
		}
		js = js[size:]
	}
	return out
}
