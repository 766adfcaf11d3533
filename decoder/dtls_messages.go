package decoder

import (
	"bytes"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// The handshake messages only DTLS has, and what the machine does with
// them. A DTLSConn hands the machine every message in TLS's encoding
// (type and 24-bit length, RFC 8446 §4); only the ClientHello's cookie
// field and HelloVerifyRequest differ in their bodies.

// HelloVerifyRequest is a DTLS server's stateless cookie challenge (RFC
// 6347 §4.2.1): the client must send its ClientHello again with the
// cookie before the server keeps any state.
type HelloVerifyRequest struct {
	// ServerVersion is server_version, which RFC 6347 §4.2.1 asks to be
	// DTLS 1.0 whatever is negotiated later.
	ServerVersion uint16
	Cookie        []byte
}

func (m *HelloVerifyRequest) unmarshal(data []byte) bool {
	s := cryptobyte.String(data)
	var v uint16
	var cookie cryptobyte.String
	if !s.Skip(4) || !s.ReadUint16(&v) || !s.ReadUint8LengthPrefixed(&cookie) || !s.Empty() {
		return false
	}
	*m = HelloVerifyRequest{ServerVersion: v, Cookie: bytes.Clone(cookie)}
	return true
}

// helloVerifyRequest reads a HelloVerifyRequest into the handshake. The
// first ClientHello and it are not part of the transcript the Finished
// messages cover (RFC 6347 §4.2.1): the transcript starts again at the
// ClientHello that answers it.
func (m *Machine) helloVerifyRequest(side Side, msg []byte, ladder *Message, bad func()) {
	hvr := new(HelloVerifyRequest)
	if side != Server || !hvr.unmarshal(msg) {
		bad()
		return
	}
	if m.HS.HelloVerifyRequest == nil {
		m.HS.HelloVerifyRequest = hvr
	}
	ladder.Note = fmt.Sprintf("cookie %d bytes", len(hvr.Cookie))
	if m.kt != nil && !m.kt.full {
		m.kt.transcript = m.kt.transcript[:0]
	}
}

// appendDTLSHeader appends the DTLS handshake header of msg (RFC 6347
// §4.2.2: msg_type, length, message_seq, fragment_offset, fragment_length)
// as if it were sent in one fragment, which is how the Finished
// messages' hash sees every message (§4.2.6).
func appendDTLSHeader(b, msg []byte, seq uint16) []byte {
	b = append(b, msg[:4]...)
	b = append(b, byte(seq>>8), byte(seq), 0, 0, 0)
	return append(b, msg[1:4]...)
}

// SRTPProfileName names a DTLS-SRTP protection profile (RFC 5764 §4.1.2,
// RFC 7714 §14.2).
func SRTPProfileName(p uint16) string {
	switch p {
	case 0x0001:
		return "SRTP_AES128_CM_HMAC_SHA1_80"
	case 0x0002:
		return "SRTP_AES128_CM_HMAC_SHA1_32"
	case 0x0005:
		return "SRTP_NULL_HMAC_SHA1_80"
	case 0x0006:
		return "SRTP_NULL_HMAC_SHA1_32"
	case 0x0007:
		return "SRTP_AEAD_AES_128_GCM"
	case 0x0008:
		return "SRTP_AEAD_AES_256_GCM"
	}
	return fmt.Sprintf("0x%04x", p)
}
