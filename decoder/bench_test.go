package decoder

import (
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
