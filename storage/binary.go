package storage

import (
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/ipfs/go-cid"
)

// The binary layout shared by commands and stored values: uvarint lengths and
// counts, zigzag varints for signed numbers, raw CID bytes. Optional values
// are announced by a flags word so that nil and empty stay distinct without
// spending a byte on each.

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendCid(b []byte, c cid.Cid) []byte {
	return appendString(b, c.KeyString())
}

func appendStrings(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = appendString(b, s)
	}
	return b
}

// appendStringMap writes keys in sorted order so that every peer stores the
// same bytes for the same value.
func appendStringMap(b []byte, m map[string]string) []byte {
	b = binary.AppendUvarint(b, uint64(len(m)))
	var small [8]string // metadata maps are small: sort them without allocating
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b = appendString(b, k)
		b = appendString(b, m[k])
	}
	return b
}

// appendTime keeps the instant to the nanosecond. The location is not kept:
// decoded times are UTC, which is what every peer writes anyway.
func appendTime(b []byte, t time.Time) []byte {
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

// decoder reads the layout above. Its error is sticky, so callers check it
// once at the end instead of after every field, and every read is bounds
// checked against what is left, so garbage can neither panic nor make it
// allocate more than the input's size.
type decoder struct {
	b       []byte
	err     error
	corrupt error // the sentinel that wraps every failure

	// arena, when set, is a copy of the whole input that b is a suffix of.
	// Strings are then cut from it instead of copied one by one: one
	// allocation per stored pin instead of one per name, allocation, and
	// metadata entry. Only worth it when the input is one small value, since
	// any string kept alive keeps the whole arena alive.
	arena string
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", d.corrupt, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail("unexpected end of data")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int() int {
	v := d.varint()
	if int64(int(v)) != v {
		d.fail("integer %d out of range", v)
		return 0
	}
	return int(v)
}

// count reads an element count. Every element takes at least minSize bytes,
// which bounds the count by the input left and so bounds allocations.
func (d *decoder) count(minSize int) int {
	n := d.uvarint()
	if d.err != nil {
		return 0
	}
	if n > uint64(len(d.b)/minSize) {
		d.fail("count %d exceeds remaining %d bytes", n, len(d.b))
		return 0
	}
	return int(n)
}

// raw returns a length-prefixed run of bytes without copying: callers must
// copy before keeping it.
func (d *decoder) raw() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("length %d exceeds remaining %d bytes", n, len(d.b))
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

// string copies, so that no decoded value aliases the input (which may be a
// bbolt mmap that vanishes when the transaction ends).
func (d *decoder) string() string {
	r := d.raw()
	if d.arena == "" || len(r) == 0 {
		return string(r)
	}
	end := len(d.arena) - len(d.b)
	return d.arena[end-len(r) : end]
}

func (d *decoder) cid() cid.Cid {
	b := d.raw()
	if d.err != nil || len(b) == 0 {
		return cid.Undef
	}
	c, err := cid.Cast(b) // copies
	if err != nil {
		d.fail("cid: %v", err)
		return cid.Undef
	}
	return c
}

func (d *decoder) strings() []string {
	n := d.count(1)
	if d.err != nil {
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = d.string()
	}
	return ss
}

func (d *decoder) stringMap() map[string]string {
	n := d.count(2)
	if d.err != nil {
		return nil
	}
	m := make(map[string]string, n)
	for range n {
		k := d.string()
		m[k] = d.string()
	}
	return m
}

func (d *decoder) time() time.Time {
	sec := d.varint()
	nsec := d.uvarint()
	if d.err != nil {
		return time.Time{}
	}
	if nsec >= uint64(time.Second) {
		d.fail("nanoseconds %d out of range", nsec)
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

// finish reports the sticky error, and treats leftover bytes as corruption:
// a shorter decode than the encode means the two disagree about the layout.
func (d *decoder) finish() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	return d.err
}
