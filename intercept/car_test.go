package intercept

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"mime/multipart"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	"github.com/ipld/go-ipld-prime/datamodel"
	"github.com/ipld/go-ipld-prime/fluent/qp"
	cidlink "github.com/ipld/go-ipld-prime/linking/cid"
	"github.com/ipld/go-ipld-prime/node/basicnode"
)

// carV1 builds a CARv1 file: a DAG-CBOR header naming roots, then blocks.
func carV1(t testing.TB, roots []cid.Cid, blocks ...string) []byte {
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
		c := rawCid(b)
		out.Write(binary.AppendUvarint(nil, uint64(len(c.Bytes())+len(b))))
		out.Write(c.Bytes())
		out.WriteString(b)
	}
	return out.Bytes()
}

// carV2 wraps a CARv1 payload with the v2 pragma and header, padded so that
// the data offset is not simply the end of the header.
func carV2(v1 []byte, padding int) []byte {
	pragma := []byte{0x0a, 0xa1, 0x67, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x02}
	var hdr [40]byte
	offset := uint64(len(pragma) + len(hdr) + padding)
	binary.LittleEndian.PutUint64(hdr[16:], offset)
	binary.LittleEndian.PutUint64(hdr[24:], uint64(len(v1)))
	out := append(slices.Clone(pragma), hdr[:]...)
	out = append(out, make([]byte, padding)...)
	return append(out, v1...)
}

func TestReadCARRoots(t *testing.T) {
	r1, r2 := rawCid("one"), testCid(2)
	v1 := carV1(t, []cid.Cid{r1, r2}, "one", "two")
	for name, data := range map[string][]byte{"v1": v1, "v2": carV2(v1, 0), "v2 padded": carV2(v1, 13)} {
		roots, err := readCARRoots(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.Equal(roots, []cid.Cid{r1, r2}) {
			t.Errorf("%s: roots %v", name, roots)
		}
	}
	for name, data := range map[string][]byte{
		"empty":     nil,
		"not cbor":  {0x03, 0xff, 0xff, 0xff},
		"truncated": v1[:5],
	} {
		if _, err := readCARRoots(bytes.NewReader(data)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// carUpload builds a dag/import body with one part per CAR, as the CLI does.
func carUpload(t testing.TB, cars ...[]byte) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for i, c := range cars {
		part, err := mw.CreateFormFile("file", strings.Repeat("x", i+1)+".car")
		if err != nil {
			t.Fatal(err)
		}
		part.Write(c)
	}
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

// streamRoots reads the roots of an upload as dag/import does: through the
// tee, while the body is read. It fails the test if the tee alters the body
// or if the parser has not finished 10 s after the body was read and closed.
func streamRoots(t *testing.T, cars ...[]byte) ([]cid.Cid, error) {
	t.Helper()
	body, ct := carUpload(t, cars...)
	roots := newCarRoots(ct, nopLog())
	tee := roots.tee(io.NopCloser(bytes.NewReader(body)), int64(len(body)))
	// The upstream's side of the tee sees every byte unchanged.
	got, err := io.ReadAll(tee)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("tee altered the body (%v)", err)
	}
	tee.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	rs, err := roots.wait(ctx)
	if ctx.Err() != nil {
		t.Fatalf("CAR roots not read 10 s after the body ended")
	}
	return rs, err
}

func TestParseUploadRootsThroughTee(t *testing.T) {
	r1, r2, r3 := rawCid("a"), rawCid("b"), rawCid("c")
	rs, err := streamRoots(t, carV1(t, []cid.Cid{r1, r2}, "a", "b"), carV2(carV1(t, []cid.Cid{r3, r1}, "c"), 3))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rs, []cid.Cid{r1, r2, r3}) {
		t.Errorf("roots %v", rs)
	}
}
