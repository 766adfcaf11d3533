package flows

import (
	"bytes"
	"testing"

	"github.com/tlsscope/tlsscope/flows/capture"
	"github.com/tlsscope/tlsscope/internal/capgen"
)

// loadPackets is a 20 MB load capture held in memory, its size given to
// b as the bytes of one run.
func loadPackets(b *testing.B) []capture.Packet {
	var buf bytes.Buffer
	if _, err := capgen.WriteLoad(&buf, capgen.LoadOptions{Bytes: 20 << 20}); err != nil {
		b.Fatal(err)
	}
	src, err := capture.OpenReader("load", bytes.NewReader(buf.Bytes()))
	if err != nil {
		b.Fatal(err)
	}
	pkts, err := capture.ReadAll(src)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	return pkts
}

// BenchmarkAnalyzer runs the whole packet path (link decoding, connection
// table, reassembly while undecided, decoder, verdicts) over a 20 MB load
// capture held in memory.
func BenchmarkAnalyzer(b *testing.B) {
	pkts := loadPackets(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		a := NewAnalyzer(DefaultOptions)
		a.OnResult = func(*Result) {}
		for i := range pkts {
			a.Packet(pkts[i].Data, pkts[i].CI, pkts[i].Link)
		}
		a.Finish()
	}
	b.ReportMetric(float64(len(pkts)), "packets/op")
}
