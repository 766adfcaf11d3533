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

	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/hkdf"
)

// The TLS 1.3 key schedule's last step, from a traffic secret to the keys
// that protect records or packets, for the three protocols that share it:
// TLS 1.3 (RFC 8446 §7.1-§7.3), QUIC (RFC 9001 §5.1, §5.4, §6.1; RFC 9369
// §3.3.2 for QUIC version 2) and DTLS 1.3 (RFC 9147 §4.2.3, §5.9). They
// differ only in their labels, and in whether a key update renews the key
// that masks packet or record numbers.

// KeySchedule names the labels one protocol derives its traffic keys
// with. Use ScheduleTLS13, ScheduleQUIC, ScheduleQUICv2 or ScheduleDTLS13.
type KeySchedule struct {
	// Prefix begins every HkdfLabel's label: "tls13 " (RFC 8446 §7.1,
	// QUIC too) or "dtls13" (RFC 9147 §5.9).
	Prefix string
	// Key and IV label the AEAD key and its iv (RFC 8446 §7.3).
	Key, IV string
	// Mask labels the key of the mask over a header's packet or record
	// number: QUIC's header protection "quic hp" (RFC 9001 §5.4), DTLS
	// 1.3's record number encryption "sn" (RFC 9147 §4.2.3). Empty for
	// TLS, which has none.
	Mask string
	// Update labels the next generation of a traffic secret after a key
	// update: "traffic upd" (RFC 8446 §7.2), "quic ku" (RFC 9001 §6.1).
	Update string
	// KeepMask: a key update keeps the mask key (QUIC: "the header
	// protection key is not updated", RFC 9001 §6); otherwise each
	// secret has its own (DTLS 1.3: every epoch's sn_key comes from its
	// traffic secret, RFC 9147 §4.2.3).
	KeepMask bool
}

var (
	// ScheduleTLS13 is TLS 1.3's (RFC 8446 §7.2, §7.3).
	ScheduleTLS13 = &KeySchedule{Prefix: "tls13 ", Key: "key", IV: "iv", Update: "traffic upd"}
	// ScheduleQUIC is QUIC version 1's and the drafts' (RFC 9001 §5.1,
	// §5.4, §6.1).
	ScheduleQUIC = &KeySchedule{Prefix: "tls13 ", Key: "quic key", IV: "quic iv", Mask: "quic hp", Update: "quic ku", KeepMask: true}
	// ScheduleQUICv2 is QUIC version 2's (RFC 9369 §3.3.2).
	ScheduleQUICv2 = &KeySchedule{Prefix: "tls13 ", Key: "quicv2 key", IV: "quicv2 iv", Mask: "quicv2 hp", Update: "quicv2 ku", KeepMask: true}
	// ScheduleDTLS13 is DTLS 1.3's (RFC 9147 §4.2.3, §5.9; the KeyUpdate
	// of §8 is RFC 8446's "traffic upd").
	ScheduleDTLS13 = &KeySchedule{Prefix: "dtls13", Key: "key", IV: "iv", Mask: "sn", Update: "traffic upd"}
)

var (
	// errUnsupportedCipher: not one of the five TLS 1.3 suites of RFC 8446
	// B.4.
	errUnsupportedCipher = fmt.Errorf("tls13: %w suite", errCipherUnsupported)
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

// suiteKeyLen13 is the AEAD key length of a TLS 1.3 suite, or 0. The mask
// key has the same length (RFC 9001 §5.4.3, RFC 9147 §4.2.3).
func suiteKeyLen13(suite uint16) int {
	switch suite {
	case suiteAES128GCMSHA256, suiteAES128CCMSHA256, suiteAES128CCM8SHA256:
		return 16
	case suiteAES256GCMSHA384, suiteChaCha20Poly1305SHA256:
		return 32
	}
	return 0
}

// hkdfLabel is the info of HKDF-Expand-Label (RFC 8446 §7.1):
//
//	struct {
//	    uint16 length = Length;
//	    opaque label<7..255> = Prefix + Label;
//	    opaque context<0..255> = Context;
//	} HkdfLabel;
//
// It panics when the label or context is too long or length is out of
// range: the callers' constants are wrong then, not their input.
func (s *KeySchedule) hkdfLabel(label string, context []byte, length int) []byte {
	if len(s.Prefix)+len(label) > 255 || len(context) > 255 || length < 0 || length > 0xffff {
		panic("tls13: HKDF-Expand-Label argument out of range")
	}
	info := make([]byte, 0, 2+1+len(s.Prefix)+len(label)+1+len(context))
	info = binary.BigEndian.AppendUint16(info, uint16(length))
	info = append(info, byte(len(s.Prefix)+len(label)))
	info = append(info, s.Prefix...)
	info = append(info, label...)
	info = append(info, byte(len(context)))
	return append(info, context...)
}

// ExpandLabel is HKDF-Expand-Label (RFC 8446 §7.1) with the schedule's
// prefix: HKDF-Expand (RFC 5869) of secret with the HkdfLabel of label
// (given without the prefix), context and length. It panics on a label or
// context longer than 255 octets or a length beyond what HKDF gives (255
// hashes), which are errors of the caller's constants.
func (s *KeySchedule) ExpandLabel(hash func() hash.Hash, secret []byte, label string, context []byte, length int) []byte {
	out := make([]byte, length)
	if _, err := io.ReadFull(hkdf.Expand(hash, secret, s.hkdfLabel(label, context, length)), out); err != nil {
		panic("tls13: HKDF-Expand-Label: " + err.Error())
	}
	return out
}

// TrafficKeys protects one direction in one epoch (TLS, DTLS) or one
// packet-number space (QUIC): the AEAD and its iv (RFC 8446 §7.3), the
// mask key when the schedule has one, and the secret for the next
// generation. It keeps no state between records: it is safe for
// concurrent use.
type TrafficKeys struct {
	s      *KeySchedule
	suite  uint16
	hash   func() hash.Hash
	secret []byte // the traffic secret; never printed
	aead   cipher.AEAD
	iv     [aeadNonceLength]byte
	// The mask (Mask): AES for the AES suites (RFC 9001 §5.4.3, RFC 9147
	// §4.2.3), or the ChaCha20 key (RFC 9001 §5.4.4).
	maskAES    cipher.Block
	maskChaCha []byte
}

// TrafficKeys derives a TLS 1.3 suite's keys from a traffic secret, as a
// key log gives it (CLIENT_HANDSHAKE_TRAFFIC_SECRET, SERVER_TRAFFIC_SECRET_0,
// ...) or QUIC's Initial secrets are (RFC 9001 §5.2):
//
//	key = HKDF-Expand-Label(secret, Key, "", key_length)
//	iv  = HKDF-Expand-Label(secret, IV, "", 12)
//	mask key = HKDF-Expand-Label(secret, Mask, "", key_length)
//
// Every suite of RFC 8446 B.4 is known here; a protocol that forbids some
// (QUIC, RFC 9001 §5.3) refuses them itself. The errors wrap
// errCipherUnsupported for another suite, and say so for a secret that is
// not the suite's hash length.
func (s *KeySchedule) TrafficKeys(suite uint16, secret []byte) (*TrafficKeys, error) {
	return s.trafficKeys(suite, secret, nil)
}

// trafficKeys is TrafficKeys; with prev, the mask is prev's when the
// schedule keeps it through key updates.
func (s *KeySchedule) trafficKeys(suite uint16, secret []byte, prev *TrafficKeys) (*TrafficKeys, error) {
	hash, keyLen := suiteHash13(suite), suiteKeyLen13(suite)
	if hash == nil || keyLen == 0 {
		return nil, fmt.Errorf("%w: %#04x", errUnsupportedCipher, suite)
	}
	if n := hash().Size(); len(secret) != n {
		return nil, fmt.Errorf("%w: %d octets, the suite's hash has %d", errSecretLength, len(secret), n)
	}
	k := &TrafficKeys{s: s, suite: suite, hash: hash, secret: append([]byte(nil), secret...)}
	key := s.ExpandLabel(hash, secret, s.Key, nil, keyLen)
	copy(k.iv[:], s.ExpandLabel(hash, secret, s.IV, nil, aeadNonceLength))
	var err error
	switch suite {
	case suiteChaCha20Poly1305SHA256:
		k.aead, err = chacha20poly1305.New(key)
	default:
		var block cipher.Block
		if block, err = aes.NewCipher(key); err != nil {
			break
		}
		switch suite {
		case suiteAES128CCMSHA256:
			k.aead, err = newCCM(block, 16)
		case suiteAES128CCM8SHA256:
			k.aead, err = newCCM(block, 8)
		default:
			k.aead, err = cipher.NewGCM(block)
		}
	}
	if err != nil {
		return nil, err
	}
	switch {
	case s.Mask == "":
	case prev != nil && s.KeepMask:
		k.maskAES, k.maskChaCha = prev.maskAES, prev.maskChaCha
	case suite == suiteChaCha20Poly1305SHA256:
		k.maskChaCha = s.ExpandLabel(hash, secret, s.Mask, nil, keyLen)
	default:
		if k.maskAES, err = aes.NewCipher(s.ExpandLabel(hash, secret, s.Mask, nil, keyLen)); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// AEAD is the suite's AEAD with the traffic key.
func (k *TrafficKeys) AEAD() cipher.AEAD { return k.aead }

// Nonce is the per-record nonce: the iv XOR the 64-bit sequence number
// left-padded to 12 octets (RFC 8446 §5.3; QUIC's packet number, RFC 9001
// §5.3; DTLS 1.3's 64-bit record sequence number, RFC 9147 §4).
func (k *TrafficKeys) Nonce(seq uint64) [12]byte {
	n := k.iv
	for i := 0; i < 8; i++ {
		n[aeadNonceLength-1-i] ^= byte(seq >> (8 * i))
	}
	return n
}

// Mask is the mask of a ciphertext sample that hides a header's packet
// number (QUIC, RFC 9001 §5.4) or record number (DTLS 1.3, RFC 9147
// §4.2.3): AES-ECB of the sample's 16 octets with the mask key for the
// AES suites, or ChaCha20's keystream with the sample's first 4 octets as
// the little-endian block counter and the next 12 as the nonce. The
// caller takes the octets it needs (QUIC 5, DTLS 1.3 up to 2). It panics
// if the sample is shorter than 16 octets (the caller checks the length of
// what it read) or if the schedule has no mask label (TLS).
func (k *TrafficKeys) Mask(sample []byte) (m [16]byte) {
	sample = sample[:16]
	if k.maskAES != nil {
		var out [16]byte // escapes through the interface; m does not
		k.maskAES.Encrypt(out[:], sample)
		return out
	}
	if k.maskChaCha == nil {
		panic("tls13: Mask of keys whose schedule has no mask label")
	}
	c, err := chacha20.NewUnauthenticatedCipher(k.maskChaCha, sample[4:16])
	if err != nil {
		panic("tls13: chacha20: " + err.Error()) // key and nonce sizes are fixed
	}
	c.SetCounter(binary.LittleEndian.Uint32(sample[:4]))
	c.XORKeyStream(m[:], m[:])
	return m
}

// Next is the next generation of keys after a key update: the secret
//
//	secret_N+1 = HKDF-Expand-Label(secret_N, Update, "", Hash.length)
//
// (RFC 8446 §7.2, RFC 9001 §6.1) and a key and iv from it; the mask key
// is kept or derived anew as the schedule says. The sequence number starts
// again at 0 in TLS (§5.3); that is the caller's count.
func (k *TrafficKeys) Next() *TrafficKeys {
	secret := k.s.ExpandLabel(k.hash, k.secret, k.s.Update, nil, len(k.secret))
	n, err := k.s.trafficKeys(k.suite, secret, k)
	if err != nil {
		panic("tls13: key update: " + err.Error()) // same suite, same sizes
	}
	return n
}
