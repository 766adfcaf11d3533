package decoder

import (
	"crypto/hmac"
	"hash"
)

// The Finished of DTLS 1.3 (RFC 9147 §5.2, RFC 8446 §4.4.4), checked with
// the sender's handshake traffic secret from the key log:
//
//	finished_key = HKDF-Expand-Label(BaseKey, "finished", "", Hash.length)
//	verify_data  = HMAC(finished_key, Transcript-Hash(Handshake Context,
//	                    Certificate*, CertificateVerify*))
//
// with DTLS 1.3's "dtls13" label prefix (RFC 9147 §5.9). The transcript is
// TLS 1.3's: "the message transcript is computed over the original TLS
// 1.3-style Handshake messages without the message_seq, fragment_offset,
// and fragment_length values" (RFC 9147 §5.2), a change from DTLS 1.2,
// whose transcript keeps them (RFC 6347 §4.2.6). After a
// HelloRetryRequest, the first ClientHello is replaced by the synthetic
// message_hash message (RFC 8446 §4.4.1).

// finished13Checker is a Keys that knows a side's handshake traffic secret.
type finished13Checker interface {
	handshakeSecret13(from Side, hs *Handshake) []byte
}

// dtlsHandshakeHeaderLen is DTLS's handshake header: msg_type, length,
// message_seq, fragment_offset, fragment_length (RFC 9147 §5.2).
const dtlsHandshakeHeaderLen = 12

// typeMessageHash is the synthetic handshake message that stands for the
// first ClientHello after a HelloRetryRequest (RFC 8446 §4.4.1).
const typeMessageHash = 254

// checkFinished13 checks a decrypted DTLS 1.3 Finished from side against
// the transcript before it.
func (m *Machine) checkFinished13(side Side, msg []byte) {
	if m.kt == nil || m.kt.full || len(msg) < 4 {
		return
	}
	fc, ok := m.kt.keys.(finished13Checker)
	if !ok || m.HS.ServerHello == nil {
		return
	}
	h := suiteHash13(m.HS.ServerHello.CipherSuite)
	secret := fc.handshakeSecret13(side, &m.HS)
	if h == nil || len(secret) != h().Size() {
		return
	}
	finishedKey := ScheduleDTLS13.ExpandLabel(h, secret, "finished", nil, h().Size())
	mac := hmac.New(h, finishedKey)
	mac.Write(transcriptHashDTLS13(h, m.kt.transcript, m.HS.HelloRetryRequest != nil))
	m.HS.Finished[side] = FinishedMismatch
	if hmac.Equal(mac.Sum(nil), msg[4:]) {
		m.HS.Finished[side] = FinishedVerified
	}
}

// transcriptHashDTLS13 hashes a DTLS transcript (each message with its
// 12-byte DTLS header, as transcribe keeps it) as DTLS 1.3 does: each
// message with TLS's 4-byte header. hrr: the first message, the first
// ClientHello, is replaced by message_hash.
func transcriptHashDTLS13(h func() hash.Hash, transcript []byte, hrr bool) []byte {
	out := h()
	for first := true; len(transcript) >= dtlsHandshakeHeaderLen; first = false {
		n := int(transcript[1])<<16 | int(transcript[2])<<8 | int(transcript[3])
		if dtlsHandshakeHeaderLen+n > len(transcript) {
			break // cannot be: transcribe wrote it
		}
		header, body := transcript[:4], transcript[dtlsHandshakeHeaderLen:dtlsHandshakeHeaderLen+n]
		transcript = transcript[dtlsHandshakeHeaderLen+n:]
		if first && hrr && header[0] == typeClientHello {
			ch1 := h()
			ch1.Write(header)
			ch1.Write(body)
			sum := ch1.Sum(nil)
			out.Write([]byte{typeMessageHash, 0, 0, byte(len(sum))})
			out.Write(sum)
			continue
		}
		out.Write(header)
		out.Write(body)
	}
	return out.Sum(nil)
}
