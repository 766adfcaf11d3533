package report

import (
	"path/filepath"
	"testing"
)

// TestRenegotiationFinding: a renegotiation read with keys is an info
// when it completed, a warning when refused (testdata/netlab, OpenSSL).
func TestRenegotiationFinding(t *testing.T) {
	for file, sev := range map[string]Severity{
		"netlab/openssl-reneg.client.pcap":         SevInfo,
		"netlab/openssl-reneg-refused.server.pcap": SevWarning,
	} {
		cs := connections(t, filepath.Join(testdata, file))
		if len(cs) != 1 {
			t.Fatalf("%s: %d connections", file, len(cs))
		}
		n := 0
		for _, f := range cs[0].Findings {
			if f.Code == "renegotiation" {
				n++
				if f.Severity != sev {
					t.Errorf("%s: %s %q, want %s", file, f.Severity, f.Message, sev)
				}
			}
		}
		if n != 1 || cs[0].Outcome != "complete" {
			t.Errorf("%s: %s, %d renegotiation findings, want complete with one", file, cs[0].Outcome, n)
		}
	}
}
