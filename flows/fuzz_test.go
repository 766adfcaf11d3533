package flows

import (
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tlsscope/tlsscope/flows/capture"
)

var fuzzLinks = []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
	layers.LinkTypeNull, layers.LinkTypeRaw, layers.LinkTypeIPv6}

// FuzzPacket sends arbitrary frames of every supported link type through
// the whole packet path: link decoding, the connection table, reassembly
// and the decoder. Frames are fed three times with rising sequence numbers
// untouched, so that reassembly and the decoder see more than one segment.
func FuzzPacket(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(testdata, "*.pcap"))
	// DTLS datagrams of real stacks (OpenSSL, GnuTLS, pion, DTLS 1.0 to
	// 1.3, fragmented certificates) and decoder's DTLS captures.
	dtls, _ := filepath.Glob(filepath.Join(testdata, "netlab", "dtls-*.client.pcap"))
	more, _ := filepath.Glob(filepath.Join("..", "decoder", "testdata", "dtls-*.pcap"))
	for _, name := range append(append(files, dtls...), more...) {
		src, err := capture.OpenFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for i := 0; i < 12; i++ {
			p, err := src.Next()
			if err == io.EOF {
				break
			}
			f.Add(append([]byte(nil), p.Data...), uint8(0))
		}
		src.Close()
	}
	f.Fuzz(func(t *testing.T, frame []byte, link uint8) {
		a := NewAnalyzer(DefaultOptions)
		lt := fuzzLinks[int(link)%len(fuzzLinks)]
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := 0; i < 3; i++ {
			ci := gopacket.CaptureInfo{Timestamp: at.Add(time.Duration(i) * time.Second), CaptureLength: len(frame), Length: len(frame)}
			a.Packet(frame, ci, lt)
		}
		for _, r := range a.Finish() {
			if r.HS == nil || r.Outcome == "" {
				t.Fatalf("result without handshake or outcome: %+v", r)
			}
		}
	})
}
