// Package car reads the root CIDs of the CAR files in a multipart upload
// while the upload streams to the IPFS node: the proxy's dag/import and the
// admin API's /add?format=car both forward the body unchanged and pin the
// roots. Only the headers are parsed (CARv1, and CARv2 with its inner
// CARv1), so go-car need not be a direct requirement of the module.
package car

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"

	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	cidlink "github.com/ipld/go-ipld-prime/linking/cid"
	"github.com/ipld/go-ipld-prime/node/basicnode"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/internal/bodytee"
)

// RootReader learns the root CIDs of the CAR files in an upload while the
// upstream reads it: the body is teed to a goroutine that parses it as
// multipart, reading only each part's CAR header. Kubo's dag/import emits
// no Root lines with pin-roots=false, so the roots must come from the
// upload itself.
type RootReader struct {
	parser *bodytee.Parser[uploadRoots]
}

type uploadRoots struct {
	roots []cid.Cid
	file  string
}

// NewRootReader starts reading the roots of a multipart upload of
// contentType; Tee feeds it the body.
func NewRootReader(contentType string, lg zerolog.Logger) *RootReader {
	return &RootReader{parser: bodytee.Start(func(r io.Reader) (uploadRoots, error) {
		roots, file, err := parseUploadRoots(r, contentType)
		if err != nil {
			lg.Debug().Err(err).Msg("CAR roots not read")
		}
		return uploadRoots{roots, file}, err
	})}
}

// Tee returns body with every byte read also fed to the parser.
func (c *RootReader) Tee(body io.ReadCloser, contentLength int64) io.ReadCloser {
	return c.parser.Tee(body, contentLength)
}

// Wait returns the roots once the headers are parsed, each once, in upload
// order. The upload has been read by then (the upstream answered), so this
// does not wait for long.
func (c *RootReader) Wait(ctx context.Context) ([]cid.Cid, error) {
	u, err := c.parser.Wait(ctx)
	return u.roots, err
}

// FileName is the file name of the upload's first part, once Wait has
// returned ("" before, or when the part had none).
func (c *RootReader) FileName() string {
	u, _ := c.parser.Done()
	return u.file
}

// parseUploadRoots reads the roots of every CAR part, in order, once each,
// and the first part's file name.
func parseUploadRoots(r io.Reader, contentType string) (roots []cid.Cid, file string, err error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, "", fmt.Errorf("not a multipart upload (%q)", contentType)
	}
	mr := multipart.NewReader(r, params["boundary"])
	seen := map[cid.Cid]bool{}
	for first := true; ; first = false {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return roots, file, nil
		}
		if err != nil {
			return roots, file, err
		}
		if first {
			file = part.FileName()
		}
		rs, err := ReadRoots(part)
		if err != nil {
			return roots, file, err
		}
		for _, c := range rs {
			if !seen[c] {
				seen[c] = true
				roots = append(roots, c)
			}
		}
	}
}

// maxCARHeader is go-car's default header size limit.
const maxCARHeader = 32 << 20

// ReadRoots reads a CARv1 header, or a CARv2 pragma and header followed by
// the inner CARv1 header, and returns its roots.
func ReadRoots(r io.Reader) ([]cid.Cid, error) {
	br := bufio.NewReader(r)
	version, roots, size, err := readCARHeader(br)
	if err != nil {
		return nil, err
	}
	switch version {
	case 1:
		return roots, nil
	case 2:
		// CARv2: 16 bytes of characteristics, then little-endian data
		// offset, data size and index offset; the CARv1 payload starts at
		// the data offset, counted from the start of the file.
		var fixed [40]byte
		if _, err := io.ReadFull(br, fixed[:]); err != nil {
			return nil, fmt.Errorf("CARv2 header: %w", err)
		}
		offset := binary.LittleEndian.Uint64(fixed[16:24])
		consumed := uint64(size) + uint64(len(fixed))
		if offset < consumed {
			return nil, fmt.Errorf("CARv2 data offset %d inside its header", offset)
		}
		// io.CopyN skips nothing, without error, for a count that is
		// negative as an int64: the inner header would be read from the
		// wrong place.
		if offset-consumed > math.MaxInt64 {
			return nil, fmt.Errorf("CARv2 data offset %d out of range", offset)
		}
		if _, err := io.CopyN(io.Discard, br, int64(offset-consumed)); err != nil {
			return nil, fmt.Errorf("CARv2 padding: %w", err)
		}
		v, roots, _, err := readCARHeader(br)
		if err != nil {
			return nil, err
		}
		if v != 1 {
			return nil, fmt.Errorf("CARv2 payload has version %d, want 1", v)
		}
		return roots, nil
	}
	return nil, fmt.Errorf("unsupported CAR version %d", version)
}

// readCARHeader reads one varint-prefixed DAG-CBOR header and returns its
// version, roots, and its size in bytes including the prefix.
func readCARHeader(br *bufio.Reader) (version int64, roots []cid.Cid, size int, err error) {
	n, err := binary.ReadUvarint(br)
	if err != nil {
		return 0, nil, 0, fmt.Errorf("CAR header length: %w", err)
	}
	if n == 0 || n > maxCARHeader {
		return 0, nil, 0, fmt.Errorf("CAR header length %d out of range", n)
	}
	raw := make([]byte, n)
	if _, err := io.ReadFull(br, raw); err != nil {
		return 0, nil, 0, fmt.Errorf("CAR header: %w", err)
	}
	size = binary.PutUvarint(make([]byte, binary.MaxVarintLen64), n) + int(n)
	nb := basicnode.Prototype.Any.NewBuilder()
	if err := (dagcbor.DecodeOptions{AllowLinks: true}).Decode(nb, bytes.NewReader(raw)); err != nil {
		return 0, nil, 0, fmt.Errorf("CAR header: %w", err)
	}
	hdr := nb.Build()
	vn, err := hdr.LookupByString("version")
	if err != nil {
		return 0, nil, 0, fmt.Errorf("CAR header has no version: %w", err)
	}
	if version, err = vn.AsInt(); err != nil {
		return 0, nil, 0, fmt.Errorf("CAR header version: %w", err)
	}
	if version != 1 {
		return version, nil, size, nil
	}
	rn, err := hdr.LookupByString("roots")
	if err != nil {
		return 0, nil, 0, fmt.Errorf("CAR header has no roots: %w", err)
	}
	it := rn.ListIterator()
	for it != nil && !it.Done() {
		_, v, err := it.Next()
		if err != nil {
			return 0, nil, 0, err
		}
		l, err := v.AsLink()
		if err != nil {
			return 0, nil, 0, fmt.Errorf("CAR root: %w", err)
		}
		cl, ok := l.(cidlink.Link)
		if !ok {
			return 0, nil, 0, fmt.Errorf("CAR root %v is not a CID", l)
		}
		roots = append(roots, cl.Cid)
	}
	return 1, roots, size, nil
}
