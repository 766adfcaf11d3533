package decoder

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
)

// AES-CCM, Counter with CBC-MAC (RFC 3610, NIST SP 800-38C), as a
// cipher.AEAD: what TLS_AES_128_CCM_SHA256 and TLS_AES_128_CCM_8_SHA256
// protect records with (RFC 8446 §5.2 and B.4, RFC 6655 §3). The standard
// library has none.
//
// The nonce is 15-L octets and the message length is encoded in L octets;
// TLS's 12-octet nonce makes L = 3 (messages up to 2^24-1 octets).

// errCCMOpen: the tag does not match.
var errCCMOpen = errors.New("ccm: message authentication failed")

// ccmBlockSize is the block size CCM is defined for (RFC 3610 §2).
const ccmBlockSize = 16

type ccmAEAD struct {
	block     cipher.Block
	tagSize   int // M, RFC 3610 §2: 4, 6, 8, 10, 12, 14 or 16
	nonceSize int // 15-L, with L in 2..8
}

// newCCM returns CCM over a 128-bit block cipher with the 12-octet nonce
// of TLS 1.3 (RFC 8446 §5.3) and a 16- or 8-octet tag.
func newCCM(block cipher.Block, tagSize int) (cipher.AEAD, error) {
	if tagSize != 16 && tagSize != 8 {
		return nil, errors.New("ccm: TLS uses 16- or 8-octet tags")
	}
	return newCCMWithNonceSize(block, tagSize, 12)
}

// newCCMWithNonceSize allows every nonce and tag size RFC 3610 §2 does;
// the published vectors use 7- to 13-octet nonces.
func newCCMWithNonceSize(block cipher.Block, tagSize, nonceSize int) (cipher.AEAD, error) {
	if block.BlockSize() != ccmBlockSize {
		return nil, errors.New("ccm: needs a 128-bit block cipher")
	}
	if tagSize < 4 || tagSize > 16 || tagSize%2 != 0 {
		return nil, errors.New("ccm: invalid tag size")
	}
	if nonceSize < 7 || nonceSize > 13 {
		return nil, errors.New("ccm: invalid nonce size")
	}
	return &ccmAEAD{block: block, tagSize: tagSize, nonceSize: nonceSize}, nil
}

func (c *ccmAEAD) NonceSize() int { return c.nonceSize }
func (c *ccmAEAD) Overhead() int  { return c.tagSize }

// maxLen is the longest message the length field holds: 2^(8L) - 1.
func (c *ccmAEAD) maxLen() uint64 {
	l := 15 - c.nonceSize
	if l >= 8 {
		return 1<<63 - 1
	}
	return 1<<(8*uint(l)) - 1
}

// counter returns the counter block A_i (RFC 3610 §2.3): flags L-1, the
// nonce, and the counter i in the last L octets.
func (c *ccmAEAD) counter(nonce []byte, i uint64) [ccmBlockSize]byte {
	var a [ccmBlockSize]byte
	a[0] = byte(14 - c.nonceSize) // L-1
	copy(a[1:], nonce)
	for j := ccmBlockSize - 1; j > c.nonceSize; j-- {
		a[j] = byte(i)
		i >>= 8
	}
	return a
}

// mac computes the CBC-MAC T of RFC 3610 §2.2 over B_0, the encoded
// additional data and the message, each padded to the block size.
func (c *ccmAEAD) mac(nonce, plaintext, ad []byte) [ccmBlockSize]byte {
	var x [ccmBlockSize]byte
	// B_0: flags = 64*Adata + 8*M' + L', M' = (M-2)/2, L' = L-1.
	x[0] = byte(8*((c.tagSize-2)/2) + 14 - c.nonceSize)
	if len(ad) > 0 {
		x[0] |= 64
	}
	copy(x[1:], nonce)
	n := uint64(len(plaintext))
	for j := ccmBlockSize - 1; j > c.nonceSize; j-- {
		x[j] = byte(n)
		n >>= 8
	}
	c.block.Encrypt(x[:], x[:])

	// absorb XORs data into the chain, a block at a time, the last block
	// padded with zeros.
	var fill int
	absorb := func(p []byte) {
		for len(p) > 0 {
			k := subtle.XORBytes(x[fill:], x[fill:], p)
			fill += k
			p = p[k:]
			if fill == ccmBlockSize {
				c.block.Encrypt(x[:], x[:])
				fill = 0
			}
		}
	}
	flush := func() {
		if fill > 0 {
			c.block.Encrypt(x[:], x[:])
			fill = 0
		}
	}
	if len(ad) > 0 {
		// The length of the additional data, RFC 3610 §2.2.
		var l [10]byte
		switch a := uint64(len(ad)); {
		case a < 1<<16-1<<8:
			binary.BigEndian.PutUint16(l[:], uint16(a))
			absorb(l[:2])
		case a <= 1<<32-1:
			l[0], l[1] = 0xff, 0xfe
			binary.BigEndian.PutUint32(l[2:], uint32(a))
			absorb(l[:6])
		default:
			l[0], l[1] = 0xff, 0xff
			binary.BigEndian.PutUint64(l[2:], a)
			absorb(l[:10])
		}
		absorb(ad)
		flush()
	}
	absorb(plaintext)
	flush()
	return x
}

// ctr XORs src with the key stream S_1, S_2, ... (RFC 3610 §2.3). The
// counter stays inside its L octets because messages are at most
// 2^(8L)-1 octets long, so cipher.NewCTR's whole-block increment is the
// same thing.
func (c *ccmAEAD) ctr(nonce, dst, src []byte) {
	a1 := c.counter(nonce, 1)
	cipher.NewCTR(c.block, a1[:]).XORKeyStream(dst, src)
}

// tagMask returns S_0, which encrypts the tag.
func (c *ccmAEAD) tagMask(nonce []byte) [ccmBlockSize]byte {
	s0 := c.counter(nonce, 0)
	c.block.Encrypt(s0[:], s0[:])
	return s0
}

// Seal appends the encryption of plaintext and its tag to dst.
func (c *ccmAEAD) Seal(dst, nonce, plaintext, additionalData []byte) []byte {
	if len(nonce) != c.nonceSize {
		panic("ccm: incorrect nonce length given to CCM")
	}
	if uint64(len(plaintext)) > c.maxLen() {
		panic("ccm: message too large for CCM")
	}
	t := c.mac(nonce, plaintext, additionalData)
	s0 := c.tagMask(nonce)
	ret, out := ccmSliceForAppend(dst, len(plaintext)+c.tagSize)
	c.ctr(nonce, out, plaintext)
	subtle.XORBytes(out[len(plaintext):], t[:c.tagSize], s0[:c.tagSize])
	return ret
}

// Open decrypts and authenticates ciphertext and appends the plaintext to
// dst. On failure what it wrote is zeroed. As with the standard library's
// AEADs, dst may be ciphertext[:0] but must not overlap it otherwise.
func (c *ccmAEAD) Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error) {
	if len(nonce) != c.nonceSize {
		panic("ccm: incorrect nonce length given to CCM")
	}
	if len(ciphertext) < c.tagSize || uint64(len(ciphertext)-c.tagSize) > c.maxLen() {
		return nil, errCCMOpen
	}
	n := len(ciphertext) - c.tagSize
	var tag [ccmBlockSize]byte
	copy(tag[:], ciphertext[n:]) // before out may overwrite it
	ret, out := ccmSliceForAppend(dst, n)
	c.ctr(nonce, out, ciphertext[:n])
	t := c.mac(nonce, out, additionalData)
	s0 := c.tagMask(nonce)
	subtle.XORBytes(t[:c.tagSize], t[:c.tagSize], s0[:c.tagSize])
	if subtle.ConstantTimeCompare(t[:c.tagSize], tag[:c.tagSize]) != 1 {
		clear(out)
		return nil, errCCMOpen
	}
	return ret, nil
}

// ccmSliceForAppend extends in by n bytes, as the standard library's AEADs
// do: head is the whole slice, tail the n new bytes.
func ccmSliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	tail = head[len(in):]
	return
}
