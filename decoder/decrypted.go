package decoder

import (
	"bytes"
	"compress/zlib"
	"crypto/subtle"
	"fmt"
	"io"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/crypto/cryptobyte"
)

// What the machine reads only with keys: the messages TLS 1.3 protects
// (EncryptedExtensions, compressed certificates, KeyUpdate), the epochs
// they move, and the TLS 1.2 Finished checked against the transcript.

// EncryptedExtensions is what the server's TLS 1.3 EncryptedExtensions
// says (RFC 8446 §4.3.1): the chosen ALPN above all.
type EncryptedExtensions struct {
	ALPN       string
	EarlyData  bool
	Extensions []uint16
}

func (m *EncryptedExtensions) unmarshal(data []byte) bool {
	*m = EncryptedExtensions{}
	s := cryptobyte.String(data)
	var exts cryptobyte.String
	if !s.Skip(4) || !s.ReadUint16LengthPrefixed(&exts) || !s.Empty() {
		return false
	}
	for !exts.Empty() {
		var typ uint16
		var body cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&body) {
			return false
		}
		m.Extensions = append(m.Extensions, typ)
		switch typ {
		case extALPN:
			// RFC 7301 §3.1: a list holding exactly the one protocol.
			var list, proto cryptobyte.String
			if !body.ReadUint16LengthPrefixed(&list) || !list.ReadUint8LengthPrefixed(&proto) || len(proto) == 0 {
				return false
			}
			m.ALPN = string(proto)
		case extEarlyData:
			m.EarlyData = true
		}
	}
	return true
}

// Certificate compression algorithms (RFC 8879 §7.3).
const (
	certZlib   = 1
	certBrotli = 2
	certZstd   = 3
)

// decompressCertificate turns a CompressedCertificate (RFC 8879 §4) into
// the Certificate message it holds, header included. The uncompressed
// length it announces is bounded by maxHandshakeMessage before anything
// is decompressed, and the decompressor may not write a byte past it: a
// bomb costs at most that.
func decompressCertificate(msg []byte) ([]byte, error) {
	s := cryptobyte.String(msg[4:])
	var alg uint16
	var n uint32
	var compressed cryptobyte.String
	if !s.ReadUint16(&alg) || !s.ReadUint24(&n) || !s.ReadUint24LengthPrefixed(&compressed) || !s.Empty() {
		return nil, fmt.Errorf("malformed CompressedCertificate")
	}
	if n == 0 || n > maxHandshakeMessage {
		return nil, fmt.Errorf("CompressedCertificate announces %d bytes uncompressed (at most %d KiB)", n, maxHandshakeMessage>>10)
	}
	var r io.Reader
	switch alg {
	case certZlib:
		z, err := zlib.NewReader(bytes.NewReader(compressed))
		if err != nil {
			return nil, fmt.Errorf("zlib: %v", err)
		}
		r = z
	case certBrotli:
		r = brotli.NewReader(bytes.NewReader(compressed))
	case certZstd:
		z, err := zstd.NewReader(bytes.NewReader(compressed), zstd.WithDecoderMaxMemory(uint64(n)+1<<16), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("zstd: %v", err)
		}
		defer z.Close()
		r = z
	default:
		return nil, fmt.Errorf("CompressedCertificate with unknown algorithm %d", alg)
	}
	out := make([]byte, 4+n)
	out[0], out[1], out[2], out[3] = typeCertificate, byte(n>>16), byte(n>>8), byte(n)
	if _, err := io.ReadFull(r, out[4:]); err != nil {
		return nil, fmt.Errorf("CompressedCertificate: %d bytes announced, %v", n, err)
	}
	if extra, _ := r.Read(make([]byte, 1)); extra > 0 {
		return nil, fmt.Errorf("CompressedCertificate: more than the %d bytes announced", n)
	}
	return out, nil
}

// maxTranscript bounds the handshake transcript kept to check Finished.
const maxTranscript = 1 << 20

// transcribe adds a handshake message to the transcript (with keys only).
func (m *Machine) transcribe(msg []byte) {
	k := m.kt
	if k == nil || k.full {
		return
	}
	if len(k.transcript)+len(msg)+8 > maxTranscript {
		k.full, k.transcript = true, nil
		return
	}
	if m.dtls {
		// RFC 6347 §4.2.6: the hash covers each message as if sent as
		// one fragment, with its DTLS header.
		k.transcript = appendDTLSHeader(k.transcript, msg, m.dtlsSeq)
		k.transcript = append(k.transcript, msg[4:]...)
		return
	}
	k.transcript = append(k.transcript, msg...)
}

// FinishedCheck is what a TLS 1.2 Finished's verify_data said.
type FinishedCheck uint8

const (
	FinishedUnchecked FinishedCheck = iota
	FinishedVerified
	FinishedMismatch
)

var finishedCheckNames = [...]string{"unchecked", "verified", "mismatch"}

func (f FinishedCheck) String() string { return finishedCheckNames[f] }

// finishedChecker is a Keys that knows the master secret, to check a TLS
// 1.2 (and earlier) Finished against the transcript (RFC 5246 §7.4.9).
type finishedChecker interface {
	masterSecret(hs *Handshake) []byte
}

// checkFinished checks a decrypted TLS 1.2 Finished from side against the
// transcript before it.
func (m *Machine) checkFinished(side Side, msg []byte) {
	if m.kt == nil {
		return
	}
	fc, ok := m.kt.keys.(finishedChecker)
	sh := m.HS.ServerHello
	if !ok || sh == nil || m.kt.full || len(msg) < 4 {
		return
	}
	master := fc.masterSecret(&m.HS)
	if master == nil {
		return
	}
	v := m.version()
	want := finishedVerifyData12(v, sh.CipherSuite, master, side == Client, transcriptHash12(v, sh.CipherSuite, m.kt.transcript))
	if want == nil {
		return
	}
	m.HS.Finished[side] = FinishedMismatch
	if subtle.ConstantTimeCompare(want, msg[4:]) == 1 {
		m.HS.Finished[side] = FinishedVerified
	}
}
