package testenv

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
)

// KeepFrames writes the frames of the pcap file that keep accepts
// (numbered from 1, as Wireshark numbers them) to a new pcap in the
// test's temporary directory, and returns its path: a capture seen from
// fewer packets than were sent.
func KeepFrames(t testing.TB, file string, keep func(frame int) bool) string {
	t.Helper()
	in, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r, err := pcapgo.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), filepath.Base(file))
	fh, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	w := pcapgo.NewWriter(fh)
	if err := w.WriteFileHeader(65535, r.LinkType()); err != nil {
		t.Fatal(err)
	}
	for frame := 1; ; frame++ {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			return out
		}
		if keep(frame) {
			if err := w.WritePacket(ci, data); err != nil {
				t.Fatal(err)
			}
		}
	}
}
