package car

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"testing"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// dedup keeps the first of each CID, as parseUploadRoots does across parts.
func dedup(cs []cid.Cid) []cid.Cid {
	var out []cid.Cid
	for _, c := range cs {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// FuzzReadCARRoots feeds any bytes as a CAR. Nothing may panic or hang, the
// streamed upload must agree with a direct read, and a CARv2 that reads
// must have taken its roots from the CARv1 header at its data offset.
func FuzzReadCARRoots(f *testing.F) {
	r1, r2 := rawCid("one"), testCid(2)
	v1 := carV1(f, []cid.Cid{r1, r2, r1}, "one", "two")
	f.Add(v1)
	f.Add(carV1(f, nil))
	f.Add(carV2(v1, 0))
	f.Add(carV2(v1, 13))
	f.Add(carV2(carV2(v1, 0), 0))
	// A data offset past any file, whose distance from the header does not
	// fit an int64.
	far := carV2(v1, 0)
	binary.LittleEndian.PutUint64(far[11+16:], math.MaxUint64)
	f.Add(far)
	f.Add(v1[:7])
	f.Add([]byte{})
	f.Add([]byte{0x03, 0xff, 0xff, 0xff})
	f.Add([]byte{0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		roots, err := ReadRoots(bytes.NewReader(data))
		streamed, serr := streamRoots(t, data)
		if (err == nil) != (serr == nil) {
			t.Fatalf("direct read: %v; streamed: %v", err, serr)
		}
		if err != nil {
			return
		}
		if !slices.Equal(streamed, dedup(roots)) {
			t.Fatalf("streamed roots %v, read %v", streamed, roots)
		}
		version, _, size, err := readCARHeader(bufio.NewReader(bytes.NewReader(data)))
		if err != nil || version != 2 {
			return
		}
		offset := binary.LittleEndian.Uint64(data[size+16:])
		if offset > uint64(len(data)) {
			t.Fatalf("CARv2 read with its data offset %d beyond its %d bytes", offset, len(data))
		}
		inner, err := ReadRoots(bytes.NewReader(data[offset:]))
		if err != nil || !slices.Equal(inner, roots) {
			t.Fatalf("CARv2 roots %v, but the CARv1 at its data offset %d has %v (%v)", roots, offset, inner, err)
		}
	})
}

// FuzzCARHeaderRoots builds a valid CARv1, or CARv2 with padding, whose
// roots are drawn from seed, followed by arbitrary bytes: the roots must
// come back exactly, in order and with repeats, whatever follows the header.
func FuzzCARHeaderRoots(f *testing.F) {
	f.Add([]byte("abcdefgh"), false, uint8(0), []byte("blocks"))
	f.Add([]byte("abcdabcd"), true, uint8(7), []byte{})
	f.Add([]byte{}, true, uint8(0), []byte{0xff})
	f.Add([]byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b"), true, uint8(255), []byte("\x0a\xa1"))
	f.Fuzz(func(t *testing.T, seed []byte, v2 bool, padding uint8, tail []byte) {
		// Up to 16 roots of 4 seed bytes each, in both CID versions.
		var roots []cid.Cid
		for i := 0; i+4 <= len(seed) && len(roots) < 16; i += 4 {
			chunk := seed[i : i+4]
			if chunk[0]&1 == 0 {
				roots = append(roots, rawCid(string(chunk)))
				continue
			}
			h, err := mh.Sum(chunk, mh.SHA2_256, -1)
			if err != nil {
				t.Fatal(err)
			}
			roots = append(roots, cid.NewCidV0(h))
		}
		data := append(carV1(t, roots), tail...)
		if v2 {
			data = append(carV2(data, int(padding)), tail...)
		}
		got, err := ReadRoots(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(roots) || !slices.Equal(got, roots) {
			t.Fatalf("roots %v, want %v", got, roots)
		}
		streamed, err := streamRoots(t, data, data)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(streamed, dedup(roots)) {
			t.Fatalf("streamed roots %v, want %v", streamed, dedup(roots))
		}
	})
}
