package report

import (
	"path/filepath"
	"testing"
)

// TestRenegotiationFinding: a renegotiation read with keys is an info
// when it completed, a warning (renegotiation_refused) when refused (testdata/netlab, OpenSSL).
func TestRenegotiationFinding(t *testing.T) {
	for file, code := range map[string]*FindingDef{
		"netlab/openssl-reneg.client.pcap":         FindingRenegotiation,
		"netlab/openssl-reneg-refused.server.pcap": FindingRenegotiationRefused,
	} {
		cs := connections(t, filepath.Join(testdata, file))
		if len(cs) != 1 {
			t.Fatalf("%s: %d connections", file, len(cs))
		}
		n := 0
		for _, f := range cs[0].Findings {
			if f.Code == FindingRenegotiation.Code || f.Code == FindingRenegotiationRefused.Code {
				n++
				if f.Code != code.Code || f.Severity != code.Severity {
					t.Errorf("%s: %s %s %q, want %s %s", file, f.Severity, f.Code, f.Message, code.Severity, code.Code)
				}
			}
		}
		if n != 1 || cs[0].Outcome != "complete" {
			t.Errorf("%s: %s, %d renegotiation findings, want complete with one", file, cs[0].Outcome, n)
		}
	}
}
