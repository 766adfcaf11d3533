package flows

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/tlsscope/tlsscope/flows/capture"
	"github.com/tlsscope/tlsscope/internal/capgen"
)

// TestBytesPerQuietConnection: a connection that only sent a SYN (a SYN
// flood's) costs the table a few hundred bytes, measured with the
// allocator's counters, so that the default table cap holds in well under
// the memory budget. And with a small cap, the flood is judged early, said
// in Stats, and the table never holds more than the cap.
func TestBytesPerQuietConnection(t *testing.T) {
	var buf bytes.Buffer
	truth, err := capgen.WriteHostile(&buf, "synflood", 0.01) // 20,000 SYNs
	if err != nil {
		t.Fatal(err)
	}
	src, err := capture.OpenReader("synflood", &buf)
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := capture.ReadAll(src)
	if err != nil {
		t.Fatal(err)
	}
	// Judge nothing before the end: every SYN stays in the table.
	a := NewAnalyzer(Options{IdleTimeout: 1 << 62, MaxConnections: 1 << 30})
	a.OnResult = func(*Result) {}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range pkts {
		a.Packet(pkts[i].Data, pkts[i].CI, pkts[i].Link)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	n := len(a.table)
	per := float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
	t.Logf("%d connections in the table, %.0f bytes each", n, per)
	if n < truth.Conns*9/10 || per > 1024 {
		t.Errorf("%d connections, %.0f bytes each; want all %d, at most 1 KiB each", n, per, truth.Conns)
	}
	runtime.KeepAlive(a)

	b := NewAnalyzer(Options{MaxConnections: 1000})
	results := 0
	b.OnResult = func(*Result) { results++ }
	for i := range pkts {
		b.Packet(pkts[i].Data, pkts[i].CI, pkts[i].Link)
		if len(b.table) > 1000 {
			t.Fatalf("%d connections in a table capped at 1000", len(b.table))
		}
	}
	results += len(b.Finish())
	if b.Stats.JudgedEarly == 0 || results != truth.RowCount() {
		t.Errorf("judged early %d, %d results; want some judged early and all %d reported", b.Stats.JudgedEarly, results, truth.RowCount())
	}
}
