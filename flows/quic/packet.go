package quic

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// PacketType is the kind of a QUIC packet (RFC 9000 §17).
type PacketType uint8

const (
	Initial            PacketType = iota // RFC 9000 §17.2.2
	ZeroRTT                              // §17.2.3
	Handshake                            // §17.2.4
	Retry                                // §17.2.5
	VersionNegotiation                   // §17.2.1
	OneRTT                               // short header, §17.3.1
	// UnknownVersion is a long header of a version this package cannot
	// read: only the fields of RFC 8999 §5.1 (version, connection IDs) are
	// parsed, and it takes the rest of the datagram.
	UnknownVersion
)

var packetTypeNames = [...]string{"Initial", "0-RTT", "Handshake", "Retry", "VersionNegotiation", "1-RTT", "UnknownVersion"}

func (t PacketType) String() string {
	if int(t) < len(packetTypeNames) {
		return packetTypeNames[t]
	}
	return fmt.Sprintf("PacketType(%d)", uint8(t))
}

// Packet is one packet of a datagram with its header parsed and its
// protection still on. Its slices point into the datagram.
type Packet struct {
	Type    PacketType
	Version Version // 0 for a short header
	// DCID and SCID are the connection IDs; a short header has only DCID,
	// empty when the caller did not know its length.
	DCID, SCID []byte
	// Token is an Initial's token (§17.2.2) or a Retry's (§17.2.5).
	Token []byte
	// SupportedVersions are a Version Negotiation packet's (§17.2.1).
	SupportedVersions []Version
	// Raw is the whole packet as in the datagram (a Retry's includes its
	// integrity tag).
	Raw []byte
	// PNOffset is where the protected packet number begins in Raw, 0 when
	// the packet has none (Version Negotiation, Retry, an unknown version,
	// a short header whose DCID length is unknown).
	PNOffset int
}

// maxCIDLen bounds a connection ID in v1, v2 and the drafts (RFC 9000
// §17.2); Version Negotiation and unknown versions allow 255 (RFC 8999).
const maxCIDLen = 20

// minShortPacket is the least a short-header datagram can be and still
// carry a sample for header protection (RFC 9000 §10.3: 21 bytes).
const minShortPacket = 21

var errTruncated = errors.New("truncated")

// ParseDatagram parses the packets coalesced in one UDP datagram (RFC 9000
// §12.2). A short-header packet takes the rest of the datagram; its DCID
// is shortDCIDLen bytes, or left empty when shortDCIDLen is -1. Zero bytes
// after the last long-header packet are padding, not a packet. On an error
// the packets before the bad one are returned with it.
func ParseDatagram(b []byte, shortDCIDLen int) ([]Packet, error) {
	var pkts []Packet
	for off := 0; off < len(b); {
		rest := b[off:]
		var p Packet
		var n int
		var err error
		if rest[0]&0x80 == 0 {
			if len(pkts) > 0 && allZero(rest) {
				break
			}
			p, err = parseShort(rest, shortDCIDLen)
			n = len(rest)
		} else {
			p, n, err = parseLong(rest)
		}
		if err != nil {
			return pkts, fmt.Errorf("quic: packet %d at offset %d: %w", len(pkts)+1, off, err)
		}
		pkts = append(pkts, p)
		off += n
	}
	return pkts, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// parseShort reads a 1-RTT packet (RFC 9000 §17.3.1).
func parseShort(b []byte, dcidLen int) (Packet, error) {
	p := Packet{Type: OneRTT, Raw: b}
	if dcidLen < 0 {
		return p, nil
	}
	if dcidLen > maxCIDLen {
		return p, fmt.Errorf("short header: connection ID length %d > %d", dcidLen, maxCIDLen)
	}
	if len(b) < 1+dcidLen+1 {
		return p, fmt.Errorf("short header: %d bytes, too short for a %d-byte connection ID and a packet number", len(b), dcidLen)
	}
	p.DCID = b[1 : 1+dcidLen]
	p.PNOffset = 1 + dcidLen
	return p, nil
}

// parseLong reads one long-header packet (RFC 9000 §17.2) and returns its
// length in b.
func parseLong(b []byte) (Packet, int, error) {
	var p Packet
	if len(b) < 7 {
		return p, 0, fmt.Errorf("long header: %d bytes, shorter than 7", len(b))
	}
	p.Version = Version(binary.BigEndian.Uint32(b[1:5]))
	vp := p.Version.params()
	limit := 255
	if vp != nil {
		limit = maxCIDLen
	}
	pos := 5
	cid := func(name string) ([]byte, error) {
		if pos >= len(b) {
			return nil, fmt.Errorf("long header: %s length: %w", name, errTruncated)
		}
		n := int(b[pos])
		if n > limit {
			return nil, fmt.Errorf("long header: %s length %d > %d for version %s", name, n, limit, p.Version)
		}
		if pos+1+n > len(b) {
			return nil, fmt.Errorf("long header: %s of %d bytes: %w", name, n, errTruncated)
		}
		pos += 1 + n
		return b[pos-n : pos], nil
	}
	var err error
	if p.DCID, err = cid("destination connection ID"); err != nil {
		return p, 0, err
	}
	if p.SCID, err = cid("source connection ID"); err != nil {
		return p, 0, err
	}
	p.Raw = b
	switch {
	case p.Version == 0:
		// §17.2.1: the rest is a list of 32-bit versions.
		p.Type = VersionNegotiation
		list := b[pos:]
		if len(list)%4 != 0 {
			return p, 0, fmt.Errorf("version negotiation: supported versions take %d bytes, not a multiple of 4", len(list))
		}
		p.SupportedVersions = make([]Version, len(list)/4)
		for i := range p.SupportedVersions {
			p.SupportedVersions[i] = Version(binary.BigEndian.Uint32(list[4*i:]))
		}
		return p, len(b), nil
	case vp == nil:
		p.Type = UnknownVersion
		return p, len(b), nil
	}
	bits := b[0] >> 4 & 3
	for t, tb := range vp.types {
		if tb == bits {
			p.Type = PacketType(t)
		}
	}
	if p.Type == Retry {
		// §17.2.5: the token runs to the 16-byte integrity tag.
		if len(b)-pos < 16 {
			return p, 0, fmt.Errorf("retry: %d bytes after the connection IDs, too short for the 16-byte integrity tag", len(b)-pos)
		}
		p.Token = b[pos : len(b)-16]
		return p, len(b), nil
	}
	if p.Type == Initial {
		n, l := readVarint(b[pos:])
		if l == 0 {
			return p, 0, fmt.Errorf("initial: token length: %w varint", errTruncated)
		}
		pos += l
		if n > uint64(len(b)-pos) {
			return p, 0, fmt.Errorf("initial: token length %d runs past the datagram (%d bytes left)", n, len(b)-pos)
		}
		p.Token = b[pos : pos+int(n)]
		pos += int(n)
	}
	n, l := readVarint(b[pos:])
	if l == 0 {
		return p, 0, fmt.Errorf("%s: length: %w varint", p.Type, errTruncated)
	}
	pos += l
	if n > uint64(len(b)-pos) {
		return p, 0, fmt.Errorf("%s: length %d runs past the datagram (%d bytes left)", p.Type, n, len(b)-pos)
	}
	end := pos + int(n)
	p.Raw = b[:end]
	p.PNOffset = pos
	return p, end, nil
}

// readVarint reads a variable-length integer (RFC 9000 §16) and returns it
// with its length, 0 when b is too short.
func readVarint(b []byte) (uint64, int) {
	if len(b) == 0 {
		return 0, 0
	}
	l := 1 << (b[0] >> 6)
	if len(b) < l {
		return 0, 0
	}
	v := uint64(b[0] & 0x3f)
	for _, c := range b[1:l] {
		v = v<<8 | uint64(c)
	}
	return v, l
}

// appendVarint appends v (< 2^62) in the shortest encoding of at least
// min bytes (1, 2, 4 or 8).
func appendVarint(b []byte, v uint64, min int) []byte {
	switch {
	case v < 1<<6 && min <= 1:
		return append(b, byte(v))
	case v < 1<<14 && min <= 2:
		return binary.BigEndian.AppendUint16(b, uint16(v)|0x4000)
	case v < 1<<30 && min <= 4:
		return binary.BigEndian.AppendUint32(b, uint32(v)|0x80000000)
	}
	return binary.BigEndian.AppendUint64(b, v|0xc000000000000000)
}

// LooksLikeQUIC is a cheap test of a UDP payload: a long header of a
// version this package reads with the fixed bit set, a Version
// Negotiation packet, or a short header with the fixed bit set and room
// for a header-protection sample (RFC 9000 §17; RFC 8999 for VN).
func LooksLikeQUIC(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	if b[0]&0x80 == 0 {
		return b[0]&0x40 != 0 && len(b) >= minShortPacket
	}
	if len(b) < 7 {
		return false
	}
	v := Version(binary.BigEndian.Uint32(b[1:5]))
	if v == 0 {
		return true
	}
	// A reserved version (0x?a?a?a?a, RFC 9000 §15) is what clients send
	// to make a server answer with Version Negotiation.
	return b[0]&0x40 != 0 && (v.Known() || v.Reserved())
}
