package storage

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
)

// The binary formats of FORMAT.md are not canonical, on purpose or not:
// the decoder accepts non-minimal varints, map keys in any order (a repeated
// key keeps its last value), and a time flagged present whose instant is
// Go's zero time. None of that makes peers disagree, since every peer decodes
// the same bytes alike, but it means encode(decode(b)) may differ from b. So
// the fuzz targets check what does matter: whatever decodes re-encodes to
// bytes that decode to the same value, the encoder's output is a fixed point
// (canonical), a re-encoding is never longer than its input (nothing
// invented), and nothing decoded aliases its input.

// checkReencode runs those checks for one decoder and its encoder. decode
// is given its own copy of in, which is then overwritten.
func checkReencode[T any](t *testing.T, in []byte, decode func([]byte) (T, error), encode func(T) ([]byte, error)) {
	t.Helper()
	buf := bytes.Clone(in)
	v, err := decode(buf)
	if err != nil {
		t.Fatalf("decode of its own input failed on the second try: %v", err)
	}
	b2, err := encode(v)
	if err != nil {
		t.Fatalf("re-encode %#v: %v", v, err)
	}
	if len(b2) > len(in) {
		t.Fatalf("re-encoding grew from %d to %d bytes:\n in %x\nout %x", len(in), len(b2), in, b2)
	}
	v2, err := decode(bytes.Clone(b2))
	if err != nil {
		t.Fatalf("decode of re-encoding %x: %v", b2, err)
	}
	// The decoded value must not share memory with a buffer that a Raft log
	// or a bbolt page reuses.
	for i := range buf {
		buf[i] ^= 0xff
	}
	if !reflect.DeepEqual(v, v2) {
		t.Fatalf("re-encoding decodes differently:\n got %#v\nwant %#v", v2, v)
	}
	b3, err := encode(v2)
	if err != nil {
		t.Fatalf("encode %#v: %v", v2, err)
	}
	if !bytes.Equal(b2, b3) {
		t.Fatalf("encoder output is not canonical:\n%x\n%x", b2, b3)
	}
}

// fuzzCommands are the seeds of FuzzDecodeCommand: every command type, every
// op kind, conditional ops, and the corner cases of each field.
func fuzzCommands() []Command {
	r := rand.New(rand.NewPCG(3, 4))
	var cmds []Command
	for range 12 {
		cmds = append(cmds, randCommand(r))
	}
	expect := time.Unix(1700000000, 5).UTC()
	zero := time.Time{}
	return append(cmds,
		Command{Type: CmdPinBatch},
		pinCmd(fullPin(1), smallPin(2), Pin{Cid: testCidV0(3)}),
		unpinCmd(testCid(4)),
		Command{Type: CmdPinBatch, Ops: []Op{
			{Kind: OpPin, Pin: fullPin(5), Expect: &expect},
			{Kind: OpUnpin, Pin: Pin{Cid: testCid(6)}, Expect: &expect},
			{Kind: OpUnpin, Pin: Pin{Cid: testCid(7)}, Expect: &zero},
		}},
		Command{Type: CmdPeerAdd, Peer: randPeer(r)},
		Command{Type: CmdPeerAdd, Peer: Peer{ID: "12D3KooWA", Tags: map[string]string{}}},
		Command{Type: CmdPeerRemove, PeerID: "12D3KooWA"},
	)
}

// FuzzDecodeCommand feeds any bytes to the Raft command decoder. It must not
// panic (the FSM's deliberate stop on a corrupt command is the FSM's, after
// the decoder returned its error), it fails only with ErrCorruptCommand or
// ErrUnknownCommand, and what decodes passes checkReencode.
func FuzzDecodeCommand(f *testing.F) {
	for _, c := range fuzzCommands() {
		b, err := EncodeCommand(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{CommandVersion, byte(CmdPinBatch), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	// Non-canonical forms: a two-byte zero count, a peer's tags out of
	// order, a repeated tag, and a timestamp flagged but zero.
	f.Add([]byte{CommandVersion, byte(CmdPinBatch), 0x80, 0x00})
	f.Add([]byte{CommandVersion, byte(CmdPeerAdd), peerHasTags, 1, 'p', 0, 0, 0, 0, 0, 2, 1, 'b', 0, 1, 'a', 0})
	f.Add([]byte{CommandVersion, byte(CmdPeerAdd), peerHasTags, 1, 'p', 0, 0, 0, 0, 0, 2, 1, 'a', 1, 'x', 1, 'a', 0})
	zero := appendCid([]byte{CommandVersion, byte(CmdPinBatch), 1, byte(OpPin)}, testCid(1))
	zero = append(zero, pinHasTimestamp, 0, 0, 0, 0) // flags, name, mode, rf min, rf max
	zero = appendTime(zero, time.Time{})
	f.Add(zero)
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := DecodeCommand(b); err != nil {
			if !errors.Is(err, ErrCorruptCommand) && !errors.Is(err, ErrUnknownCommand) {
				t.Fatalf("error %v is neither corrupt nor unknown", err)
			}
			return
		}
		checkReencode(t, b, DecodeCommand, EncodeCommand)
	})
}

// FuzzDecodePinValue feeds any key and value to the decoder of the state
// file's pins: no panic, only ErrCorruptState, the pin has the key's CID, and
// what decodes passes checkReencode.
func FuzzDecodePinValue(f *testing.F) {
	r := rand.New(rand.NewPCG(5, 6))
	pins := []Pin{fullPin(1), smallPin(2), {Cid: testCidV0(3)}, {Cid: testCid(4), Metadata: map[string]string{}}}
	for range 8 {
		pins = append(pins, randPin(r))
	}
	for _, p := range pins {
		f.Add([]byte(p.Cid.KeyString()), encodePinValue(&p))
	}
	f.Add([]byte(testCid(1).KeyString()), []byte{})
	f.Add([]byte{}, []byte{valueVersion, 0, 0, 0, 0, 0})
	fuzzStoredValue(f, decodeAndCheckAllocations, encodePinValue, func(p *Pin) cid.Cid { return p.Cid })
}

// decodeAndCheckAllocations decodes, and checks that what pinAllocatedTo
// reads in place agrees with the decoded pin, for each of its peers and
// one that is not.
func decodeAndCheckAllocations(key, v []byte) (Pin, error) {
	p, err := decodePinValue(key, v)
	if err != nil {
		return p, err
	}
	for _, id := range append(slices.Clone(p.Allocations), "12D3KooWNobody") {
		if got, err := pinAllocatedTo(v, id); err != nil || got != p.AllocatedTo(id) {
			panic(fmt.Sprintf("pinAllocatedTo(%q) = %v, %v; the decoded pin says %v", id, got, err, p.AllocatedTo(id)))
		}
	}
	return p, nil
}

// FuzzDecodeStatusValue does the same for the local status file's records.
func FuzzDecodeStatusValue(f *testing.F) {
	for i, st := range []LocalStatus{
		{Cid: testCid(1), Status: StatusPinned, Managed: true, Timestamp: time.Unix(1700000000, 1).UTC()},
		{Cid: testCidV0(2), Status: StatusPinError, Error: "context deadline exceeded", AttemptCount: 7, Preexisting: true},
		{Cid: testCid(3), Status: StatusUnpinQueued, AttemptCount: -1, Timestamp: time.Unix(-5, 999999999).UTC()},
		{Cid: testCid(4)},
	} {
		f.Add([]byte(st.Cid.KeyString()), encodeStatusValue(&st))
		if i == 0 {
			f.Add([]byte{}, encodeStatusValue(&st))
		}
	}
	f.Add([]byte(testCid(5).KeyString()), []byte{valueVersion, 0xff})
	fuzzStoredValue(f, decodeStatusValue, encodeStatusValue, func(st *LocalStatus) cid.Cid { return st.Cid })
}

// fuzzStoredValue is the body of a stored value's fuzz target: the key is
// the CID of the record, the value its encoding.
func fuzzStoredValue[T any](f *testing.F, decode func(key, v []byte) (T, error), encode func(*T) []byte, cidOf func(*T) cid.Cid) {
	f.Fuzz(func(t *testing.T, key, v []byte) {
		x, err := decode(key, v)
		if err != nil {
			if !errors.Is(err, ErrCorruptState) {
				t.Fatalf("error %v is not ErrCorruptState", err)
			}
			return
		}
		if c := cidOf(&x); c.KeyString() != string(key) {
			t.Fatalf("record of %s decoded under key %x", c, key)
		}
		checkReencode(t, v,
			func(b []byte) (T, error) { return decode(key, b) },
			func(x T) ([]byte, error) { return encode(&x), nil })
	})
}
