//go:build long

// The load capture test writes 1.1 GB and takes half a minute: make
// test-long runs it (go test -tags long ./flows).

package flows

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows/capture"
	"github.com/tlsscope/tlsscope/internal/capgen"
)

type seen struct {
	stream  int
	outcome Outcome
	version uint16
}

// loadRun reads a capture with streamed results, keeping only a summary of
// each, and returns them with the peak live heap sampled every 20,000 packets.
func loadRun(t *testing.T, file string) ([]seen, uint64, int64) {
	src, err := capture.OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	a := NewAnalyzer(DefaultOptions)
	var out []seen
	a.OnResult = func(r *Result) { out = append(out, seen{r.Stream, r.Outcome, r.HS.Version()}) }
	var peak uint64
	var ms runtime.MemStats
	for n := 0; ; n++ {
		p, err := src.Next()
		if err != nil {
			break
		}
		a.Packet(p.Data, p.CI, p.Link)
		if n%20000 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
	}
	for _, r := range a.Finish() {
		out = append(out, seen{r.Stream, r.Outcome, r.HS.Version()})
	}
	// Results come as connections end; the truth is by stream.
	slices.SortFunc(out, func(a, b seen) int { return a.stream - b.stream })
	return out, peak, a.Stats.Packets
}

func writeLoad(t *testing.T, path string, size int64) []capgen.Truth {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	truth, err := capgen.WriteLoad(f, capgen.LoadOptions{Bytes: size})
	if err != nil {
		t.Fatal(err)
	}
	return truth
}

// TestLoadCapture reads a 100 MB and a 1 GB capture of real crypto/tls
// connections (complete, resumed, refused, stalled; up to 200 KB of data
// each), checks every verdict and version against the generator's truth,
// and shows the live heap stays flat as the capture grows tenfold. Only
// with -tags long (make test-long).
func TestLoadCapture(t *testing.T) {
	dir := t.TempDir()
	var peaks []uint64
	for _, size := range []int64{100 << 20, 1000 << 20} {
		path := filepath.Join(dir, "load.pcap")
		start := time.Now()
		truth := writeLoad(t, path, size)
		gen := time.Since(start)
		start = time.Now()
		got, peak, packets := loadRun(t, path)
		read := time.Since(start)
		st, _ := os.Stat(path)
		t.Logf("%d MB, %d connections, %d packets: generated in %v, read in %v (%.0f MB/s), peak live heap %.1f MiB",
			st.Size()>>20, len(truth), packets, gen.Round(time.Millisecond), read.Round(time.Millisecond),
			float64(st.Size())/(1<<20)/read.Seconds(), float64(peak)/(1<<20))
		peaks = append(peaks, peak)
		if len(got) != len(truth) {
			t.Fatalf("%d results for %d connections", len(got), len(truth))
		}
		wrong := 0
		for i, tr := range truth {
			g := got[i]
			v := ""
			if g.version != 0 {
				v = decoder.VersionName(g.version)
			}
			if g.stream != tr.Stream || string(g.outcome) != tr.Outcome || v != tr.Version {
				if wrong++; wrong <= 10 {
					t.Errorf("stream %d (%s): %s %s, truth %s %s", tr.Stream, tr.Kind, g.outcome, v, tr.Outcome, tr.Version)
				}
			}
		}
		if wrong > 0 {
			t.Errorf("%d of %d connections judged wrong", wrong, len(truth))
		}
		os.Remove(path)
	}
	if peaks[1] > peaks[0]*5/4+2<<20 {
		t.Errorf("peak live heap grew from %.1f MiB to %.1f MiB for ten times the capture", float64(peaks[0])/(1<<20), float64(peaks[1])/(1<<20))
	}
}
