package decoder

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/hkdf"
)

// TLS 1.3 record protection (RFC 8446 §5.2-§5.4) from a traffic secret,
// the secrets a key log gives (CLIENT_HANDSHAKE_TRAFFIC_SECRET,
// SERVER_TRAFFIC_SECRET_0, ...), with the key schedule's HKDF-Expand-Label
// (§7.1), the traffic keys (§7.3) and KeyUpdate (§7.2).

var (
	// errUnsupportedCipher: not one of the five TLS 1.3 suites of RFC 8446
	// B.4.
	errUnsupportedCipher = fmt.Errorf("tls13: %w suite", errCipherUnsupported)
	// errBadRecordMAC: the record does not authenticate (RFC 8446 §5.2,
	// bad_record_mac). For a well-formed record this says the keys are
	// wrong, or the sequence number.
	errBadRecordMAC = fmt.Errorf("tls13: record does not authenticate (%w)", errRecordMAC)
	// errShortRecord: the body is too short to hold the tag and the
	// content type, so it cannot be a protected record at all.
	errShortRecord = errors.New("tls13: protected record shorter than its tag and content type")
	// errLongRecord: the body is longer than a record header can say.
	errLongRecord = errors.New("tls13: protected record longer than 2^16-1")
	// errNoContentType: the record authenticates but its TLSInnerPlaintext
	// is all zeros, with no content type (RFC 8446 §5.4, unexpected_message).
	errNoContentType = errors.New("tls13: inner plaintext has no content type")
	// errSecretLength: a traffic secret is Hash.length octets (§7.1); one
	// of another length belongs to another suite.
	errSecretLength = errors.New("tls13: traffic secret length does not match the suite's hash")
)

// TLS 1.3 cipher suites, RFC 8446 B.4 and RFC 6655 / RFC 8446 for CCM.
const (
	suiteAES128GCMSHA256        = 0x1301
	suiteAES256GCMSHA384        = 0x1302
	suiteChaCha20Poly1305SHA256 = 0x1303
	suiteAES128CCMSHA256        = 0x1304
	suiteAES128CCM8SHA256       = 0x1305
)

// aeadNonceLength is iv_length, max(8, N_MIN) = 12 for every suite
// (RFC 8446 §5.3).
const aeadNonceLength = 12

// suiteHash13 returns the hash of a TLS 1.3 suite (RFC 8446 B.4), or nil.
func suiteHash13(suite uint16) func() hash.Hash {
	switch suite {
	case suiteAES128GCMSHA256, suiteChaCha20Poly1305SHA256, suiteAES128CCMSHA256, suiteAES128CCM8SHA256:
		return sha256.New
	case suiteAES256GCMSHA384:
		return sha512.New384
	}
	return nil
}

// suiteKeyLen13 is the AEAD key length of a TLS 1.3 suite, or 0.
func suiteKeyLen13(suite uint16) int {
	switch suite {
	case suiteAES128GCMSHA256, suiteAES128CCMSHA256, suiteAES128CCM8SHA256:
		return 16
	case suiteAES256GCMSHA384, suiteChaCha20Poly1305SHA256:
		return 32
	}
	return 0
}

// hkdfExpandLabel is HKDF-Expand-Label of RFC 8446 §7.1: HKDF-Expand
// (RFC 5869) of secret with the HkdfLabel
//
//	struct {
//	    uint16 length = Length;
//	    opaque label<7..255> = "tls13 " + Label;
//	    opaque context<0..255> = Context;
//	} HkdfLabel;
//
// label is given without the "tls13 " prefix. It panics when the label or
// context is too long or length is beyond what HKDF gives (255 hashes):
// the callers' constants are wrong then, not their input.
func hkdfExpandLabel(hash func() hash.Hash, secret []byte, label string, context []byte, length int) []byte {
	const prefix = "tls13 "
	if len(prefix)+len(label) > 255 || len(context) > 255 || length < 0 || length > 0xffff {
		panic("tls13: HKDF-Expand-Label argument out of range")
	}
	info := make([]byte, 0, 2+1+len(prefix)+len(label)+1+len(context))
	info = binary.BigEndian.AppendUint16(info, uint16(length))
	info = append(info, byte(len(prefix)+len(label)))
	info = append(info, prefix...)
	info = append(info, label...)
	info = append(info, byte(len(context)))
	info = append(info, context...)
	out := make([]byte, length)
	if _, err := io.ReadFull(hkdf.Expand(hash, secret, info), out); err != nil {
		panic("tls13: HKDF-Expand-Label: " + err.Error())
	}
	return out
}

// ExpandLabel is HKDF-Expand-Label (RFC 8446 §7.1) for the packages that
// derive TLS 1.3 keys of their own, QUIC's packet protection (RFC 9001
// §5.1). label is given without the "tls13 " prefix; it panics on a label,
// context or length out of range, as hkdfExpandLabel does.
func ExpandLabel(hash func() hash.Hash, secret []byte, label string, context []byte, length int) []byte {
	return hkdfExpandLabel(hash, secret, label, context, length)
}

// SuiteHash13 returns the hash of a TLS 1.3 cipher suite (RFC 8446 B.4),
// or nil for a suite that is not one.
func SuiteHash13(suite uint16) func() hash.Hash { return suiteHash13(suite) }

// newAEAD13 derives a suite's AEAD and its iv from a traffic secret:
// key = HKDF-Expand-Label(secret, keyLabel, "", key_length) and
// iv = HKDF-Expand-Label(secret, ivLabel, "", 12). TLS uses "key" and "iv"
// (RFC 8446 §7.3), QUIC "quic key" and "quic iv" (RFC 9001 §5.1) or
// "quicv2 key" and "quicv2 iv" (RFC 9369 §3.3.2). It also returns the
// suite's hash, which the secret's next generation needs.
func newAEAD13(suite uint16, secret []byte, keyLabel, ivLabel string) (aead cipher.AEAD, iv []byte, hash func() hash.Hash, err error) {
	hash, keyLen := suiteHash13(suite), suiteKeyLen13(suite)
	if hash == nil || keyLen == 0 {
		return nil, nil, nil, fmt.Errorf("%w: %#04x", errUnsupportedCipher, suite)
	}
	if n := hash().Size(); len(secret) != n {
		return nil, nil, nil, fmt.Errorf("%w: %d octets, the suite's hash has %d", errSecretLength, len(secret), n)
	}
	key := hkdfExpandLabel(hash, secret, keyLabel, nil, keyLen)
	iv = hkdfExpandLabel(hash, secret, ivLabel, nil, aeadNonceLength)
	switch suite {
	case suiteChaCha20Poly1305SHA256:
		aead, err = chacha20poly1305.New(key)
	default:
		var block cipher.Block
		if block, err = aes.NewCipher(key); err != nil {
			break
		}
		switch suite {
		case suiteAES128CCMSHA256:
			aead, err = newCCM(block, 16)
		case suiteAES128CCM8SHA256:
			aead, err = newCCM(block, 8)
		default:
			aead, err = cipher.NewGCM(block)
		}
	}
	if err != nil {
		return nil, nil, nil, err
	}
	return aead, iv, hash, nil
}

// cipher13 opens the TLS 1.3 records of one direction in one epoch.
//
// The plaintext Open returns lives in a buffer the cipher owns and reuses:
// it is valid until the next Open. Open never writes to the body it is
// given; the body must not be a plaintext this cipher returned.
type cipher13 struct {
	suite  uint16
	secret []byte // the traffic secret of the current generation
	hash   func() hash.Hash
	aead   cipher.AEAD
	iv     []byte
	nonce  [aeadNonceLength]byte
	ad     [5]byte
	buf    []byte
}

// newCipher13 makes the cipher for a TLS 1.3 traffic secret of suite.
func newCipher13(suite uint16, secret []byte) (*cipher13, error) {
	c := &cipher13{suite: suite}
	if err := c.setSecret(secret); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *cipher13) setSecret(secret []byte) error {
	aead, iv, hash, err := newAEAD13(c.suite, secret, "key", "iv")
	if err != nil {
		return err
	}
	c.secret = append([]byte(nil), secret...)
	c.aead, c.iv, c.hash = aead, iv, hash
	return nil
}

// Update moves to the next generation of the traffic secret, as a
// KeyUpdate does (RFC 8446 §4.6.3, §7.2):
//
//	application_traffic_secret_N+1 =
//	    HKDF-Expand-Label(application_traffic_secret_N, "traffic upd", "", Hash.length)
//
// with a new key and iv from it. The sequence number starts again at 0
// (§5.3); that is the caller's count.
func (c *cipher13) Update() error {
	next := hkdfExpandLabel(c.hash, c.secret, "traffic upd", nil, c.hash().Size())
	return c.setSecret(next)
}

// Open authenticates and decrypts a TLSCiphertext body (RFC 8446 §5.2)
// with the per-record nonce, the iv XOR the sequence number left-padded
// to 12 octets (§5.3), and the record header as additional data:
// opaque_type || legacy_record_version || length, taken from typ, version
// and len(body) as they were on the wire (23 and 0x0303 in a conforming
// record). It then removes the zero padding of the TLSInnerPlaintext: the
// last non-zero octet is the real content type (§5.4).
//
// Errors: errShortRecord and errLongRecord for a body no protected record
// can have, errBadRecordMAC when it does not authenticate (wrong keys or
// sequence number), errNoContentType when it does but is all zeros.
func (c *cipher13) Open(typ uint8, version uint16, body []byte, seq uint64) (inner uint8, plaintext []byte, err error) {
	if len(body) < c.aead.Overhead()+1 {
		return typ, nil, errShortRecord
	}
	if len(body) > 0xffff {
		return typ, nil, errLongRecord
	}
	copy(c.nonce[:], c.iv)
	for i := 0; i < 8; i++ {
		c.nonce[aeadNonceLength-1-i] ^= byte(seq >> (8 * i))
	}
	c.ad[0] = typ
	binary.BigEndian.PutUint16(c.ad[1:], version)
	binary.BigEndian.PutUint16(c.ad[3:], uint16(len(body)))
	plain, err := c.aead.Open(c.buf[:0], c.nonce[:], body, c.ad[:])
	if err != nil {
		return typ, nil, errBadRecordMAC
	}
	c.buf = plain[:0]
	i := len(plain) - 1
	for i >= 0 && plain[i] == 0 {
		i--
	}
	if i < 0 {
		return typ, nil, errNoContentType
	}
	return plain[i], plain[:i], nil
}
