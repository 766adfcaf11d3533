package decoder

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// TLS 1.3 record protection (RFC 8446 §5.2-§5.4) from a traffic secret,
// the secrets a key log gives (CLIENT_HANDSHAKE_TRAFFIC_SECRET,
// SERVER_TRAFFIC_SECRET_0, ...), with the keys ScheduleTLS13 derives
// (keyschedule.go: §7.1, §7.3) and KeyUpdate (§7.2).

var (
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
)

// cipher13 opens the TLS 1.3 records of one direction in one epoch.
//
// The plaintext Open returns lives in a buffer the cipher owns and reuses:
// it is valid until the next Open. Open never writes to the body it is
// given; the body must not be a plaintext this cipher returned.
type cipher13 struct {
	keys  *TrafficKeys // of ScheduleTLS13
	nonce [aeadNonceLength]byte
	ad    [5]byte
	buf   []byte
}

// newCipher13 makes the cipher for a TLS 1.3 traffic secret of suite.
func newCipher13(suite uint16, secret []byte) (*cipher13, error) {
	k, err := ScheduleTLS13.TrafficKeys(suite, secret)
	if err != nil {
		return nil, err
	}
	return &cipher13{keys: k}, nil
}

// Update moves to the next generation of the traffic secret, as a
// KeyUpdate does (RFC 8446 §4.6.3, §7.2), with a new key and iv from it.
// The sequence number starts again at 0 (§5.3); that is the caller's
// count.
func (c *cipher13) Update() error {
	c.keys = c.keys.Next()
	return nil
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
	if len(body) < c.keys.aead.Overhead()+1 {
		return typ, nil, errShortRecord
	}
	if len(body) > 0xffff {
		return typ, nil, errLongRecord
	}
	c.nonce = c.keys.Nonce(seq)
	c.ad[0] = typ
	binary.BigEndian.PutUint16(c.ad[1:], version)
	binary.BigEndian.PutUint16(c.ad[3:], uint16(len(body)))
	plain, err := c.keys.aead.Open(c.buf[:0], c.nonce[:], body, c.ad[:])
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
