package decoder

// Record protection of TLS 1.0 to 1.2 (RFC 5246 §6.2.3, RFC 4346, RFC
// 2246) opened with a master secret from a key log: AEAD (AES-GCM of RFC
// 5288, ChaCha20-Poly1305 of RFC 7905, AES-CCM of RFC 6655), CBC with
// MAC-then-encrypt or encrypt-then-MAC (RFC 7366), RC4, and NULL ciphers.
//
// State and failures: Open is called in record order. The two stateful
// ciphers advance as the sender's did whether or not a record
// authenticates, since the sender's state moved on regardless: RC4's key
// stream by the length of the body, TLS 1.0 CBC's chained IV to the
// body's last ciphertext block (not when the body is malformed, too short
// or not a whole number of blocks: then nothing changes). So a record
// damaged in the capture costs only itself (and, damaged in its last
// block under TLS 1.0, the next record's first block), provided the
// caller passes the next record the next sequence number; a lost or
// reordered record breaks every later one of a stateful cipher, and of
// the others if the sequence numbers are not right.

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rc4"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"

	"golang.org/x/crypto/chacha20poly1305"
)

var (
	// errUnsupportedCipher12: the suite's cipher, MAC or version is not
	// one this file opens.
	errUnsupportedCipher12 = fmt.Errorf("tls12: %w suite", errCipherUnsupported)
	// errBadRecordMAC12: the AEAD tag, the MAC or the CBC padding is
	// wrong (bad_record_mac, RFC 5246 §7.2.2); with whole records in
	// order that means the keys are wrong.
	errBadRecordMAC12 = fmt.Errorf("tls12: %w", errRecordMAC)
	// errMalformedRecord12: the body is too short for the explicit
	// nonce, IV, tag or MAC, or not a whole number of cipher blocks. No
	// key would open it.
	errMalformedRecord12 = errors.New("tls12: malformed protected record")
)

// ccmFactory makes AES-CCM with a tag of 16 or 8 bytes (RFC 6655, RFC
// 3610). TODO(merge): the lead sets it to newCCM of ccm.go; while nil,
// CCM suites are errUnsupportedCipher12.
var ccmFactory = newCCM

// suite12 is what opening a suite's records takes (RFC 5246 §6.3).
type suite12 struct {
	cipher string // as CipherSuiteInfo.Cipher
	keyLen int
	ivLen  int // fixed_iv of an AEAD, block size of CBC, 0 for a stream
	mac    func() hash.Hash
	macLen int
}

// suite12Params reads a suite's needs from its IANA name.
func suite12Params(suite uint16) (suite12, bool) {
	info := CipherSuite(suite)
	if info.KeyExchange == "any" {
		return suite12{}, false // a TLS 1.3 suite (RFC 8446 §B.4)
	}
	if info.Export {
		return suite12{}, false // export key derivation (RFC 2246 §6.3.1) is not done
	}
	p := suite12{cipher: info.Cipher}
	switch info.Cipher {
	case "AES_128_GCM", "AES_128_CCM", "AES_128_CCM_8":
		p.keyLen, p.ivLen = 16, 4
	case "AES_256_GCM", "AES_256_CCM", "AES_256_CCM_8":
		p.keyLen, p.ivLen = 32, 4
	case "CHACHA20_POLY1305":
		p.keyLen, p.ivLen = 32, 12
	case "AES_128_CBC":
		p.keyLen, p.ivLen = 16, aes.BlockSize
	case "AES_256_CBC":
		p.keyLen, p.ivLen = 32, aes.BlockSize
	case "3DES_EDE_CBC":
		p.keyLen, p.ivLen = 24, des.BlockSize
	case "RC4_128":
		p.keyLen = 16
	case "NULL":
	default:
		return suite12{}, false
	}
	switch info.MAC {
	case "AEAD":
		return p, info.AEAD
	case "SHA":
		p.mac, p.macLen = sha1.New, sha1.Size
	case "SHA256":
		p.mac, p.macLen = sha256.New, sha256.Size
	case "SHA384":
		p.mac, p.macLen = sha512.New384, sha512.Size384
	case "MD5":
		p.mac, p.macLen = md5.New, md5.Size
	default:
		return suite12{}, false
	}
	return p, !info.AEAD
}

// newCipher12 returns the cipher that opens one side's records after its
// ChangeCipherSpec. The key block is PRF(master_secret, "key expansion",
// server_random + client_random) cut into the client's and the server's
// MAC keys, keys and IVs in that order (RFC 5246 §6.3). encryptThenMAC
// says the encrypt_then_mac extension was negotiated (RFC 7366); it only
// matters for CBC suites, which are the only ones it applies to (§3).
func newCipher12(version, suite uint16, master, clientRandom, serverRandom []byte, fromClient, encryptThenMAC bool) (RecordCipher, error) {
	if version < VersionTLS10 || version > VersionTLS12 {
		return nil, errUnsupportedCipher12
	}
	p, ok := suite12Params(suite)
	if !ok {
		return nil, errUnsupportedCipher12
	}
	seed := append(append([]byte(nil), serverRandom...), clientRandom...)
	kb := prf12(version, suite, master, "key expansion", seed, 2*(p.macLen+p.keyLen+p.ivLen))
	take := func(n int) []byte { b := kb[:n:n]; kb = kb[n:]; return b }
	cMAC, sMAC := take(p.macLen), take(p.macLen)
	cKey, sKey := take(p.keyLen), take(p.keyLen)
	cIV, sIV := take(p.ivLen), take(p.ivLen)
	macKey, key, iv := sMAC, sKey, sIV
	if fromClient {
		macKey, key, iv = cMAC, cKey, cIV
	}
	switch p.cipher {
	case "AES_128_GCM", "AES_256_GCM":
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		return &aead12{aead: aead, fixed: iv, explicit: true}, nil
	case "AES_128_CCM", "AES_256_CCM", "AES_128_CCM_8", "AES_256_CCM_8":
		if ccmFactory == nil {
			return nil, errUnsupportedCipher12
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		tag := 16
		if p.cipher == "AES_128_CCM_8" || p.cipher == "AES_256_CCM_8" {
			tag = 8
		}
		aead, err := ccmFactory(block, tag)
		if err != nil {
			return nil, err
		}
		return &aead12{aead: aead, fixed: iv, explicit: true}, nil
	case "CHACHA20_POLY1305":
		aead, err := chacha20poly1305.New(key)
		if err != nil {
			return nil, err
		}
		return &aead12{aead: aead, fixed: iv}, nil
	case "AES_128_CBC", "AES_256_CBC", "3DES_EDE_CBC":
		var block cipher.Block
		var err error
		if p.cipher == "3DES_EDE_CBC" {
			block, err = des.NewTripleDESCipher(key)
		} else {
			block, err = aes.NewCipher(key)
		}
		if err != nil {
			return nil, err
		}
		c := &cbc12{block: block, mac: hmac.New(p.mac, macKey), etm: encryptThenMAC}
		if version == VersionTLS10 {
			c.chained = append([]byte(nil), iv...)
		}
		return c, nil
	case "RC4_128":
		rc, err := rc4.NewCipher(key)
		if err != nil {
			return nil, err
		}
		return &stream12{rc4: rc, mac: hmac.New(p.mac, macKey)}, nil
	case "NULL":
		return &stream12{mac: hmac.New(p.mac, macKey)}, nil
	}
	return nil, errUnsupportedCipher12
}

// header12 is the MAC's and the AEAD's additional data: seq_num + type +
// version + length (RFC 5246 §6.2.3.1, §6.2.3.3).
func header12(b *[13]byte, seq uint64, typ uint8, version uint16, n int) []byte {
	binary.BigEndian.PutUint64(b[:8], seq)
	b[8] = typ
	binary.BigEndian.PutUint16(b[9:], version)
	binary.BigEndian.PutUint16(b[11:], uint16(n))
	return b[:]
}

// aead12 opens AEAD records. AES-GCM and AES-CCM (RFC 5288 §3, RFC 6655
// §3) send an 8-byte nonce_explicit before the ciphertext, the nonce being
// the 4-byte fixed IV followed by it; ChaCha20-Poly1305 (RFC 7905 §2)
// sends none, its nonce being the 12-byte IV XOR the padded sequence
// number.
type aead12 struct {
	aead     cipher.AEAD
	fixed    []byte
	explicit bool
	nonce    [12]byte
	ad       [13]byte
	buf      []byte
}

func (c *aead12) Open(typ uint8, version uint16, body []byte, seq uint64) (uint8, []byte, error) {
	nonce := c.nonce[:c.aead.NonceSize()]
	if c.explicit {
		if len(body) < 8+c.aead.Overhead() {
			return typ, nil, errMalformedRecord12
		}
		copy(nonce, c.fixed)
		copy(nonce[len(c.fixed):], body[:8])
		body = body[8:]
	} else {
		if len(body) < c.aead.Overhead() {
			return typ, nil, errMalformedRecord12
		}
		copy(nonce, c.fixed)
		for i := range 8 {
			nonce[len(nonce)-1-i] ^= byte(seq >> (8 * i))
		}
	}
	ad := header12(&c.ad, seq, typ, version, len(body)-c.aead.Overhead())
	plain, err := c.aead.Open(c.buf[:0], nonce, body, ad)
	if err != nil {
		return typ, nil, errBadRecordMAC12
	}
	c.buf = plain
	return typ, plain, nil
}

// cbc12 opens block cipher records (RFC 5246 §6.2.3.2): MAC-then-encrypt
// of content + MAC + padding, padding being padding_length + 1 bytes all
// equal to padding_length; or, with encrypt_then_mac (RFC 7366 §3), the
// MAC after the ciphertext, over the IV and the ciphertext. TLS 1.1 and
// later send an explicit IV first; TLS 1.0 chains, the IV being the last
// ciphertext block of the previous record, the key block's IV at first
// (RFC 2246 §6.2.3.2).
type cbc12 struct {
	block   cipher.Block
	mac     hash.Hash
	etm     bool
	chained []byte // TLS 1.0's IV; nil for explicit IVs
	ad      [13]byte
	sum     []byte
	buf     []byte
}

func (c *cbc12) Open(typ uint8, version uint16, body []byte, seq uint64) (uint8, []byte, error) {
	bs, macLen := c.block.BlockSize(), c.mac.Size()
	enc := body // IV (unless chained) + ciphertext
	if c.etm {
		if len(body) < macLen {
			return typ, nil, errMalformedRecord12
		}
		enc = body[:len(body)-macLen]
	}
	iv, ct := c.chained, enc
	if iv == nil {
		if len(enc) < bs {
			return typ, nil, errMalformedRecord12
		}
		iv, ct = enc[:bs], enc[bs:]
	}
	if len(ct) == 0 || len(ct)%bs != 0 {
		return typ, nil, errMalformedRecord12
	}
	if !c.etm && len(ct) < macLen+1 {
		return typ, nil, errMalformedRecord12
	}
	if c.etm {
		// The MAC comes first and covers the ciphertext as sent
		// (RFC 7366 §3); on failure the chained IV still moves on.
		c.mac.Reset()
		c.mac.Write(header12(&c.ad, seq, typ, version, len(enc)))
		c.mac.Write(enc)
		c.sum = c.mac.Sum(c.sum[:0])
		if !hmac.Equal(c.sum, body[len(enc):]) {
			c.advance(ct)
			return typ, nil, errBadRecordMAC12
		}
	}
	if cap(c.buf) < len(ct) {
		c.buf = make([]byte, len(ct))
	}
	plain := c.buf[:len(ct)]
	cipher.NewCBCDecrypter(c.block, iv).CryptBlocks(plain, ct)
	c.advance(ct)
	pad := int(plain[len(plain)-1])
	n := len(plain) - pad - 1
	if !c.etm {
		n -= macLen
	}
	if n < 0 {
		return typ, nil, errBadRecordMAC12
	}
	for _, b := range plain[len(plain)-pad-1:] {
		if int(b) != pad {
			return typ, nil, errBadRecordMAC12
		}
	}
	if !c.etm {
		c.mac.Reset()
		c.mac.Write(header12(&c.ad, seq, typ, version, n))
		c.mac.Write(plain[:n])
		c.sum = c.mac.Sum(c.sum[:0])
		if !hmac.Equal(c.sum, plain[n:n+macLen]) {
			return typ, nil, errBadRecordMAC12
		}
	}
	return typ, plain[:n], nil
}

// advance keeps TLS 1.0's chained IV: the record's last ciphertext block.
func (c *cbc12) advance(ct []byte) {
	if c.chained != nil {
		copy(c.chained, ct[len(ct)-len(c.chained):])
	}
}

// stream12 opens RC4 records and NULL ones (rc4 nil): content + MAC, the
// whole encrypted with the key stream that runs on across records (RFC
// 5246 §6.2.3.1).
type stream12 struct {
	rc4 *rc4.Cipher
	mac hash.Hash
	ad  [13]byte
	sum []byte
	buf []byte
}

func (c *stream12) Open(typ uint8, version uint16, body []byte, seq uint64) (uint8, []byte, error) {
	if cap(c.buf) < len(body) {
		c.buf = make([]byte, len(body))
	}
	plain := c.buf[:len(body)]
	if c.rc4 != nil {
		c.rc4.XORKeyStream(plain, body) // the key stream moves on whatever follows
	} else {
		copy(plain, body)
	}
	n := len(plain) - c.mac.Size()
	if n < 0 {
		return typ, nil, errMalformedRecord12
	}
	c.mac.Reset()
	c.mac.Write(header12(&c.ad, seq, typ, version, n))
	c.mac.Write(plain[:n])
	c.sum = c.mac.Sum(c.sum[:0])
	if !hmac.Equal(c.sum, plain[n:]) {
		return typ, nil, errBadRecordMAC12
	}
	return typ, plain[:n], nil
}
