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
// peer was most of a listing's cost. A sequence of records, each led by
// its kind:
//
//	's' uvarint cid length, cid bytes, flags (1: names follow, 2: priority),
//	    [peername, ipfs peer id,] status, error, uvarint attempts,
//	    varint unix seconds, uvarint nanoseconds
//	'x' error message: the peer failed midway; nothing follows
//	'e' the end: nothing follows
//
// Strings are uvarint length and bytes. Names are sent when they differ
// from the previous record's. A body that ends without 'e' or 'x' was cut.
const (
	recordStatus = 's'
	recordError  = 'x'
	recordEnd    = 'e'

	flagNames    = 1
	flagPriority = 2

	// maxStreamString bounds one string of the stream, so that garbage
	// cannot make the reader allocate without limit.
	maxStreamString = 1 << 20
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
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	var enc statusEncoder
	err := s.local.LocalStatuses(r.Context(), func(c cid.Cid, st types.PinStatus) error {
		_, err := bw.Write(enc.append(c, st))
		return err
	})
	if err != nil {
		bw.WriteByte(recordError)
		bw.Write(appendString(nil, err.Error()))
	} else {
		bw.WriteByte(recordEnd)
	}
	bw.Flush()
}

type statusEncoder struct {
	buf            []byte
	name, ipfsPeer string
}

func (e *statusEncoder) append(c cid.Cid, st types.PinStatus) []byte {
	b := append(e.buf[:0], recordStatus)
	b = appendString(b, c.KeyString())
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
	e.buf = b
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// StatusStream reads the status stream of the peer at addr and hands fn
// its entries in CID order, StatusChunk at a time; fn owns each chunk. It
// fails with ErrNoSuchCall when the peer has no stream (an older build:
// ask it in batches), and with ErrUnreachable when the stream breaks off.
func (c *Client) StatusStream(ctx context.Context, addr string, fn func([]StatusEntry) error) error {
	resp, err := c.open(ctx, http.MethodGet, addr, "/v1/statuses/all", nil)
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
	name, ipfsPeer string
	ended          bool
	scratch        []byte
}

// next reads the next entry. At the end of the stream it fails with io.EOF
// and sets ended; with the peer's own failure, with a remoteFailure.
func (d *statusDecoder) next() (StatusEntry, error) {
	kind, err := d.r.ReadByte()
	if err != nil {
		return StatusEntry{}, err
	}
	switch kind {
	case recordStatus:
		return d.entry()
	case recordEnd:
		d.ended = true
		return StatusEntry{}, io.EOF
	case recordError:
		msg, err := d.string()
		if err != nil {
			return StatusEntry{}, err
		}
		return StatusEntry{}, remoteFailure(msg)
	}
	return StatusEntry{}, fmt.Errorf("unknown record %q", kind)
}

func (d *statusDecoder) entry() (StatusEntry, error) {
	key, err := d.string()
	if err != nil {
		return StatusEntry{}, err
	}
	flags, err := d.r.ReadByte()
	if err != nil {
		return StatusEntry{}, err
	}
	if flags&flagNames != 0 {
		if d.name, err = d.string(); err != nil {
			return StatusEntry{}, err
		}
		if d.ipfsPeer, err = d.string(); err != nil {
			return StatusEntry{}, err
		}
	}
	st := types.PinStatus{PeerName: d.name, IPFSPeerID: d.ipfsPeer, PriorityPin: flags&flagPriority != 0}
	status, err := d.peek()
	if err != nil {
		return StatusEntry{}, err
	}
	st.Status = internStatus(status)
	if st.Error, err = d.string(); err != nil {
		return StatusEntry{}, err
	}
	attempts, err := binary.ReadUvarint(d.r)
	if err != nil {
		return StatusEntry{}, err
	}
	sec, err := binary.ReadVarint(d.r)
	if err != nil {
		return StatusEntry{}, err
	}
	nsec, err := binary.ReadUvarint(d.r)
	if err != nil {
		return StatusEntry{}, err
	}
	if nsec >= uint64(time.Second) || attempts > 1<<31 {
		return StatusEntry{}, errors.New("status record out of range")
	}
	st.AttemptCount, st.Timestamp = int(attempts), time.Unix(sec, int64(nsec)).UTC()
	return StatusEntry{Key: key, Status: st}, nil
}

func (d *statusDecoder) string() (string, error) {
	b, err := d.peek()
	return string(b), err
}

// peek reads a string's bytes into a buffer that the next read reuses.
func (d *statusDecoder) peek() ([]byte, error) {
	n, err := binary.ReadUvarint(d.r)
	if err != nil {
		return nil, err
	}
	if n > maxStreamString {
		return nil, fmt.Errorf("a string of %d bytes", n)
	}
	d.scratch = slices.Grow(d.scratch[:0], int(n))[:n]
	_, err = io.ReadFull(d.r, d.scratch)
	return d.scratch, err
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
