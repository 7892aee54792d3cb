package main

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/flotilla-ipfs/flotilla/storage"
)

// tableBlock is how many rows a table aligns at once: a listing of a large
// pinset streams out in blocks instead of waiting for its last row.
const tableBlock = 1000

// table writes rows aligned, without the trailing blanks tabwriter leaves
// after an empty last cell.
type table struct {
	w    io.Writer
	buf  bytes.Buffer
	tw   *tabwriter.Writer
	rows int
	err  error
}

func newTable(w io.Writer, headers ...string) *table {
	t := &table{w: w}
	t.tw = tabwriter.NewWriter(&t.buf, 0, 0, 2, ' ', 0)
	if len(headers) > 0 {
		t.row(headers...)
	}
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		cells[i] = cleanCell(c)
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
	if t.rows++; t.rows%tableBlock == 0 {
		t.flush()
	}
}

// flush writes the rows so far; it returns the first error of any write.
func (t *table) flush() error {
	if t.err != nil {
		return t.err
	}
	if t.err = t.tw.Flush(); t.err != nil {
		return t.err
	}
	var out strings.Builder
	for line := range strings.Lines(t.buf.String()) {
		out.WriteString(strings.TrimRight(line, " \n"))
		out.WriteByte('\n')
	}
	t.buf.Reset()
	_, t.err = io.WriteString(t.w, out.String())
	return t.err
}

// cleanCell keeps user text (pin names, errors) from breaking the layout
// or commanding the terminal: every table, and every line of the API's
// text, is printed through it.
func cleanCell(s string) string {
	return printable(strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s))
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func formatReplication(p storage.Pin) string {
	switch {
	case p.Everywhere():
		return "everywhere"
	case p.ReplicationFactorMin == p.ReplicationFactorMax:
		return fmt.Sprint(p.ReplicationFactorMin)
	}
	return fmt.Sprintf("%d..%d", p.ReplicationFactorMin, p.ReplicationFactorMax)
}

func formatMetadata(m map[string]string) string {
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		kv = append(kv, k+"="+m[k])
	}
	return strings.Join(kv, ",")
}

func formatAllocations(p storage.Pin) string {
	if len(p.Allocations) == 0 && p.Everywhere() {
		return "everywhere"
	}
	return strings.Join(p.Allocations, ",")
}
