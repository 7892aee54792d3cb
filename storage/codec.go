package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
)

// OpKind says what one operation of a pin batch does.
type OpKind uint8

const (
	OpPin   OpKind = 1
	OpUnpin OpKind = 2
)

// On the wire, a conditional op (one with Expect) has a kind of its own, so
// that a peer too old to check the condition stops rather than apply it
// unconditionally. In memory it is the same Kind with Expect set.
const (
	wirePinIf   = 3
	wireUnpinIf = 4
	// wireUnpinAt is an unpin that carries its proposer's timestamp, the
	// identity by which a retried unpin is recognised (see dedup.go).
	wireUnpinAt = 5
)

func (k OpKind) String() string {
	switch k {
	case OpPin:
		return "pin"
	case OpUnpin:
		return "unpin"
	}
	return fmt.Sprintf("op(%d)", uint8(k))
}

// Op is one pin or unpin inside a batch.
type Op struct {
	Kind OpKind
	Pin  Pin // full pin for OpPin; for OpUnpin only Pin.Cid is used (and encoded)
	// Expect, when set, makes the op conditional: it applies only while the
	// stored pin exists with exactly this Timestamp, the version its
	// proposer read. A write that lost a race is then a no-op, never an
	// overwrite of what another writer committed meanwhile.
	Expect *time.Time
}

// CommandType is the type byte of a Raft log entry.
type CommandType uint8

const (
	CmdPinBatch   CommandType = 1 // Ops applied in order, in one bbolt transaction
	CmdPeerAdd    CommandType = 2 // Peer upserted
	CmdPeerRemove CommandType = 3 // PeerID deleted
)

func (t CommandType) String() string {
	switch t {
	case CmdPinBatch:
		return "pin-batch"
	case CmdPeerAdd:
		return "peer-add"
	case CmdPeerRemove:
		return "peer-remove"
	}
	return fmt.Sprintf("command(%d)", uint8(t))
}

// Command is the value of one Raft log entry. Which fields matter depends on
// Type: Ops for CmdPinBatch, Peer for CmdPeerAdd, PeerID for CmdPeerRemove.
type Command struct {
	Type   CommandType
	Ops    []Op
	Peer   Peer
	PeerID string
}

// CommandVersion is the first byte of every encoded command. A peer refuses
// versions it does not know rather than guess at them.
const CommandVersion = 1

var (
	// ErrUnknownCommand is a version, command type or op kind this build does
	// not know: typically a newer peer wrote it.
	ErrUnknownCommand = errors.New("storage: unknown command")
	// ErrCorruptCommand is a command whose payload does not decode.
	ErrCorruptCommand = errors.New("storage: corrupt command")
	// ErrCorruptState is a stored value that does not decode.
	ErrCorruptState = errors.New("storage: corrupt stored value")
)

// Pin flags announce the optional fields, so that nil and empty survive the
// round trip (Pin.MarshalJSON writes null for a nil slice or map).
const (
	pinHasAllocations = 1 << iota
	pinHasUserAllocations
	pinHasOrigins
	pinHasMetadata
	pinHasExpireAt
	pinHasTimestamp
	pinHasPinUpdate

	pinKnownFlags = 1<<iota - 1
)

// appendPinBody writes every field of p but its CID, which the state keeps as
// the key rather than twice.
func appendPinBody(b []byte, p *Pin) []byte {
	var flags uint64
	if p.Allocations != nil {
		flags |= pinHasAllocations
	}
	if p.UserAllocations != nil {
		flags |= pinHasUserAllocations
	}
	if p.Origins != nil {
		flags |= pinHasOrigins
	}
	if p.Metadata != nil {
		flags |= pinHasMetadata
	}
	if !p.ExpireAt.IsZero() {
		flags |= pinHasExpireAt
	}
	if !p.Timestamp.IsZero() {
		flags |= pinHasTimestamp
	}
	if p.PinUpdate.Defined() {
		flags |= pinHasPinUpdate
	}
	b = binary.AppendUvarint(b, flags)
	b = appendString(b, p.Name)
	b = append(b, byte(p.Mode))
	b = binary.AppendVarint(b, int64(p.ReplicationFactorMin))
	b = binary.AppendVarint(b, int64(p.ReplicationFactorMax))
	if p.Allocations != nil {
		b = appendStrings(b, p.Allocations)
	}
	if p.UserAllocations != nil {
		b = appendStrings(b, p.UserAllocations)
	}
	if p.Origins != nil {
		b = appendStrings(b, p.Origins)
	}
	if p.Metadata != nil {
		b = appendStringMap(b, p.Metadata)
	}
	if !p.ExpireAt.IsZero() {
		b = appendTime(b, p.ExpireAt)
	}
	if !p.Timestamp.IsZero() {
		b = appendTime(b, p.Timestamp)
	}
	if p.PinUpdate.Defined() {
		b = appendCid(b, p.PinUpdate)
	}
	return b
}

// pinBody reads what appendPinBody wrote into a fresh Pin: nothing of a
// previously decoded pin can leak in.
func (d *decoder) pinBody(c cid.Cid) Pin {
	flags := d.uvarint()
	if d.err == nil && flags&^pinKnownFlags != 0 {
		d.fail("unknown pin flags %#x", flags)
	}
	p := Pin{
		Cid:                  c,
		Name:                 d.string(),
		Mode:                 Mode(d.byte()),
		ReplicationFactorMin: d.int(),
		ReplicationFactorMax: d.int(),
	}
	if flags&pinHasAllocations != 0 {
		p.Allocations = d.strings()
	}
	if flags&pinHasUserAllocations != 0 {
		p.UserAllocations = d.strings()
	}
	if flags&pinHasOrigins != 0 {
		p.Origins = d.strings()
	}
	if flags&pinHasMetadata != 0 {
		p.Metadata = d.stringMap()
	}
	if flags&pinHasExpireAt != 0 {
		p.ExpireAt = d.time()
	}
	if flags&pinHasTimestamp != 0 {
		p.Timestamp = d.time()
	}
	if flags&pinHasPinUpdate != 0 {
		p.PinUpdate = d.cid()
		if d.err == nil && !p.PinUpdate.Defined() {
			d.fail("pin_update flagged but empty")
		}
	}
	if d.err != nil {
		return Pin{}
	}
	return p
}

// EncodeCommand lays c out as [version][type][payload].
func EncodeCommand(c Command) ([]byte, error) {
	b := make([]byte, 0, commandSizeHint(&c))
	b = append(b, CommandVersion, byte(c.Type))
	switch c.Type {
	case CmdPinBatch:
		b = binary.AppendUvarint(b, uint64(len(c.Ops)))
		for i := range c.Ops {
			op := &c.Ops[i]
			if op.Kind != OpPin && op.Kind != OpUnpin {
				return nil, fmt.Errorf("%w: op kind %d at op %d", ErrUnknownCommand, op.Kind, i)
			}
			wire := byte(op.Kind)
			switch {
			case op.Expect != nil:
				wire += wirePinIf - byte(OpPin)
			case op.Kind == OpUnpin && !op.Pin.Timestamp.IsZero():
				wire = wireUnpinAt
			}
			b = append(b, wire)
			b = appendCid(b, op.Pin.Cid)
			switch {
			case op.Expect != nil:
				b = appendTime(b, *op.Expect)
			case wire == wireUnpinAt:
				b = appendTime(b, op.Pin.Timestamp)
			}
			if op.Kind == OpPin {
				b = appendPinBody(b, &op.Pin)
			}
		}
	case CmdPeerAdd:
		b = appendPeer(b, &c.Peer)
	case CmdPeerRemove:
		b = appendString(b, c.PeerID)
	default:
		return nil, fmt.Errorf("%w: type %d", ErrUnknownCommand, c.Type)
	}
	return b, nil
}

// commandSizeHint guesses the encoded size so that a batch of hundreds of
// pins is written into one allocation instead of a dozen doublings.
func commandSizeHint(c *Command) int {
	n := 16
	for i := range c.Ops {
		n += 2 + pinSizeHint(&c.Ops[i].Pin)
	}
	return n
}

// pinSizeHint errs on the large side: peer IDs are about 52 bytes.
func pinSizeHint(p *Pin) int {
	n := 48 + len(p.Name) + p.Cid.ByteLen() + p.PinUpdate.ByteLen() +
		56*(len(p.Allocations)+len(p.UserAllocations)+len(p.Origins))
	for k, v := range p.Metadata {
		n += 2 + len(k) + len(v)
	}
	return n
}

// DecodeCommand decodes b into a fresh Command that shares no memory with b
// or with any earlier result.
func DecodeCommand(b []byte) (Command, error) {
	if len(b) < 2 {
		return Command{}, fmt.Errorf("%w: %d bytes is shorter than a header", ErrCorruptCommand, len(b))
	}
	if b[0] != CommandVersion {
		return Command{}, fmt.Errorf("%w: version %d (this peer knows %d)", ErrUnknownCommand, b[0], CommandVersion)
	}
	c := Command{Type: CommandType(b[1])}
	d := decoder{b: b[2:], corrupt: ErrCorruptCommand}
	switch c.Type {
	case CmdPinBatch:
		// Every op takes at least two bytes: its kind and its CID length.
		n := d.count(2)
		if n > 0 {
			c.Ops = make([]Op, n)
		}
		for i := range c.Ops {
			wire := d.byte()
			cc := d.cid()
			op := Op{Kind: OpKind(wire), Pin: Pin{Cid: cc}}
			switch wire {
			case wirePinIf, wireUnpinIf:
				op.Kind -= wirePinIf - OpKind(OpPin)
				expect := d.time()
				op.Expect = &expect
			case wireUnpinAt:
				op.Kind = OpUnpin
				op.Pin.Timestamp = d.time()
			}
			switch {
			case d.err != nil:
				return Command{}, d.err
			case op.Kind == OpPin:
				op.Pin = d.pinBody(cc)
			case op.Kind != OpUnpin:
				return Command{}, fmt.Errorf("%w: op kind %d at op %d", ErrUnknownCommand, wire, i)
			}
			c.Ops[i] = op
		}
	case CmdPeerAdd:
		c.Peer = d.peer()
	case CmdPeerRemove:
		c.PeerID = d.string()
	default:
		return Command{}, fmt.Errorf("%w: type %d", ErrUnknownCommand, b[1])
	}
	if err := d.finish(); err != nil {
		return Command{}, err
	}
	return c, nil
}

// encodePinValue is the stored form of a pin: the format byte and the body.
func encodePinValue(p *Pin) []byte {
	return appendPinBody(append(make([]byte, 0, pinSizeHint(p)), valueVersion), p)
}

func decodePinValue(key, v []byte) (Pin, error) {
	c, err := cid.Cast(key)
	if err != nil {
		return Pin{}, fmt.Errorf("%w: pin key: %v", ErrCorruptState, err)
	}
	d := decoder{b: v, corrupt: ErrCorruptState, arena: string(v)}
	if ver := d.byte(); d.err == nil && ver != valueVersion {
		return Pin{}, fmt.Errorf("%w: pin value version %d", ErrCorruptState, ver)
	}
	p := d.pinBody(c)
	if err := d.finish(); err != nil {
		return Pin{}, fmt.Errorf("pin %s: %w", c, err)
	}
	return p, nil
}
