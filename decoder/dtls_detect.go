package decoder

import "golang.org/x/crypto/cryptobyte"

// Finding DTLS by content: WebRTC puts STUN, DTLS and SRTP on one random
// UDP port and tells them apart by the first byte (RFC 7983 §7, RFC 9443
// §3): 0–3 STUN, 16–19 ZRTP, 20–63 DTLS, 64–79 TURN channels, 128–191
// RTP and RTCP. QUIC's long headers start at 0xc0 and its short headers
// at 0x40 (RFC 9000 §17). DTLS's 20–63 is the record content types
// (20–26) and DTLS 1.3's unified header (001xxxxx, RFC 9147 §4.1).
// A first byte in range is weak evidence (a DNS ID can be anything):
// the whole datagram must read as records, each with a DTLS version and
// a length that fits.

// DTLSEvidence is how strongly a datagram looks like DTLS.
type DTLSEvidence uint8

const (
	// DTLSNone: not DTLS.
	DTLSNone DTLSEvidence = iota
	// DTLSRecords: the datagram is made of DTLSPlaintext records with
	// DTLS versions and lengths that fill it exactly: DTLS for a flow
	// already known to carry it.
	DTLSRecords
	// DTLSHello: it also starts with the first fragment of a ClientHello,
	// a HelloVerifyRequest or a ServerHello in epoch 0, with a DTLS
	// version in the message: enough to start following a flow.
	DTLSHello
)

// DetectDTLS says whether a UDP payload is DTLS. Only records with the
// full DTLSPlaintext header are evidence; a DTLS 1.3 unified header, whose
// fixed bits are three, is taken after the first record only.
func DetectDTLS(payload []byte) DTLSEvidence {
	if len(payload) < dtlsHeaderLen || payload[0] < recordChangeCipherSpec || payload[0] > recordApplicationData {
		return DTLSNone
	}
	s := cryptobyte.String(payload)
	var first dtlsRecord
	if !readDTLSPlaintext(&s, -1, &first) || !plausibleDTLSRecord(&first) {
		return DTLSNone
	}
	for !s.Empty() {
		var r dtlsRecord
		if _, ok := readDTLSRecord(&s, dtlsCIDLens{-1, -1}, &r); !ok || !r.unified && !plausibleDTLSRecord(&r) {
			return DTLSNone
		}
	}
	if dtlsHelloStart(&first) {
		return DTLSHello
	}
	return DTLSRecords
}

// plausibleDTLSRecord checks what an epoch-0 record's content must be: a
// ChangeCipherSpec of one byte 1 (RFC 6347 §4.1: 0x01), an alert of a
// defined level, handshake fragments each with a header that fits.
func plausibleDTLSRecord(r *dtlsRecord) bool {
	if len(r.body) == 0 || len(r.body) > maxRecordLength {
		return false
	}
	if r.epoch != 0 {
		return true // protected: nothing to check
	}
	switch r.typ {
	case recordChangeCipherSpec:
		return len(r.body) == 1 && r.body[0] == 1
	case recordAlert:
		return plainAlerts(r.body)
	case recordHandshake:
		s := cryptobyte.String(r.body)
		for !s.Empty() {
			var f dtlsFragment
			if !readDTLSFragment(&s, &f) || handshakeTypeNames[f.msgType] == "" {
				return false
			}
		}
		return true
	}
	return true
}

// dtlsHelloStart reports whether a record holds the first fragment of a
// hello (RFC 6347 §4.2.1, §4.2.2) whose version is a DTLS one.
func dtlsHelloStart(r *dtlsRecord) bool {
	if r.typ != recordHandshake || r.epoch != 0 {
		return false
	}
	s := cryptobyte.String(r.body)
	var f dtlsFragment
	if !readDTLSFragment(&s, &f) || f.offset != 0 || len(f.data) < 2 {
		return false
	}
	switch f.msgType {
	case typeClientHello, typeServerHello, typeHelloVerifyRequest:
		v := uint16(f.data[0])<<8 | uint16(f.data[1])
		return dtlsRecordVersion(v)
	}
	return false
}
