package report

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// htmlOf renders files' connections as the HTML report.
func htmlOf(t *testing.T, file string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteHTML(&b, connections(t, file), Options{Inputs: []string{filepath.Base(file)}}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestHTMLDump(t *testing.T) {
	out := os.Getenv("HTML_DUMP")
	if out == "" {
		t.Skip("HTML_DUMP not set")
	}
	for _, f := range []string{"demo.pcapng", "netlab/mtu-blackhole.client.pcap", "capture-gap-certificate.pcap"} {
		os.WriteFile(filepath.Join(out, filepath.Base(f)+".html"), htmlOf(t, filepath.Join(testdata, f)), 0o644)
	}
}
