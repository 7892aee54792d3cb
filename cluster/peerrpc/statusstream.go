package peerrpc

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/flotilla-ipfs/flotilla/storage"
	"github.com/flotilla-ipfs/flotilla/types"
)

// The status stream is a peer's status of every CID it knows, in CID order,
// for another peer's status listing: one pass over the peer's files
// however large the pinset, where /v1/statuses costs a round trip per
// batch. Its body is binary, because decoding a million JSON objects per
// peer was most of a listing's cost, and its records come in blocks, so
// that the reader parses them from memory rather than byte by byte from
// the connection. A sequence of frames, each led by its kind:
//
//	'b' uvarint length, then that many bytes of status records
//	'x' the peer's error: it failed midway; nothing follows
//	'e' the end: nothing follows
//
// A status record is the CID's bytes, flags (1: names follow, 2:
// priority), [peername, ipfs peer id,] status, error, uvarint attempts,
// varint unix seconds, uvarint nanoseconds. Strings are a uvarint length
// and bytes. Names are sent when they differ from the previous record's.
// A body that ends without 'e' or 'x' was cut.
const (
	frameBlock = 'b'
	frameError = 'x'
	frameEnd   = 'e'

	flagNames    = 1
	flagPriority = 2

	// blockSize is how many bytes of records the sender gathers per block.
	blockSize = 32 << 10
	// maxBlock bounds a block, so that garbage cannot make the reader
	// allocate without limit.
	maxBlock = 16 << 20
	// StatusChunk is how many entries StatusStream hands over at a time.
	StatusChunk = 1024
)

// StatusEntry is one CID's status on the streaming peer. Key is the CID's
// binary form (cid.Cid's KeyString), which orders as the stream does.
type StatusEntry struct {
	Key    string
	Status types.PinStatus
}

// statusStream serves GET /v1/statuses/all.
func (s *service) statusStream(w http.ResponseWriter, r *http.Request) {
	if !s.waitReadAfter(w, r) {
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	enc := statusEncoder{w: bufio.NewWriterSize(w, 64<<10)}
	err := s.local.LocalStatuses(r.Context(), enc.add)
	enc.end(err)
}

type statusEncoder struct {
	w              *bufio.Writer
	block          []byte
	name, ipfsPeer string
	err            error
}

func (e *statusEncoder) add(c cid.Cid, st types.PinStatus) error {
	b := appendString(e.block, c.KeyString())
	var flags byte
	names := st.PeerName != e.name || st.IPFSPeerID != e.ipfsPeer
	if names {
		flags |= flagNames
		e.name, e.ipfsPeer = st.PeerName, st.IPFSPeerID
	}
	if st.PriorityPin {
		flags |= flagPriority
	}
	b = append(b, flags)
	if names {
		b = appendString(b, st.PeerName)
		b = appendString(b, st.IPFSPeerID)
	}
	b = appendString(b, st.Status)
	b = appendString(b, st.Error)
	b = binary.AppendUvarint(b, uint64(max(st.AttemptCount, 0)))
	b = binary.AppendVarint(b, st.Timestamp.Unix())
	b = binary.AppendUvarint(b, uint64(st.Timestamp.Nanosecond()))
	e.block = b
	if len(b) >= blockSize {
		e.flushBlock()
	}
	return e.err
}

func (e *statusEncoder) flushBlock() {
	if len(e.block) == 0 || e.err != nil {
		return
	}
	e.w.WriteByte(frameBlock)
	e.w.Write(binary.AppendUvarint(nil, uint64(len(e.block))))
	_, e.err = e.w.Write(e.block)
	e.block = e.block[:0]
}

// end sends what is gathered, then the end, or err.
func (e *statusEncoder) end(err error) {
	e.flushBlock()
	if err != nil {
		e.w.WriteByte(frameError)
		e.w.Write(appendString(nil, err.Error()))
	} else {
		e.w.WriteByte(frameEnd)
	}
	e.w.Flush()
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// StatusStream reads the status stream of the peer at addr and hands fn
// its entries in CID order, StatusChunk at a time; fn owns each chunk. It
// fails with ErrNoSuchCall when the peer has no stream (an older build:
// ask it in batches), and with ErrUnreachable when the stream breaks off.
func (c *Client) StatusStream(ctx context.Context, addr string, after uint64, fn func([]StatusEntry) error) error {
	resp, err := c.open(ctx, http.MethodGet, addr, "/v1/statuses/all", nil, readAfter(after))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	d := statusDecoder{r: bufio.NewReaderSize(resp.Body, 64<<10)}
	chunk := make([]StatusEntry, 0, StatusChunk)
	for {
		e, err := d.next()
		if err == nil {
			if chunk = append(chunk, e); len(chunk) < StatusChunk {
				continue
			}
			if err := fn(chunk); err != nil {
				return err
			}
			chunk = make([]StatusEntry, 0, StatusChunk)
			continue
		}
		// What came before the end, a failure or a cut still counts.
		if len(chunk) > 0 {
			if err := fn(chunk); err != nil {
				return err
			}
		}
		var remote remoteFailure
		switch {
		case errors.Is(err, io.EOF) && d.ended:
			return nil
		case errors.As(err, &remote):
			return errors.New(string(remote))
		}
		return fmt.Errorf("%w: the status stream of %s broke off: %v", ErrUnreachable, addr, err)
	}
}

// remoteFailure is the streaming peer's own error, sent in the stream.
type remoteFailure string

func (f remoteFailure) Error() string { return string(f) }

type statusDecoder struct {
	r              *bufio.Reader
	block, b       []byte // the last block read, and what is left of it
	name, ipfsPeer string
	ended          bool
}

// next reads the next entry. At the end of the stream it fails with io.EOF
// and sets ended; with the peer's own failure, with a remoteFailure.
func (d *statusDecoder) next() (StatusEntry, error) {
	for len(d.b) == 0 {
		kind, err := d.r.ReadByte()
		if err != nil {
			return StatusEntry{}, err
		}
		switch kind {
		case frameBlock:
			n, err := binary.ReadUvarint(d.r)
			if err != nil {
				return StatusEntry{}, err
			}
			if n > maxBlock {
				return StatusEntry{}, fmt.Errorf("a block of %d bytes", n)
			}
			d.block = slices.Grow(d.block[:0], int(n))[:n]
			if _, err := io.ReadFull(d.r, d.block); err != nil {
				return StatusEntry{}, err
			}
			d.b = d.block
		case frameEnd:
			d.ended = true
			return StatusEntry{}, io.EOF
		case frameError:
			n, err := binary.ReadUvarint(d.r)
			if err != nil || n > maxBlock {
				return StatusEntry{}, fmt.Errorf("a bad error frame: %v", err)
			}
			msg := make([]byte, n)
			if _, err := io.ReadFull(d.r, msg); err != nil {
				return StatusEntry{}, err
			}
			return StatusEntry{}, remoteFailure(msg)
		default:
			return StatusEntry{}, fmt.Errorf("unknown frame %q", kind)
		}
	}
	return d.record()
}

// record parses one status record from the block.
func (d *statusDecoder) record() (StatusEntry, error) {
	p := blockParser{b: d.b}
	key := string(p.bytes())
	flags := p.byte()
	if flags&flagNames != 0 {
		d.name, d.ipfsPeer = string(p.bytes()), string(p.bytes())
	}
	st := types.PinStatus{PeerName: d.name, IPFSPeerID: d.ipfsPeer, PriorityPin: flags&flagPriority != 0}
	st.Status = internStatus(p.bytes())
	st.Error = string(p.bytes())
	attempts := p.uvarint()
	sec, nsec := p.varint(), p.uvarint()
	if p.err != nil {
		return StatusEntry{}, p.err
	}
	if nsec >= uint64(time.Second) || attempts > 1<<31 {
		return StatusEntry{}, errors.New("status record out of range")
	}
	st.AttemptCount, st.Timestamp = int(attempts), time.Unix(sec, int64(nsec)).UTC()
	d.b = p.b
	return StatusEntry{Key: key, Status: st}, nil
}

// blockParser reads the fields of a record; its error is sticky.
type blockParser struct {
	b   []byte
	err error
}

var errShortRecord = errors.New("a status record cut short")

func (p *blockParser) uvarint() uint64 { return parseVarint(p, binary.Uvarint) }
func (p *blockParser) varint() int64   { return parseVarint(p, binary.Varint) }

func parseVarint[T uint64 | int64](p *blockParser, parse func([]byte) (T, int)) T {
	v, n := parse(p.b)
	if n <= 0 {
		p.fail()
		return 0
	}
	p.b = p.b[n:]
	return v
}

func (p *blockParser) byte() byte {
	if len(p.b) == 0 {
		p.fail()
		return 0
	}
	c := p.b[0]
	p.b = p.b[1:]
	return c
}

// bytes reads a string's bytes, which alias the block.
func (p *blockParser) bytes() []byte {
	n := p.uvarint()
	if n > uint64(len(p.b)) {
		p.fail()
		return nil
	}
	v := p.b[:n]
	p.b = p.b[n:]
	return v
}

func (p *blockParser) fail() {
	if p.err == nil {
		p.err = errShortRecord
	}
	p.b = nil
}

// internStatus returns the shared copy of a known status name, so that a
// million entries do not each carry their own.
func internStatus(b []byte) string {
	for _, known := range streamStatuses {
		if string(b) == known {
			return known
		}
	}
	return string(b)
}

var streamStatuses = []string{
	string(storage.StatusPinned), string(storage.StatusPinQueued), string(storage.StatusPinning),
	string(storage.StatusPinError), string(storage.StatusUnpinQueued), string(storage.StatusUnpinning),
	string(storage.StatusUnpinned), string(storage.StatusUnpinError),
	types.StatusRemote, types.StatusUnpinned, types.StatusClusterError,
}
