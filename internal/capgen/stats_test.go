package capgen

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsscope/tlsscope/flows/capture"
)

// TestWritePcapngStatsTshark: what WritePcapngStats writes is pcapng as
// Wireshark reads it: the packets, and the drop counts of its last
// Interface Statistics Block (tshark's pcapng_statistics).
func TestWritePcapngStatsTshark(t *testing.T) {
	if _, err := exec.LookPath("capinfos"); err != nil {
		t.Skip("no capinfos")
	}
	src, err := capture.OpenFile("../../testdata/tls13-full.pcap")
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := capture.ReadAll(src)
	src.Close()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WritePcapngStats(&b, pkts, []ISB{{After: 4, Received: 4, OSDrop: 1}, {After: len(pkts), Received: 30, IfDrop: 2, OSDrop: 11}}); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "s.pcapng")
	if err := os.WriteFile(f, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("capinfos", f).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Number of packets:") {
		t.Fatalf("capinfos: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
