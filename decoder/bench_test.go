package decoder

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkConn decodes the handshakes of the generated captures, both
// directions, in 1448-byte pieces as TCP would deliver them.
func BenchmarkConn(b *testing.B) {
	streams := captureStreams(b)
	total := 0
	for _, s := range streams {
		total += len(s[0]) + len(s[1])
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range streams {
			c := NewConn(true)
			for i := 0; i < len(s[0]) || i < len(s[1]); i += 1448 {
				if i < len(s[0]) {
					c.Feed(0, s[0][i:min(i+1448, len(s[0]))], time.Time{})
				}
				if i < len(s[1]) {
					c.Feed(1, s[1][i:min(i+1448, len(s[1]))], time.Time{})
				}
			}
			c.State()
		}
	}
}

// BenchmarkClientHello parses one TLS 1.3 ClientHello with GREASE.
func BenchmarkClientHello(b *testing.B) {
	msg := draft23ClientHello[5:]
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		var m ClientHello
		if !m.unmarshal(msg) {
			b.Fatal("does not parse")
		}
	}
}

// BenchmarkCipher13Open opens one 1400-byte TLS 1.3 record per iteration
// (RFC 8446 §5.2), for an AES-GCM, the ChaCha20-Poly1305 and a CCM suite.
func BenchmarkCipher13Open(b *testing.B) {
	for _, suite := range []uint16{0x1301, 0x1303, 0x1304} {
		b.Run(fmt.Sprintf("%#04x", suite), func(b *testing.B) {
			secret := secretFor(suite, 0x42)
			body := seal13(b, suite, secret, 7, 23, make([]byte, 1400), 0)
			c, err := newCipher13(suite, secret)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := c.Open(23, 0x0303, body, 7); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCipher13Keys derives a record cipher from a traffic secret, as
// each epoch of each decrypted connection does (RFC 8446 §7.3).
func BenchmarkCipher13Keys(b *testing.B) {
	secret := secretFor(0x1301, 0x42)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := newCipher13(0x1301, secret); err != nil {
			b.Fatal(err)
		}
	}
}
