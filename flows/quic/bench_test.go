package quic

import (
	"fmt"
	"testing"
)

// BenchmarkOpen removes the header protection of a 1200-byte 1-RTT packet
// and decrypts it (RFC 9001 §5.3, §5.4), with AES and with ChaCha20.
func BenchmarkOpen(b *testing.B) {
	for _, suite := range []uint16{0x1301, 0x1303} {
		b.Run(fmt.Sprintf("%#04x", suite), func(b *testing.B) {
			dcid := []byte{1, 2, 3, 4, 5, 6, 7, 8}
			s, err := NewSealer(V1, suite, secretFor(suite, 3))
			if err != nil {
				b.Fatal(err)
			}
			raw, err := s.Seal(Header{Type: OneRTT, DCID: dcid, PNLen: 2}, 1000, make([]byte, 1200-1-len(dcid)-2-16))
			if err != nil {
				b.Fatal(err)
			}
			pkts, err := ParseDatagram(raw, len(dcid))
			if err != nil || len(pkts) != 1 {
				b.Fatal(err)
			}
			o, _ := NewOpener(V1, suite, secretFor(suite, 3))
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := o.Open(&pkts[0], 999); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInitialOpeners derives both sides' Initial keys from a client's
// Destination Connection ID (RFC 9001 §5.2), as every QUIC connection does.
func BenchmarkInitialOpeners(b *testing.B) {
	dcid := []byte{0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := InitialOpeners(V1, dcid); err != nil {
			b.Fatal(err)
		}
	}
}
