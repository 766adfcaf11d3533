package flows

import (
	"path/filepath"
	"testing"

	"github.com/tlsscope/tlsscope/flows/capture"
)

// TestKeptPacketsAreBounded: the frames kept for --write-failed stop at the
// total cap, and the connections left short say so (PacketsCut) instead
// of being written incomplete in silence.
func TestKeptPacketsAreBounded(t *testing.T) {
	defer func(n int) { maxKeptTotal = n }(maxKeptTotal)
	maxKeptTotal = 1500 // bytes: less than the 2,633 of demo.pcapng's failed connections
	src, err := capture.OpenFile(filepath.Join(testdata, "demo.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	a := NewAnalyzer(Options{KeepPackets: true})
	if err := a.Run(capture.NewMerge([]capture.Source{src})); err != nil {
		t.Fatal(err)
	}
	cut, kept := 0, 0
	for _, r := range a.Finish() {
		if r.Outcome.Good() {
			continue
		}
		for _, p := range r.Packets {
			kept += len(p.Data)
		}
		if r.PacketsCut {
			cut++
		}
	}
	if kept > maxKeptTotal || cut == 0 {
		t.Errorf("%d bytes kept under a cap of %d, %d connections cut; want within the cap and some cut", kept, maxKeptTotal, cut)
	}
}
