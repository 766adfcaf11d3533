package decoder

import "golang.org/x/crypto/cryptobyte"

// The DTLS record layer: one UDP datagram holds one or more records
// (RFC 6347 §4.1.1, RFC 9147 §4.3), each with an explicit epoch and
// sequence number, since datagrams are lost and reordered. Three headers:
//
//   - DTLSPlaintext (RFC 6347 §4.1): type, version, epoch, 48-bit
//     sequence_number, length. DTLS 1.0 and 1.2 protect records under the
//     same header; DTLS 1.3 uses it for its plaintext records only.
//   - DTLS 1.2 with a connection ID (RFC 9146 §4): type tls12_cid (25),
//     then the same fields with the CID before the length.
//   - DTLS 1.3's unified header (RFC 9147 §4): a first byte 001CSLEE, an
//     optional CID, an 8- or 16-bit sequence number (encrypted, §4.2.3),
//     an optional 16-bit length; without one the record runs to the end
//     of the datagram.
//
// The CID's length is negotiated and never on the wire: a passive reader
// knows it from the connection_id extensions of the hellos it saw (RFC
// 9146 §3); without them it guesses (dtlsGuessCIDLen).

// dtlsRecord is one record of a datagram.
type dtlsRecord struct {
	typ     uint8  // content type; 0 for a unified header, which hides it
	version uint16 // 0 for a unified header
	// epoch is the record's epoch; a unified header carries only its two
	// low bits (RFC 9147 §4), until the record is opened (its full epoch
	// then, dtls13_protection.go).
	epoch uint16
	// seq is the 48-bit sequence_number; a unified header's is the 8 or
	// 16 low bits as sent, encrypted (RFC 9147 §4.2.3), until the record
	// is opened (its 64-bit record number then).
	seq     uint64
	cid     []byte
	unified bool
	// header is the record header as sent: DTLS 1.3's additional data.
	header []byte
	body   []byte
}

// dtlsHeaderLen is DTLSPlaintext's header: type, version, epoch,
// sequence_number, length.
const dtlsHeaderLen = 13

// maxDTLSCID is the longest CID (RFC 9146 §3: cid<0..2^8-1>).
const maxDTLSCID = 255

// isUnifiedHeader reports whether b starts DTLS 1.3's DTLSCiphertext: its
// first three bits are 001 (RFC 9147 §4, and the demultiplexing of
// §4.1).
func isUnifiedHeader(b byte) bool { return b&0xe0 == 0x20 }

// dtlsRecordVersion reports a version a DTLS record header may carry: DTLS
// 1.0 or 1.2 (DTLS 1.3 sends 1.2's in its plaintext records, RFC 9147
// §5.1; 1.3's is accepted too).
func dtlsRecordVersion(v uint16) bool {
	return v == VersionDTLS10 || v == VersionDTLS12 || v == VersionDTLS13
}

// readDTLSPlaintext reads one DTLSPlaintext record (RFC 6347 §4.1), or a
// tls12_cid record with a CID of cidLen bytes (RFC 9146 §4; cidLen < 0:
// unknown, so not read). It fails without advancing s.
func readDTLSPlaintext(s *cryptobyte.String, cidLen int, r *dtlsRecord) bool {
	t := *s
	var typ uint8
	var version, epoch, seqHi uint16
	var seqLo uint32
	var cid, body cryptobyte.String
	if !t.ReadUint8(&typ) || typ < recordChangeCipherSpec || typ > recordACK || !t.ReadUint16(&version) ||
		!dtlsRecordVersion(version) || !t.ReadUint16(&epoch) || !t.ReadUint16(&seqHi) || !t.ReadUint32(&seqLo) {
		return false
	}
	if typ == recordTLS12CID && (cidLen < 0 || !t.ReadBytes((*[]byte)(&cid), cidLen)) {
		return false
	}
	if !t.ReadUint16LengthPrefixed(&body) {
		return false
	}
	n := len(*s) - len(t)
	*r = dtlsRecord{typ: typ, version: version, epoch: epoch, seq: uint64(seqHi)<<32 | uint64(seqLo),
		cid: cid, header: (*s)[:n-len(body)], body: body}
	*s = t
	return true
}

// readUnifiedHeader reads one DTLS 1.3 DTLSCiphertext (RFC 9147 §4) whose
// CID, when its C bit says there is one, is cidLen bytes. It fails
// without advancing s.
func readUnifiedHeader(s *cryptobyte.String, cidLen int, r *dtlsRecord) bool {
	t := *s
	var first uint8
	if !t.ReadUint8(&first) || !isUnifiedHeader(first) {
		return false
	}
	var cid cryptobyte.String
	if first&0x10 != 0 && (cidLen < 0 || !t.ReadBytes((*[]byte)(&cid), cidLen)) {
		return false
	}
	var seq uint64
	if first&0x08 != 0 {
		var v uint16
		if !t.ReadUint16(&v) {
			return false
		}
		seq = uint64(v)
	} else {
		var v uint8
		if !t.ReadUint8(&v) {
			return false
		}
		seq = uint64(v)
	}
	var body cryptobyte.String
	if first&0x04 != 0 {
		if !t.ReadUint16LengthPrefixed(&body) {
			return false
		}
	} else {
		body = t // no length: the rest of the datagram (§4)
		t = t[len(t):]
	}
	if len(body) == 0 {
		return false // an AEAD always adds a tag
	}
	n := len(*s) - len(t)
	*r = dtlsRecord{epoch: uint16(first & 0x03), seq: seq, cid: cid, unified: true,
		header: (*s)[:n-len(body)], body: body}
	*s = t
	return true
}

// dtlsCIDLens are the CID lengths a direction's records carry: plain for
// tls12_cid records, unified for DTLS 1.3's; -1 when not known.
type dtlsCIDLens struct{ plain, unified int }

// readDTLSRecord reads the next record of a datagram, whichever its
// header, guessing an unknown CID length. It fails without advancing s.
func readDTLSRecord(s *cryptobyte.String, cid dtlsCIDLens, r *dtlsRecord) (guessed, ok bool) {
	if len(*s) == 0 {
		return false, false
	}
	b := (*s)[0]
	switch {
	case isUnifiedHeader(b):
		n := cid.unified
		if b&0x10 != 0 && n < 0 {
			n, guessed = dtlsGuessCIDLen(*s, 1), true
		}
		return guessed, readUnifiedHeader(s, n, r)
	case b == recordTLS12CID:
		n := cid.plain
		if n < 0 {
			n, guessed = dtlsGuessCIDLen(*s, 11), true
		}
		return guessed, readDTLSPlaintext(s, n, r)
	}
	return false, readDTLSPlaintext(s, -1, r)
}

// dtlsGuessCIDLen guesses the length of the CID that starts at b[at] when
// the hellos that negotiated it were not seen: the shortest length with
// which the record's length field ends it exactly at the end of the
// datagram or at the start of another record. A unified header without a
// length field fits any: then the guess is 0 bytes, and the record
// (counted, not read) is as long as the rest. -1: no length fits.
func dtlsGuessCIDLen(b []byte, at int) int {
	unified := isUnifiedHeader(b[0])
	if unified && b[0]&0x04 == 0 {
		return 0
	}
	seqLen := 0
	if unified {
		seqLen = 1
		if b[0]&0x08 != 0 {
			seqLen = 2
		}
	}
	for n := 0; n <= maxDTLSCID; n++ {
		l := at + n + seqLen // the length field
		if l+2 > len(b) {
			return -1
		}
		end := l + 2 + (int(b[l])<<8 | int(b[l+1]))
		if end == len(b) || end < len(b) && (isUnifiedHeader(b[end]) || b[end] >= recordChangeCipherSpec && b[end] <= recordACK) {
			return n
		}
	}
	return -1
}
