package report

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tlsscope/tlsscope/decoder"
)

// ocspCases are the certificate scenarios of testdata/netlab (issue #25)
// read with their key logs: per connection (stream 0: s_client TLS 1.3,
// 1: s_client TLS 1.2, 2: curl, 3: gnutls-cli) what the ocsp object and
// the OCSP findings must say. Independent of the goldens.
var ocspCases = []struct {
	scenario  string
	stream    int
	requested bool
	stapled   string // "true", "false", "" (not known)
	status    string
	findings  []string // the ocsp_* codes, in order
	severity  Severity // of the first finding
}{
	{"cert-ocsp-good", 0, true, "true", "good", nil, ""},
	{"cert-ocsp-good", 1, true, "true", "good", nil, ""},
	{"cert-ocsp-good", 2, true, "true", "good", nil, ""},
	{"cert-ocsp-good", 3, true, "true", "good", nil, ""},
	{"cert-ocsp-revoked", 0, true, "true", "revoked", []string{"ocsp_revoked"}, SevError},
	{"cert-ocsp-revoked", 1, true, "true", "revoked", []string{"ocsp_revoked"}, SevError},
	{"cert-ocsp-revoked", 2, true, "true", "revoked", []string{"ocsp_revoked"}, SevError},
	{"cert-ocsp-revoked", 3, true, "true", "revoked", []string{"ocsp_revoked"}, SevError},
	{"cert-ocsp-stale", 0, true, "true", "good", []string{"ocsp_stale"}, SevWarning},
	{"cert-ocsp-stale", 1, true, "true", "good", []string{"ocsp_stale"}, SevWarning},
	{"cert-ocsp-stale", 2, true, "true", "good", []string{"ocsp_stale"}, SevWarning},
	{"cert-ocsp-stale", 3, true, "true", "good", []string{"ocsp_stale"}, SevWarning},
	{"cert-ocsp-not-stapled", 0, true, "false", "", []string{"ocsp_not_stapled"}, SevWarning}, // must-staple leaf
	{"cert-ocsp-not-stapled", 1, true, "false", "", []string{"ocsp_not_stapled"}, SevWarning},
	{"cert-ocsp-not-stapled", 2, true, "false", "", []string{"ocsp_not_stapled"}, SevWarning},
	{"cert-ocsp-not-stapled", 3, true, "false", "", []string{"ocsp_not_stapled"}, SevWarning},
	// gnutls-cli asks by default; gnutls-serv without a response: info,
	// the leaf has no must-staple.
	{"gnutls-keylog", 0, true, "false", "", []string{"ocsp_not_stapled"}, SevInfo},
	{"gnutls-keylog", 1, true, "false", "", []string{"ocsp_not_stapled"}, SevInfo},
	// s_client without -status does not ask: no ocsp object.
	{"cert-missing-intermediate", 0, false, "", "", nil, ""},
}

func TestOCSPNetlab(t *testing.T) {
	for _, tc := range ocspCases {
		for _, side := range []string{"client", "server"} {
			file := filepath.Join(testdata, "netlab", tc.scenario+"."+side+".pcap")
			c := streamOf(t, connections(t, file), tc.stream)
			if c == nil {
				continue
			}
			name := file + " stream " + string(rune('0'+tc.stream))
			o := c.OCSP
			if !tc.requested && tc.stapled == "" {
				if o != nil {
					t.Errorf("%s: ocsp %+v, want none", name, o)
				}
				continue
			}
			if o == nil {
				t.Errorf("%s: no ocsp object", name)
				continue
			}
			stapled := ""
			if o.Stapled != nil {
				stapled = map[bool]string{true: "true", false: "false"}[*o.Stapled]
			}
			if o.Requested != tc.requested || stapled != tc.stapled || o.Status != tc.status {
				t.Errorf("%s: requested %v stapled %q status %q, want %v %q %q", name, o.Requested, stapled, o.Status, tc.requested, tc.stapled, tc.status)
			}
			var got []Finding
			for _, f := range c.Findings {
				if len(f.Code) > 5 && f.Code[:5] == "ocsp_" {
					got = append(got, f)
				}
			}
			var codes []string
			for _, f := range got {
				codes = append(codes, f.Code)
			}
			if !slices.Equal(codes, tc.findings) {
				t.Errorf("%s: OCSP findings %v, want %v", name, codes, tc.findings)
				continue
			}
			if len(got) > 0 {
				if got[0].Severity != tc.severity {
					t.Errorf("%s: %s is %s, want %s", name, got[0].Code, got[0].Severity, tc.severity)
				}
				if len(got[0].Frames) == 0 {
					t.Errorf("%s: %s cites no frame", name, got[0].Code)
				}
				// A staple's finding cites the frame that carried it.
				if o.Frame != 0 && !slices.Contains(got[0].Frames, o.Frame) {
					t.Errorf("%s: %s cites %v, not the staple's frame %d", name, got[0].Code, got[0].Frames, o.Frame)
				}
			}
			if o.Status != "" {
				if o.Responder == "" || o.ThisUpdate == "" || o.NextUpdate == "" {
					t.Errorf("%s: staple without responder or dates: %+v", name, o)
				}
				// TLS 1.3 carries it in the leaf's CertificateEntry.
				if o.InCertificate != (c.Version == "TLS 1.3") {
					t.Errorf("%s: %s, in_certificate %v", name, c.Version, o.InCertificate)
				}
			}
		}
	}
}

// TestOCSPWithoutKeys: the TLS 1.3 staple rides in the encrypted
// Certificate, so without keys whether the server stapled is not known,
// and nothing is said of it; TLS 1.2's CertificateStatus is in clear.
func TestOCSPWithoutKeys(t *testing.T) {
	dir := t.TempDir()
	for _, sc := range []string{"cert-ocsp-revoked", "cert-ocsp-not-stapled"} {
		b, err := os.ReadFile(filepath.Join(testdata, "netlab", sc+".client.pcap"))
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, sc+".pcap") // no .keys beside it
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Fatal(err)
		}
		conns := connections(t, file)
		c13, c12 := streamOf(t, conns, 0), streamOf(t, conns, 1)
		if c13 == nil || c12 == nil {
			continue
		}
		if o := c13.OCSP; o == nil || !o.Requested || o.Stapled != nil || o.Status != "" {
			t.Errorf("%s TLS 1.3 without keys: ocsp %+v, want requested, stapled unknown", sc, o)
		}
		for _, f := range c13.Findings {
			if len(f.Code) > 5 && f.Code[:5] == "ocsp_" {
				t.Errorf("%s TLS 1.3 without keys: %s", sc, f.Code)
			}
		}
		if o := c12.OCSP; o == nil || o.Stapled == nil {
			t.Errorf("%s TLS 1.2 without keys: ocsp %+v, want stapled known", sc, o)
		}
	}
}

// TestOCSPStaleAtCaptureTime: staleness is judged at the capture's time,
// which is after the stale response's nextUpdate and before the good
// one's, whatever today is.
func TestOCSPStaleAtCaptureTime(t *testing.T) {
	for sc, stale := range map[string]bool{"cert-ocsp-stale": true, "cert-ocsp-good": false} {
		c := streamOf(t, connections(t, filepath.Join(testdata, "netlab", sc+".client.pcap")), 1)
		if c == nil || c.OCSP == nil {
			t.Fatalf("%s: no ocsp", sc)
		}
		start, _ := time.Parse(time.RFC3339Nano, c.Start)
		next, err := time.Parse(time.RFC3339, c.OCSP.NextUpdate)
		if err != nil {
			t.Fatal(err)
		}
		if got := start.After(next); got != stale {
			t.Errorf("%s: capture at %v, nextUpdate %v: stale %v, want %v", sc, start, next, got, stale)
		}
	}
}

func streamOf(t *testing.T, conns []*Connection, stream int) *Connection {
	t.Helper()
	for _, c := range conns {
		if c.Stream == stream {
			return c
		}
	}
	t.Errorf("no stream %d", stream)
	return nil
}

// TestRevokedStapleIsTheCause: a leaf its own stapled OCSP response says
// is revoked has the status revoked, and gnutls-cli's bad_certificate
// (stream 3) and Chromium's certificate_unknown (stream 4) are explained
// by it (cert-ocsp-revoked, with its key log: TLS 1.3 certificates).
func TestRevokedStapleIsTheCause(t *testing.T) {
	for _, side := range []string{"client", "server"} {
		file := filepath.Join(testdata, "netlab", "cert-ocsp-revoked."+side+".pcap")
		cs := connections(t, file)
		for _, stream := range []int{3, 4} {
			c := streamOf(t, cs, stream)
			if c == nil || c.Validation == nil {
				t.Fatalf("%s stream %d: no validation", file, stream)
			}
			if c.Validation.Status != "revoked" || !strings.Contains(c.Verdict, `the server's certificate "shop.test" is revoked (its stapled OCSP response says so`) {
				t.Errorf("%s stream %d: status %s, verdict %q", file, stream, c.Validation.Status, c.Verdict)
			}
		}
	}
}

// TestStapleIsTheCause: with the lab's root trusted (testdata/netlab/
// lab-root.pem, as --ca-file), the chains of cert-ocsp-stale and
// cert-ocsp-not-stapled are valid, and gnutls-cli's bad_certificate
// (stream 3) is explained by the staple: stale, or missing for a
// must-staple leaf.
func TestStapleIsTheCause(t *testing.T) {
	v := labValidator(t)
	for file, want := range map[string]string{
		"cert-ocsp-stale":       `failed: client alert bad_certificate: the server stapled a stale OCSP response for the server's certificate "shop.test" (its nextUpdate `,
		"cert-ocsp-not-stapled": `failed: client alert bad_certificate: the server's certificate "shop.test" demands a stapled OCSP response (must-staple) and the server sent none`,
	} {
		c := streamOf(t, connectionsWith(t, filepath.Join(testdata, "netlab", file+".client.pcap"), v), 3)
		if c == nil || c.Validation == nil || c.Validation.Status != "valid" || !strings.HasPrefix(c.Verdict, want) {
			t.Errorf("%s stream 3: %+v", file, c)
		}
	}
}

// labValidator judges against the netlab certificate lab's root alone,
// as tlsscope --trust none --ca-file testdata/netlab/lab-root.pem would.
func labValidator(t *testing.T) *decoder.Validator {
	t.Helper()
	ca, err := decoder.ReadCAFiles([]string{filepath.Join(testdata, "netlab", "lab-root.pem")})
	if err != nil {
		t.Fatal(err)
	}
	store, err := decoder.LoadTrustStore(decoder.TrustNone, ca)
	if err != nil {
		t.Fatal(err)
	}
	return decoder.NewValidator(store)
}
