package mask

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"hash"
)

// The masking key is never used directly: each keyed function uses its own
// subkey HMAC-SHA256(key, label), so that, for example, a hashed column and a
// tokenized column of the same values cannot be linked.
const (
	labelHash     = "nscale mask v1 hash"
	labelTokenize = "nscale mask v1 tokenize"
	labelIntToken = "nscale mask v1 tokenize integer"
)

func subkey(key Key, label string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(label))
	return h.Sum(nil)
}

// tokenLen is the number of HMAC bytes a string or binary token keeps: 128
// bits, so that two different values of one deployment share a token only
// with probability about 2^-128 per pair (2^-64 over 2^32 distinct values).
const tokenLen = 16

// tokenPrefix starts every string token.
const tokenPrefix = "tok_"

// tokenB32 encodes token bytes: RFC 4648 base32 in lower case, no padding,
// so 16 bytes become 26 characters.
var tokenB32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// stringTokenLen is the length of every string token: "tok_" and 26 characters.
var stringTokenLen = len(tokenPrefix) + tokenB32.EncodedLen(tokenLen)

// macState is the per-call state of a keyed hash: one HMAC whose pads are
// precomputed and a digest buffer, so that each value costs no allocation.
type macState struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

func newMAC(subkey []byte) *macState {
	return &macState{h: hmac.New(sha256.New, subkey)}
}

func (m *macState) digest(v []byte) []byte {
	m.h.Reset()
	m.h.Write(v)
	return m.h.Sum(m.sum[:0])
}

// feistelRounds is the number of rounds of the integer permutation.
const feistelRounds = 8

// feistel is a keyed permutation of the w-bit integers (w = 8, 16, 32, 64):
// a balanced Feistel network of feistelRounds rounds whose round function is
// AES-256 under the integer tokenization subkey, applied to a block holding
// the width, the round number and the right half. A Feistel network is a
// bijection whatever its round function, so two different integers never
// share a token.
type feistel struct {
	block   cipher.Block
	in, out [aes.BlockSize]byte
}

func newFeistel(block cipher.Block) *feistel { return &feistel{block: block} }

func newIntCipher(key Key) (cipher.Block, error) {
	return aes.NewCipher(subkey(key, labelIntToken))
}

func (f *feistel) round(width uint, r int, x uint64) uint64 {
	f.in[0] = byte(width)
	f.in[1] = byte(r)
	binary.BigEndian.PutUint64(f.in[8:], x)
	f.block.Encrypt(f.out[:], f.in[:])
	return binary.BigEndian.Uint64(f.out[:8])
}

// permute maps x (its low width bits) to its token.
func (f *feistel) permute(x uint64, width uint) uint64 {
	half := width / 2
	mask := uint64(1)<<half - 1
	l, r := (x>>half)&mask, x&mask
	for i := 0; i < feistelRounds; i++ {
		l, r = r, l^(f.round(width, i, r)&mask)
	}
	return l<<half | r
}

// invert is the inverse of permute (tests use it to prove the bijection).
func (f *feistel) invert(y uint64, width uint) uint64 {
	half := width / 2
	mask := uint64(1)<<half - 1
	l, r := (y>>half)&mask, y&mask
	for i := feistelRounds - 1; i >= 0; i-- {
		l, r = r^(f.round(width, i, l)&mask), l
	}
	return l<<half | r
}
