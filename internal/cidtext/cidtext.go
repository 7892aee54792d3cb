// Package cidtext writes CIDs as text, with the bytes go-cid writes, by
// appending to a buffer. A listing of a million CIDv0 spent a third of its
// time in go-cid's base58, which converts a digit at a time; this one
// converts ten digits per 64-bit step.
package cidtext

import (
	"encoding/base32"
	"math/bits"

	"github.com/ipfs/go-cid"
	"github.com/ipfs/go-cidutil/cidenc"
	mbase "github.com/multiformats/go-multibase"
)

const b58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// b58Big is 58^10, the largest power of 58 that fits 64 bits.
const b58Big = 430804206899405824

var base32Lower = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Append appends c.String().
func Append(b []byte, c cid.Cid) []byte {
	if !c.Defined() {
		return append(b, c.String()...)
	}
	if c.Version() == 0 {
		return appendBase58(b, c.Bytes())
	}
	b = append(b, 'b')
	return base32Lower.AppendEncode(b, c.Bytes())
}

// AppendEncoded appends enc.Encode(c): Kubo's cid-base and
// upgrade-cidv0-in-output.
func AppendEncoded(b []byte, enc cidenc.Encoder, c cid.Cid) []byte {
	v0 := c.Defined() && c.Version() == 0
	if (v0 && !enc.Upgrade) || (!v0 && enc.Base.Encoding() == mbase.Base32) {
		return Append(b, c)
	}
	return append(b, enc.Encode(c)...)
}

// appendBase58 appends src in base58btc, as mr-tron/base58 writes it.
func appendBase58(b, src []byte) []byte {
	zeros := 0
	for zeros < len(src) && src[zeros] == 0 {
		zeros++
	}
	// The number in little-endian limbs of base 58^10; a CIDv0 needs 5.
	var stack [8]uint64
	limbs := stack[:0]
	if need := (len(src)-zeros)*8/58 + 1; need > len(stack) {
		limbs = make([]uint64, 0, need)
	}
	for i := zeros; i < len(src); {
		// Feed up to 7 bytes at a time: limb*256^7 + carry fits 128 bits
		// with its high half below 58^10, as Div64 needs.
		n := min(7, len(src)-i)
		var chunk uint64
		for _, c := range src[i : i+n] {
			chunk = chunk<<8 | uint64(c)
		}
		i += n
		carry := chunk
		shift := uint(8 * n)
		for j := range limbs {
			hi, lo := bits.Mul64(limbs[j], 1<<shift)
			lo, c := bits.Add64(lo, carry, 0)
			hi += c
			carry, limbs[j] = bits.Div64(hi, lo, b58Big)
		}
		for carry > 0 {
			limbs = append(limbs, carry%b58Big)
			carry /= b58Big
		}
	}
	for range zeros {
		b = append(b, '1')
	}
	if len(limbs) == 0 {
		return b
	}
	// The top limb without its leading zeros, then ten digits per limb.
	var digits [10]byte
	top := limbs[len(limbs)-1]
	n := 0
	for top > 0 {
		digits[9-n] = b58Alphabet[top%58]
		top /= 58
		n++
	}
	b = append(b, digits[10-n:]...)
	for j := len(limbs) - 2; j >= 0; j-- {
		v := limbs[j]
		for k := 9; k >= 0; k-- {
			digits[k] = b58Alphabet[v%58]
			v /= 58
		}
		b = append(b, digits[:]...)
	}
	return b
}
