package car

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
	"github.com/rs/zerolog"

	"github.com/flotilla-ipfs/flotilla/internal/car/cartest"
)

var (
	carV1  = cartest.V1
	carV2  = cartest.V2
	rawCid = cartest.RawCid
)

// testCid returns a distinct CIDv0 (dag-pb) for each n.
func testCid(n int) cid.Cid {
	h, err := mh.Sum([]byte(fmt.Sprintf("block %d", n)), mh.SHA2_256, -1)
	if err != nil {
		panic(err)
	}
	return cid.NewCidV0(h)
}

func TestReadCARRoots(t *testing.T) {
	r1, r2 := rawCid("one"), testCid(2)
	v1 := carV1(t, []cid.Cid{r1, r2}, "one", "two")
	for name, data := range map[string][]byte{"v1": v1, "v2": carV2(v1, 0), "v2 padded": carV2(v1, 13)} {
		roots, err := ReadRoots(bytes.NewReader(data))
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
		if _, err := ReadRoots(bytes.NewReader(data)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// streamRoots reads the roots of an upload as dag/import does: through the
// tee, while the body is read. It fails the test if the tee alters the body
// or if the parser has not finished 10 s after the body was read and closed.
func streamRoots(t *testing.T, cars ...[]byte) ([]cid.Cid, error) {
	t.Helper()
	body, ct := cartest.Upload(t, cars...)
	roots := NewRootReader(ct, zerolog.Nop())
	tee := roots.Tee(io.NopCloser(bytes.NewReader(body)), int64(len(body)))
	// The upstream's side of the tee sees every byte unchanged.
	got, err := io.ReadAll(tee)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("tee altered the body (%v)", err)
	}
	tee.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	rs, err := roots.Wait(ctx)
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

func TestFileNameIsTheFirstParts(t *testing.T) {
	body, ct := cartest.Upload(t, carV1(t, []cid.Cid{rawCid("a")}, "a"), carV1(t, nil))
	r := NewRootReader(ct, zerolog.Nop())
	tee := r.Tee(io.NopCloser(bytes.NewReader(body)), int64(len(body)))
	if _, err := io.ReadAll(tee); err != nil {
		t.Fatal(err)
	}
	tee.Close()
	if _, err := r.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := r.FileName(); got != "x.car" {
		t.Errorf("file name %q, want the first part's", got)
	}
}
