package storage

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestConditionalOpsRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 1, 8, 0, 0, 123, time.UTC)
	p := fullPin(1)
	c := Command{Type: CmdPinBatch, Ops: []Op{
		{Kind: OpPin, Pin: p, Expect: &at},
		{Kind: OpUnpin, Pin: Pin{Cid: testCid(2)}, Expect: &at},
		{Kind: OpPin, Pin: smallPin(3)},
	}}
	b, err := EncodeCommand(c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeCommand(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, c)
	}
	// A peer that does not know conditional ops must stop, not apply them
	// unconditionally: the wire kinds are new.
	plain, _ := EncodeCommand(Command{Type: CmdPinBatch, Ops: []Op{{Kind: OpPin, Pin: p}}})
	if b[3] == plain[3] {
		t.Fatalf("a conditional pin is encoded with the plain kind %d", b[3])
	}
}

func TestAConditionalOpThatLostItsRaceChangesNothing(t *testing.T) {
	s := openTestState(t)
	v1 := smallPin(1)
	v1.Timestamp = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mustApply(t, s, 1, pinCmd(v1))
	read := v1.Timestamp

	// Another writer re-pins with a new expiry meanwhile.
	v2 := v1
	v2.Timestamp, v2.ExpireAt = read.Add(time.Minute), read.Add(time.Hour)
	mustApply(t, s, 2, pinCmd(v2))

	// The leader's stale copy (new allocations, old version) is a no-op...
	stale := v1
	stale.Allocations = []string{"elsewhere"}
	ch := mustApply(t, s, 3, Command{Type: CmdPinBatch, Ops: []Op{{Kind: OpPin, Pin: stale, Expect: &read}}})
	// ...and so is its expiry sweep of the version it read.
	ch = append(ch, mustApply(t, s, 4, Command{Type: CmdPinBatch, Ops: []Op{{Kind: OpUnpin, Pin: Pin{Cid: v1.Cid}, Expect: &read}}})...)
	if len(ch) != 0 {
		t.Fatalf("stale conditional ops changed %+v", ch)
	}
	got, err := s.Get(v1.Cid)
	if err != nil || !got.ExpireAt.Equal(v2.ExpireAt) || got.Allocations != nil {
		t.Fatalf("stored %+v, %v; want the second writer's pin untouched", got, err)
	}

	// Against the current version, both apply.
	cur := v2.Timestamp
	moved := v2
	moved.Allocations = []string{"elsewhere"}
	mustApply(t, s, 5, Command{Type: CmdPinBatch, Ops: []Op{{Kind: OpPin, Pin: moved, Expect: &cur}}})
	if got, _ := s.Get(v1.Cid); len(got.Allocations) != 1 {
		t.Fatalf("a current conditional pin did not apply: %+v", got)
	}
	mustApply(t, s, 6, Command{Type: CmdPinBatch, Ops: []Op{{Kind: OpUnpin, Pin: Pin{Cid: v1.Cid}, Expect: &cur}}})
	if _, err := s.Get(v1.Cid); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a current conditional unpin did not apply: %v", err)
	}
	// A conditional pin never brings back a removed pin.
	mustApply(t, s, 7, Command{Type: CmdPinBatch, Ops: []Op{{Kind: OpPin, Pin: moved, Expect: &cur}}})
	if _, err := s.Get(v1.Cid); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a conditional pin resurrected a removed pin: %v", err)
	}
	assertCount(t, s, 0)
}
