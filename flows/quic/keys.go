package quic

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/crypto/hkdf"

	"github.com/tlsscope/tlsscope/decoder"
)

// The TLS 1.3 suites QUIC can use with this package (RFC 9001 §5.3; the
// CCM suite is not supported here, CCM_8 is forbidden).
const (
	suiteAES128GCM = 0x1301
	suiteAES256GCM = 0x1302
	suiteChaCha20  = 0x1303
)

// ErrDecrypt is wrapped by Open's error when a packet does not
// authenticate: wrong keys, a key update, or not this connection's.
var ErrDecrypt = errors.New("packet does not authenticate")

// Opener removes one direction's packet protection in one packet-number
// space: the AEAD, its iv and the header protection of RFC 9001 §5,
// derived by decoder's TLS 1.3 key schedule with the version's labels. It
// keeps no state between packets.
type Opener struct{ k *decoder.TrafficKeys }

// Sealer applies it: it builds protected packets, for tests and for the
// generators of captures.
type Sealer struct {
	k *decoder.TrafficKeys
	v Version
}

// newKeys derives the packet protection of a traffic secret (RFC 9001
// §5.1; RFC 9369 §3.3.2 for v2's labels) for the suites QUIC can use here.
func newKeys(v Version, suite uint16, secret []byte) (*decoder.TrafficKeys, error) {
	vp := v.params()
	if vp == nil {
		return nil, fmt.Errorf("quic: no keys for version %s", v)
	}
	switch suite {
	case suiteAES128GCM, suiteAES256GCM, suiteChaCha20:
	default:
		return nil, fmt.Errorf("quic: cipher suite %#04x not supported", suite)
	}
	k, err := vp.keys.TrafficKeys(suite, secret)
	if err != nil {
		return nil, fmt.Errorf("quic: %w", err)
	}
	return k, nil
}

// unmask removes (or applies: it is an XOR) the header protection of the
// packet whose number begins at off (RFC 9001 §5.4.1): the low bits of
// the first byte, then the packet number, whose length the unprotected
// first byte gives when unprotecting; pnLen > 0 gives it when protecting.
// The sample begins 4 bytes after the packet number's start (§5.4.2); the
// caller has checked that b holds it.
func unmask(k *decoder.TrafficKeys, b []byte, off, pnLen int) int {
	m := k.Mask(b[off+4:])
	if b[0]&0x80 != 0 {
		b[0] ^= m[0] & 0x0f
	} else {
		b[0] ^= m[0] & 0x1f
	}
	if pnLen == 0 {
		pnLen = int(b[0]&3) + 1
	}
	for i := range pnLen {
		b[off+i] ^= m[1+i]
	}
	return pnLen
}

// initialSecrets derives the client's and server's Initial secrets from
// the client's first Destination Connection ID (RFC 9001 §5.2).
func initialSecrets(v Version, clientDCID []byte) (client, server []byte, err error) {
	vp := v.params()
	if vp == nil {
		return nil, nil, fmt.Errorf("quic: no Initial keys for version %s", v)
	}
	initial := hkdf.Extract(sha256.New, clientDCID, vp.salt)
	return vp.keys.ExpandLabel(sha256.New, initial, "client in", nil, 32),
		vp.keys.ExpandLabel(sha256.New, initial, "server in", nil, 32), nil
}

// InitialOpeners returns the openers of the client's and the server's
// Initial packets, whose keys come from the client's first Destination
// Connection ID (RFC 9001 §5.2; the suite is TLS_AES_128_GCM_SHA256).
// After a Retry both sides change to keys from the DCID of the client's
// next Initial, the Retry's SCID (RFC 9001 §5.2, RFC 9000 §17.2.5.2).
func InitialOpeners(v Version, clientDCID []byte) (client, server *Opener, err error) {
	c, s, err := initialKeys(v, clientDCID)
	if err != nil {
		return nil, nil, err
	}
	return &Opener{c}, &Opener{s}, nil
}

// InitialOpener is one side's Initial opener alone (the server's when
// server): a capture that holds only the client's Initials derives no
// more than it needs.
func InitialOpener(v Version, clientDCID []byte, server bool) (*Opener, error) {
	cs, ss, err := initialSecrets(v, clientDCID)
	if err != nil {
		return nil, err
	}
	secret := cs
	if server {
		secret = ss
	}
	k, err := newKeys(v, suiteAES128GCM, secret)
	if err != nil {
		return nil, err
	}
	return &Opener{k}, nil
}

// InitialSealers is InitialOpeners' inverse.
func InitialSealers(v Version, clientDCID []byte) (client, server *Sealer, err error) {
	c, s, err := initialKeys(v, clientDCID)
	if err != nil {
		return nil, nil, err
	}
	return &Sealer{c, v}, &Sealer{s, v}, nil
}

func initialKeys(v Version, clientDCID []byte) (client, server *decoder.TrafficKeys, err error) {
	cs, ss, err := initialSecrets(v, clientDCID)
	if err != nil {
		return nil, nil, err
	}
	if client, err = newKeys(v, suiteAES128GCM, cs); err != nil {
		return nil, nil, err
	}
	if server, err = newKeys(v, suiteAES128GCM, ss); err != nil {
		return nil, nil, err
	}
	return client, server, nil
}

// NewOpener returns the opener of packets protected with a TLS 1.3 traffic
// secret, as a key log gives it (CLIENT_HANDSHAKE_TRAFFIC_SECRET,
// SERVER_TRAFFIC_SECRET_0, ...), for suite 0x1301, 0x1302 or 0x1303.
func NewOpener(v Version, suite uint16, secret []byte) (*Opener, error) {
	k, err := newKeys(v, suite, secret)
	if err != nil {
		return nil, err
	}
	return &Opener{k}, nil
}

// NewSealer is NewOpener's inverse.
func NewSealer(v Version, suite uint16, secret []byte) (*Sealer, error) {
	k, err := newKeys(v, suite, secret)
	if err != nil {
		return nil, err
	}
	return &Sealer{k, v}, nil
}

// Next returns the opener of the next key phase (RFC 9001 §6). Open does
// not report the Key Phase bit: a caller tries Next's opener on a 1-RTT
// packet that does not authenticate with the current one.
func (o *Opener) Next() *Opener { return &Opener{o.k.Next()} }

// Next returns the sealer of the next key phase (RFC 9001 §6).
func (s *Sealer) Next() *Sealer { return &Sealer{s.k.Next(), s.v} }

// Open removes p's header protection on a copy (p.Raw is not changed),
// recovers the packet number from its truncation with largestPN, the
// largest packet number received so far in the space (-1 for none), and
// decrypts the payload (RFC 9001 §5.3, §5.4; RFC 9000 §17.1). The payload
// is a fresh slice. An error that wraps ErrDecrypt says the packet does
// not authenticate; another says it could not be a protected packet.
func (o *Opener) Open(p *Packet, largestPN int64) (pn int64, payload []byte, err error) {
	off := p.PNOffset
	if off <= 0 || off > len(p.Raw) {
		return 0, nil, fmt.Errorf("quic: %s packet has no packet number to open", p.Type)
	}
	// §5.4.2: the sample begins 4 bytes after the packet number's start.
	if len(p.Raw)-off < 4+16 {
		return 0, nil, fmt.Errorf("quic: %s packet of %d bytes too short for a header-protection sample", p.Type, len(p.Raw))
	}
	buf := append([]byte(nil), p.Raw...)
	pnLen := unmask(o.k, buf, off, 0)
	var truncated uint64
	for i := range pnLen {
		truncated = truncated<<8 | uint64(buf[off+i])
	}
	pn = DecodePacketNumber(largestPN, truncated, pnLen*8)
	hdr, ct := buf[:off+pnLen], buf[off+pnLen:]
	nonce := o.k.Nonce(uint64(pn))
	payload, err = o.k.AEAD().Open(ct[:0], nonce[:], ct, hdr)
	if err != nil {
		return pn, nil, fmt.Errorf("quic: %s packet %d: %w", p.Type, pn, ErrDecrypt)
	}
	return pn, payload, nil
}

// DecodePacketNumber recovers a full packet number from its truncated
// bits, the one closest to largest+1 (RFC 9000 Appendix A.3).
func DecodePacketNumber(largest int64, truncated uint64, bits int) int64 {
	expected := largest + 1
	win := int64(1) << bits
	hwin := win / 2
	candidate := expected&^(win-1) | int64(truncated)
	switch {
	case candidate <= expected-hwin && candidate < 1<<62-win:
		return candidate + win
	case candidate > expected+hwin && candidate >= win:
		return candidate - win
	}
	return candidate
}

// Header is what Seal writes before a packet's number: a long header
// (Initial, ZeroRTT, Handshake) or a short one (OneRTT).
type Header struct {
	Type PacketType
	// Version is written in a long header; 0 means the sealer's.
	Version    Version
	DCID, SCID []byte // SCID: long headers only
	Token      []byte // Initial only
	// PNLen is the packet number's length on the wire, 1 to 4; 0 means 4.
	PNLen    int
	KeyPhase bool // short header only
}

// Seal builds a protected packet of h, packet number pn and the plaintext
// payload (RFC 9001 §5): a long header's Length is written in 2 bytes
// when it fits, as the RFC 9001 Appendix A packets have it. The payload
// and the packet number together must be at least 4 bytes, for the
// header-protection sample (§5.4.2): pad with PADDING frames.
func (s *Sealer) Seal(h Header, pn int64, payload []byte) ([]byte, error) {
	pnLen := h.PNLen
	if pnLen == 0 {
		pnLen = 4
	}
	if pnLen < 1 || pnLen > 4 || pn < 0 || pn >= 1<<62 {
		return nil, fmt.Errorf("quic: seal: packet number %d in %d bytes", pn, pnLen)
	}
	if pnLen+len(payload) < 4 {
		return nil, errors.New("quic: seal: payload too short for a header-protection sample")
	}
	if len(h.DCID) > 255 || len(h.SCID) > 255 {
		return nil, errors.New("quic: seal: connection ID longer than 255 bytes")
	}
	var out []byte
	switch h.Type {
	case Initial, ZeroRTT, Handshake:
		v := h.Version
		if v == 0 {
			v = s.v
		}
		vp := v.params()
		if vp == nil {
			return nil, fmt.Errorf("quic: seal: version %s unknown", v)
		}
		out = append(out, 0xc0|vp.types[h.Type]<<4|byte(pnLen-1))
		out = binary.BigEndian.AppendUint32(out, uint32(v))
		out = append(out, byte(len(h.DCID)))
		out = append(out, h.DCID...)
		out = append(out, byte(len(h.SCID)))
		out = append(out, h.SCID...)
		if h.Type == Initial {
			out = appendVarint(out, uint64(len(h.Token)), 1)
			out = append(out, h.Token...)
		}
		out = appendVarint(out, uint64(pnLen+len(payload)+s.k.AEAD().Overhead()), 2)
	case OneRTT:
		first := 0x40 | byte(pnLen-1)
		if h.KeyPhase {
			first |= 0x04
		}
		out = append(out, first)
		out = append(out, h.DCID...)
	default:
		return nil, fmt.Errorf("quic: seal: %s packets are not protected", h.Type)
	}
	off := len(out)
	for i := pnLen - 1; i >= 0; i-- {
		out = append(out, byte(pn>>(8*i)))
	}
	nonce := s.k.Nonce(uint64(pn))
	// The header is the AEAD's associated data, so the ciphertext is
	// sealed apart from it (dst and additionalData must not overlap).
	out = append(out, s.k.AEAD().Seal(nil, nonce[:], payload, out)...)
	unmask(s.k, out, off, pnLen)
	return out, nil
}
