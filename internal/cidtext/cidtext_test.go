package cidtext

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/ipfs/go-cidutil/cidenc"
	"github.com/mr-tron/base58/base58"
	mbase "github.com/multiformats/go-multibase"
	"github.com/multiformats/go-multihash"
)

func sampleCids(t testing.TB) []cid.Cid {
	var out []cid.Cid
	for i := range 200 {
		h, err := multihash.Sum([]byte(fmt.Sprint(i)), multihash.SHA2_256, -1)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, cid.NewCidV0(h), cid.NewCidV1(cid.Raw, h), cid.NewCidV1(cid.DagCBOR, h))
	}
	id, _ := multihash.Sum([]byte("tiny"), multihash.IDENTITY, -1)
	return append(out, cid.NewCidV1(cid.Raw, id), cid.Undef)
}

func TestAppendIsWhatGoCidWrites(t *testing.T) {
	for _, c := range sampleCids(t) {
		if got := string(Append([]byte("x"), c)); got != "x"+c.String() {
			t.Fatalf("Append(%s) = %s", c, got[1:])
		}
	}
}

func TestAppendEncodedIsWhatCidencWrites(t *testing.T) {
	encs := []cidenc.Encoder{
		cidenc.Default(),
		{Base: mbase.MustNewEncoder(mbase.Base32), Upgrade: true},
		{Base: mbase.MustNewEncoder(mbase.Base58BTC)},
		{Base: mbase.MustNewEncoder(mbase.Base36), Upgrade: true},
	}
	for _, enc := range encs {
		for _, c := range sampleCids(t)[:30] {
			if got, want := string(AppendEncoded(nil, enc, c)), enc.Encode(c); got != want {
				t.Fatalf("AppendEncoded(%s, upgrade %v) = %s, want %s", c, enc.Upgrade, got, want)
			}
		}
	}
}

func FuzzBase58(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 1})
	sum := sha256.Sum256([]byte("seed"))
	f.Add(append([]byte{0x12, 0x20}, sum[:]...))
	f.Fuzz(func(t *testing.T, src []byte) {
		if got, want := string(appendBase58(nil, src)), base58.Encode(src); got != want {
			t.Fatalf("appendBase58(%x) = %s, want %s", src, got, want)
		}
	})
}

// BenchmarkBase58 compares with mr-tron/base58, which go-cid uses.
func BenchmarkBase58(b *testing.B) {
	sum := sha256.Sum256([]byte("bench"))
	src := append([]byte{0x12, 0x20}, sum[:]...)
	b.Run("cidtext", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf = appendBase58(buf[:0], src)
		}
	})
	b.Run("mr-tron", func(b *testing.B) {
		for b.Loop() {
			_ = base58.Encode(src)
		}
	})
}
