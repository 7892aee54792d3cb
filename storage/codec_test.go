package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

func roundTrip(t *testing.T, c Command) Command {
	t.Helper()
	b, err := EncodeCommand(c)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	if b[0] != CommandVersion || b[1] != byte(c.Type) {
		t.Fatalf("header %x, want version %d type %d", b[:2], CommandVersion, c.Type)
	}
	got, err := DecodeCommand(b)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return got
}

func TestCodecRoundTripEveryField(t *testing.T) {
	full := fullPin(1)
	// Nil and empty differ in Pin.MarshalJSON for some fields, so the codec
	// keeps the difference for all of them.
	empties := Pin{
		Cid:             testCidV0(2),
		Allocations:     []string{},
		UserAllocations: []string{},
		Origins:         []string{},
		Metadata:        map[string]string{},
	}
	negative := Pin{
		Cid:                  testCid(3),
		ReplicationFactorMin: -1,
		ReplicationFactorMax: -1,
		ExpireAt:             time.Unix(-5, 1).UTC(), // before 1970, odd nanos
		Timestamp:            time.Unix(0, 999999999).UTC(),
	}
	cases := map[string]Command{
		"full":   pinCmd(full),
		"empty":  pinCmd(empties),
		"zeroes": pinCmd(Pin{Cid: testCid(4)}),
		"neg":    pinCmd(negative),
		"mixed": {Type: CmdPinBatch, Ops: []Op{
			{Kind: OpPin, Pin: full},
			{Kind: OpUnpin, Pin: Pin{Cid: testCid(5)}},
			{Kind: OpPin, Pin: empties},
		}},
		"peer":          {Type: CmdPeerAdd, Peer: Peer{ID: "12D3KooWA", Name: "a", ClusterAddr: "10.0.0.1:9096", AdminAddr: "127.0.0.1:9094", ProxyAddr: "127.0.0.1:9095", IPFSID: "12D3KooWI", Tags: map[string]string{"dc": "x"}}},
		"peer-no-tags":  {Type: CmdPeerAdd, Peer: Peer{ID: "12D3KooWA"}},
		"peer-empty-tg": {Type: CmdPeerAdd, Peer: Peer{ID: "12D3KooWA", Tags: map[string]string{}}},
		"peer-remove":   {Type: CmdPeerRemove, PeerID: "12D3KooWA"},
		"follower":      {Type: CmdPeerAdd, Peer: Peer{ID: "12D3KooWF", ClusterAddr: "10.0.0.9:9096", Follower: true}},
		"empty-batch":   {Type: CmdPinBatch},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if got := roundTrip(t, c); !reflect.DeepEqual(got, c) {
				t.Errorf("round trip:\n got %#v\nwant %#v", got, c)
			}
		})
	}
}

func TestCodecUnpinCarriesOnlyTheCidAndItsTimestamp(t *testing.T) {
	c := Command{Type: CmdPinBatch, Ops: []Op{{Kind: OpUnpin, Pin: fullPin(1)}}}
	got := roundTrip(t, c)
	if want := (Pin{Cid: testCid(1), Timestamp: fullPin(1).Timestamp.UTC()}); !reflect.DeepEqual(got.Ops[0].Pin, want) {
		t.Errorf("unpin decoded as %+v, want only the cid and the timestamp", got.Ops[0].Pin)
	}
	// An unpin without a timestamp keeps the first format: a kind and a CID.
	bare := Command{Type: CmdPinBatch, Ops: []Op{{Kind: OpUnpin, Pin: Pin{Cid: testCid(1)}}}}
	if got := roundTrip(t, bare); !reflect.DeepEqual(got, bare) {
		t.Errorf("bare unpin decoded as %+v", got)
	}
}

func TestCodecTimesKeepTheInstantNotTheZone(t *testing.T) {
	zone := time.FixedZone("X", 5*3600)
	now := time.Now().In(zone) // also carries a monotonic reading
	got := roundTrip(t, pinCmd(Pin{Cid: testCid(1), Timestamp: now}))
	ts := got.Ops[0].Pin.Timestamp
	if !ts.Equal(now) || ts.Nanosecond() != now.Nanosecond() || ts.Location() != time.UTC {
		t.Errorf("timestamp %v, want the instant %v in UTC", ts, now)
	}
}

func randCommand(r *rand.Rand) Command {
	switch r.IntN(4) {
	case 0:
		return Command{Type: CmdPeerAdd, Peer: randPeer(r)}
	case 1:
		return Command{Type: CmdPeerRemove, PeerID: randString(r)}
	}
	c := Command{Type: CmdPinBatch}
	for range r.IntN(20) {
		if r.IntN(3) == 0 {
			c.Ops = append(c.Ops, Op{Kind: OpUnpin, Pin: Pin{Cid: randCid(r)}})
		} else {
			c.Ops = append(c.Ops, Op{Kind: OpPin, Pin: randPin(r)})
		}
	}
	return c
}

func TestCodecRoundTripProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		c := randCommand(r)
		b, err := EncodeCommand(c)
		if err != nil {
			t.Fatalf("#%d encode: %v", i, err)
		}
		got, err := DecodeCommand(b)
		if err != nil {
			t.Fatalf("#%d decode: %v", i, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("#%d round trip:\n got %#v\nwant %#v", i, got, c)
		}
	}
}

func TestCodecDecodesIntoFreshValues(t *testing.T) {
	with, err := EncodeCommand(pinCmd(fullPin(1)))
	if err != nil {
		t.Fatal(err)
	}
	without, err := EncodeCommand(pinCmd(Pin{Cid: testCid(2)}))
	if err != nil {
		t.Fatal(err)
	}
	first, err := DecodeCommand(with)
	if err != nil {
		t.Fatal(err)
	}
	second, err := DecodeCommand(without)
	if err != nil {
		t.Fatal(err)
	}
	if p := second.Ops[0].Pin; !reflect.DeepEqual(p, Pin{Cid: testCid(2)}) {
		t.Errorf("fields leaked into the second pin: %+v", p)
	}

	// Nothing decoded may alias the input: a Raft log buffer or a bbolt page
	// is reused after the call.
	for i := range with {
		with[i] = 0xff
	}
	if p := first.Ops[0].Pin; !reflect.DeepEqual(p, fullPin(1)) {
		t.Errorf("decoded pin changed with its input buffer: %+v", p)
	}
}

func TestDecodeUnknownCommand(t *testing.T) {
	valid, err := EncodeCommand(pinCmd(smallPin(1)))
	if err != nil {
		t.Fatal(err)
	}
	badKind := bytes.Clone(valid)
	badKind[3] = 7 // version, type, op count, then the first op's kind

	cases := map[string][]byte{
		"version 0":   {0, byte(CmdPinBatch), 0},
		"version 2":   {2, byte(CmdPinBatch), 0},
		"type 0":      {CommandVersion, 0},
		"type 200":    {CommandVersion, 200, 1, 2, 3},
		"op kind 7":   badKind,
		"future peer": {2, byte(CmdPeerAdd)},
	}
	for name, b := range cases {
		_, err := DecodeCommand(b)
		if !errors.Is(err, ErrUnknownCommand) {
			t.Errorf("%s: got %v, want ErrUnknownCommand", name, err)
		}
	}
	if _, err := EncodeCommand(Command{Type: 9}); !errors.Is(err, ErrUnknownCommand) {
		t.Errorf("encode type 9: got %v", err)
	}
	if _, err := EncodeCommand(Command{Type: CmdPinBatch, Ops: []Op{{Kind: 3}}}); !errors.Is(err, ErrUnknownCommand) {
		t.Errorf("encode op kind 3: got %v", err)
	}
}

func TestDecodeCorruptCommand(t *testing.T) {
	cmds := []Command{
		pinCmd(fullPin(1), smallPin(2)),
		unpinCmd(testCid(3)),
		{Type: CmdPeerAdd, Peer: Peer{ID: "p", Tags: map[string]string{"a": "b"}}},
		{Type: CmdPeerRemove, PeerID: "p"},
	}
	for _, c := range cmds {
		b, err := EncodeCommand(c)
		if err != nil {
			t.Fatal(err)
		}
		// Every strict prefix is missing something.
		for n := range len(b) {
			if _, err := DecodeCommand(b[:n]); !errors.Is(err, ErrCorruptCommand) {
				t.Fatalf("%v cut to %d of %d bytes: got %v, want ErrCorruptCommand", c.Type, n, len(b), err)
			}
		}
		if _, err := DecodeCommand(append(bytes.Clone(b), 0)); !errors.Is(err, ErrCorruptCommand) {
			t.Errorf("%v with a trailing byte: got %v", c.Type, err)
		}
	}

	huge := binary.AppendUvarint([]byte{CommandVersion, byte(CmdPinBatch)}, 1<<62)
	badCid := []byte{CommandVersion, byte(CmdPinBatch), 1, byte(OpPin), 3, 1, 2, 3}
	unknownFlags := append([]byte{CommandVersion, byte(CmdPeerAdd)}, 0x80, 0, 0, 0, 0, 0, 0)
	badNanos := appendCid([]byte{CommandVersion, byte(CmdPinBatch), 1, byte(OpPin)}, testCid(1))
	badNanos = append(badNanos, pinHasTimestamp, 0, 0, 0, 0) // flags, name, mode, rf min, rf max
	badNanos = binary.AppendVarint(badNanos, 1)
	badNanos = binary.AppendUvarint(badNanos, uint64(time.Second))
	for name, b := range map[string][]byte{
		"huge count":    huge,
		"bad cid":       badCid,
		"peer flags":    unknownFlags,
		"nanos >= 1e9":  badNanos,
		"empty":         {},
		"only version":  {CommandVersion},
		"string length": {CommandVersion, byte(CmdPeerRemove), 0xff, 0xff, 0xff, 0xff, 0x0f},
	} {
		if _, err := DecodeCommand(b); !errors.Is(err, ErrCorruptCommand) {
			t.Errorf("%s: got %v, want ErrCorruptCommand", name, err)
		}
	}
	// A missing CID is well-formed: Apply, not the codec, refuses it.
	noCid := []byte{CommandVersion, byte(CmdPinBatch), 1, byte(OpUnpin), 0}
	if c, err := DecodeCommand(noCid); err != nil || c.Ops[0].Pin.Cid.Defined() {
		t.Errorf("unpin with empty cid: %+v, %v", c, err)
	}
}
