package flows

import (
	"io"
	"testing"

	"github.com/tlsscope/tlsscope/flows/capture"
)

// memLive is a live source that has every packet ready at once: what a
// kernel ring full after a burst hands over.
type memLive struct {
	pkts []capture.Packet
	i    int
}

func (m *memLive) Next() (capture.Packet, error) {
	if m.i == len(m.pkts) {
		return capture.Packet{}, io.EOF
	}
	m.i++
	return m.pkts[m.i-1], nil
}
func (m *memLive) Close() error { return nil }
func (m *memLive) Name() string { return "mem" }
func (m *memLive) Live() bool   { return true }

// BenchmarkLiveRun is Run on a live source whose packets are all there:
// how fast the analysis drains a ring after a burst, hand-over between
// the reading and the analysing goroutine included.
func BenchmarkLiveRun(b *testing.B) {
	pkts := loadPackets(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		opts := DefaultOptions
		opts.Live = true
		a := NewAnalyzer(opts)
		a.OnResult = func(*Result) {}
		if err := a.Run(&memLive{pkts: pkts}); err != nil {
			b.Fatal(err)
		}
		a.Finish()
	}
	b.ReportMetric(float64(len(pkts))*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}
