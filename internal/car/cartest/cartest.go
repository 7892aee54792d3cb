// Package cartest builds CAR files and dag/import uploads for the tests of
// the packages that read them (internal/car, intercept, api/rest). Nothing
// outside tests imports it.
package cartest

import (
	"bytes"
	"encoding/binary"
	"mime/multipart"
	"slices"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	"github.com/ipld/go-ipld-prime/datamodel"
	"github.com/ipld/go-ipld-prime/fluent/qp"
	cidlink "github.com/ipld/go-ipld-prime/linking/cid"
	"github.com/ipld/go-ipld-prime/node/basicnode"
	mh "github.com/multiformats/go-multihash"
)

// RawCid returns the CIDv1 raw-codec CID of data.
func RawCid(data string) cid.Cid {
	h, err := mh.Sum([]byte(data), mh.SHA2_256, -1)
	if err != nil {
		panic(err)
	}
	return cid.NewCidV1(cid.Raw, h)
}

// V1 builds a CARv1 file: a DAG-CBOR header naming roots, then one raw
// block per string.
func V1(t testing.TB, roots []cid.Cid, blocks ...string) []byte {
	t.Helper()
	hdr, err := qp.BuildMap(basicnode.Prototype.Any, 2, func(ma datamodel.MapAssembler) {
		qp.MapEntry(ma, "roots", qp.List(int64(len(roots)), func(la datamodel.ListAssembler) {
			for _, r := range roots {
				qp.ListEntry(la, qp.Link(cidlink.Link{Cid: r}))
			}
		}))
		qp.MapEntry(ma, "version", qp.Int(1))
	})
	if err != nil {
		t.Fatal(err)
	}
	var enc bytes.Buffer
	if err := dagcbor.Encode(hdr, &enc); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	out.Write(binary.AppendUvarint(nil, uint64(enc.Len())))
	out.Write(enc.Bytes())
	for _, b := range blocks {
		c := RawCid(b)
		out.Write(binary.AppendUvarint(nil, uint64(len(c.Bytes())+len(b))))
		out.Write(c.Bytes())
		out.WriteString(b)
	}
	return out.Bytes()
}

// V2 wraps a CARv1 payload with the v2 pragma and header, padded so that
// the data offset is not simply the end of the header.
func V2(v1 []byte, padding int) []byte {
	pragma := []byte{0x0a, 0xa1, 0x67, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x02}
	var hdr [40]byte
	offset := uint64(len(pragma) + len(hdr) + padding)
	binary.LittleEndian.PutUint64(hdr[16:], offset)
	binary.LittleEndian.PutUint64(hdr[24:], uint64(len(v1)))
	out := append(slices.Clone(pragma), hdr[:]...)
	out = append(out, make([]byte, padding)...)
	return append(out, v1...)
}

// Upload builds a multipart body with one part per CAR, as the CLI's dag
// import sends it, the i-th named "x…x.car" with i+1 x's. It returns the
// body and its Content-Type.
func Upload(t testing.TB, cars ...[]byte) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for i, c := range cars {
		part, err := mw.CreateFormFile("file", strings.Repeat("x", i+1)+".car")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := part.Write(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), mw.FormDataContentType()
}
