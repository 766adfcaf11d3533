package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows"
	"github.com/tlsscope/tlsscope/internal/testenv"
)

// TestCatalogue: each code once, with a severity and a doc; each in some
// check, and each check's codes in the catalogue; a severity rule has its
// words and its function.
func TestCatalogue(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range catalogue {
		if seen[d.Code] {
			t.Errorf("%s defined twice", d.Code)
		}
		seen[d.Code] = true
		if !slices.Contains(severities, d.Severity) {
			t.Errorf("%s: severity %q", d.Code, d.Severity)
		}
		if d.Doc == "" || strings.Contains(d.Doc, "\n") || strings.Contains(d.Doc, "|") {
			t.Errorf("%s: the doc must be one line without a table bar: %q", d.Code, d.Doc)
		}
		if (d.Rule == "") != (d.severity == nil) {
			t.Errorf("%s: a severity rule needs both its words and its function", d.Code)
		}
		if !slices.ContainsFunc(checks, func(c check) bool { return slices.Contains(c.codes, d) }) {
			t.Errorf("%s: no check raises it", d.Code)
		}
	}
	for _, c := range checks {
		for _, d := range c.codes {
			if !slices.Contains(catalogue, d) {
				t.Errorf("check %s: %s is not in the catalogue", c.name, d.Code)
			}
		}
	}
	if got := Catalogue(); len(got) != len(catalogue) || got[0].Code != catalogue[0].Code {
		t.Errorf("Catalogue() = %d codes, want %d", len(got), len(catalogue))
	}
}

// catalogueTable is the README's table of findings.
func catalogueTable() string {
	var b strings.Builder
	b.WriteString("| code | severity | says |\n|---|---|---|\n")
	for _, d := range catalogue {
		sev := string(d.Severity)
		if d.Rule != "" {
			sev += "; " + d.Rule
		}
		b.WriteString("| `" + d.Code + "` | " + sev + " | " + d.Doc + " |\n")
	}
	return b.String()
}

const (
	readmeCatalogueStart = "<!-- findings catalogue: generated from report/catalogue.go by go test ./report -run TestCatalogueREADME -update -->\n"
	readmeCatalogueEnd   = "<!-- end of findings catalogue -->\n"
)

// TestCatalogueREADME: the README's table of findings is the catalogue's,
// code by code with severity and doc (-update writes it).
func TestCatalogueREADME(t *testing.T) {
	path := filepath.Join("..", "README.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i, j := strings.Index(readme, readmeCatalogueStart), strings.Index(readme, readmeCatalogueEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md has no findings catalogue between %q and %q", readmeCatalogueStart, readmeCatalogueEnd)
	}
	i += len(readmeCatalogueStart)
	want := catalogueTable()
	if readme[i:j] == want {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(readme[:i]+want+readme[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	var got []string
	for _, l := range strings.Split(readme[i:j], "\n") {
		if f := strings.Split(l, "`"); len(f) >= 3 && strings.HasPrefix(l, "| `") {
			got = append(got, f[1])
		}
	}
	missing, extra := diffCodes(got)
	t.Errorf("README.md's findings table differs from the catalogue (missing %v, not in the catalogue %v); go test ./report -run TestCatalogueREADME -update rewrites it", missing, extra)
}

// diffCodes compares a list of codes with the catalogue, both ways.
func diffCodes(got []string) (missing, extra []string) {
	for _, d := range catalogue {
		if !slices.Contains(got, d.Code) {
			missing = append(missing, d.Code)
		}
	}
	for _, c := range got {
		if !slices.ContainsFunc(catalogue, func(d *FindingDef) bool { return d.Code == c }) {
			extra = append(extra, c)
		}
	}
	return missing, extra
}

// TestCatalogueSchema: the JSON schema's enumeration of finding codes is
// the catalogue, both ways.
func TestCatalogueSchema(t *testing.T) {
	b, err := os.ReadFile("connection.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Defs struct {
			Connection struct {
				Properties struct {
					Findings struct {
						Items struct {
							Properties struct {
								Code struct {
									Enum []string `json:"enum"`
								} `json:"code"`
							} `json:"properties"`
						} `json:"items"`
					} `json:"findings"`
				} `json:"properties"`
			} `json:"connection"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	enum := schema.Defs.Connection.Properties.Findings.Items.Properties.Code.Enum
	if missing, extra := diffCodes(enum); len(missing)+len(extra) > 0 || len(enum) != len(catalogue) {
		t.Errorf("the schema's finding codes differ from the catalogue: missing %v, not in the catalogue %v, %d listed for %d", missing, extra, len(enum), len(catalogue))
	}
}

// testCaptures are every capture of testdata, testdata/quic and
// testdata/netlab.
func testCaptures(t *testing.T) []string {
	var files []string
	for _, dir := range []string{testdata, filepath.Join(testdata, "quic"), filepath.Join(testdata, "netlab")} {
		for _, pat := range []string{"*.pcap", "*.pcapng"} {
			m, err := filepath.Glob(filepath.Join(dir, pat))
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, m...)
		}
	}
	if len(files) < 50 {
		t.Fatalf("only %d test captures", len(files))
	}
	return files
}

// TestChecksRaiseTheirCodes runs every check on every connection of every
// test capture and of the corpus when present (with every policy): a check
// that raises a code not registered for it fails, and so do frames out of
// order.
func TestChecksRaiseTheirCodes(t *testing.T) {
	raised := map[string][]string{}
	for _, file := range append(testCaptures(t), testenv.CorpusIfPresent(t, "..")...) {
		conns := connections(t, file)
		for _, c := range conns {
			x := runChecks(c.result, Policies)
			for _, s := range x.stray {
				t.Errorf("%s stream %d: check %s", filepath.Base(file), c.Stream, s)
			}
			for _, f := range x.out {
				raised[f.Code] = append(raised[f.Code], filepath.Base(file))
				if !slices.IsSorted(f.Frames) || len(slices.Compact(slices.Clone(f.Frames))) != len(f.Frames) || len(f.Frames) > 0 && f.Frames[0] <= 0 {
					t.Errorf("%s stream %d: %s cites frames %v", filepath.Base(file), c.Stream, f.Code, f.Frames)
				}
			}
		}
	}
	var never []string
	for _, d := range catalogue {
		if raised[d.Code] == nil {
			never = append(never, d.Code)
		}
	}
	sort.Strings(never)
	t.Logf("%d of %d codes raised on the test captures; never: %v", len(catalogue)-len(never), len(catalogue), never)
}

// TestStrayCodeCaught: a check raising a code outside its list is told,
// and the finding is still made (no panic in production).
func TestStrayCodeCaught(t *testing.T) {
	x := &checkRun{r: &flows.Result{}, check: &check{name: "capture", codes: []*FindingDef{FindingMidstream}}}
	x.add(FindingMidstream, nil, "fine")
	if len(x.stray) != 0 {
		t.Fatalf("a registered code called stray: %v", x.stray)
	}
	x.add(FindingCaptureGap, []int64{9, 4, 0, 9}, "stray")
	if want := []string{"capture: capture_gap"}; !slices.Equal(x.stray, want) {
		t.Errorf("stray = %v, want %v", x.stray, want)
	}
	if len(x.out) != 2 || !slices.Equal(x.out[1].Frames, []int64{4, 9}) || x.out[1].Severity != SevWarning {
		t.Errorf("findings = %+v", x.out)
	}
}

// tsharkFrameNumbers are the frame numbers of file's frames that match the
// display filter, as tshark reads them.
func tsharkFrameNumbers(t *testing.T, file, filter string) []int64 {
	t.Helper()
	out, err := testenv.TSharkOutput(t, file, append(testenv.TSharkArgs(file), "-Y", filter, "-T", "fields", "-e", "frame.number")...)
	if err != nil {
		t.Fatalf("tshark %s: %v", file, err)
	}
	var frames []int64
	for _, l := range strings.Fields(string(out)) {
		n, err := strconv.ParseInt(l, 10, 64)
		if err != nil {
			t.Fatalf("tshark %s: %q", file, l)
		}
		frames = append(frames, n)
	}
	return frames
}

// TestFindingFramesMatchTShark: the frames a finding cites are those
// tshark shows the evidence in: the alert, the RST, the retransmissions of
// the ClientHello, the ICMP error, the ACK of bytes the capture lacks, the
// Certificate message, QUIC's Retry, Version Negotiation and unanswered
// Initials.
func TestFindingFramesMatchTShark(t *testing.T) {
	const (
		all    = iota
		prefix // the first of tshark's frames: the ladder keeps the first retransmissions, the client heeds the first Retry
		subset // some of them: the first Initials of a ClientHello in several are not in the ladder
	)
	for _, tc := range []struct {
		file, code, filter string
		part               int
	}{
		{"alert-server-refuses.pcap", "handshake_failed", "tls.alert_message", all},
		{"alert-client-rejects-cert.pcap", "handshake_failed", "tls.alert_message", all},
		// The verdict's reason rests on the RST and the last message before it.
		{"reset-after-client-hello.pcap", "connection_reset", "tcp.flags.reset == 1 || tls.handshake.type == 1", all},
		{"reset-injected-ttl.pcap", "reset_injected", "tcp.flags.reset == 1", all},
		{"netlab/drop-client-hello.client.pcap", "client_hello_retransmitted", "tcp.analysis.retransmission && tcp.srcport != 443", prefix},
		{"icmp-port-unreachable.pcap", "icmp_unreachable", "icmp", all},
		// The gap is cited at the segment after it, where tshark says
		// "previous segment not captured".
		{"capture-gap-certificate.pcap", "capture_gap", "tcp.analysis.lost_segment", all},
		{"expired-cert.pcap", "certificate_expired", "tls.handshake.type == 11", all},
		{"quic/retry.pcap", "quic_retry", "quic.long.packet_type == 3", prefix},
		{"quic/version-negotiation.pcap", "quic_version_negotiation", "quic.version == 0", prefix},
		{"quic/udp-blocked.pcap", "quic_no_response", "quic.long.packet_type == 0", subset},
		// The server's first bytes, which are not TLS; the client's first
		// packet from its new address.
		{"server-not-tls.pcap", "server_not_tls", "tcp.srcport == 443 && tcp.len > 0", prefix},
		{"netlab/server-not-tls.client.pcap", "server_not_tls", "tcp.srcport == 443 && tcp.len > 0", prefix},
		{"quic/nat-rebinding.pcap", "quic_migration", "udp.srcport == 51443", prefix},
	} {
		file := filepath.Join(testdata, tc.file)
		want := tsharkFrameNumbers(t, file, tc.filter)
		if len(want) == 0 {
			t.Fatalf("%s: tshark shows no frame for %q", tc.file, tc.filter)
		}
		var got []int64
		found := false
		for _, c := range connections(t, file) {
			for _, f := range c.Findings {
				if f.Code == tc.code {
					got, found = f.Frames, true
				}
			}
		}
		ok := false
		switch tc.part {
		case all:
			ok = slices.Equal(got, want)
		case prefix:
			ok = len(got) > 0 && len(got) <= len(want) && slices.Equal(got, want[:len(got)])
		case subset:
			ok = len(got) > 0 && !slices.ContainsFunc(got, func(f int64) bool { return !slices.Contains(want, f) })
		}
		if !found {
			t.Errorf("%s: no %s finding", tc.file, tc.code)
		} else if !ok {
			t.Errorf("%s: %s cites frames %v; tshark shows %v (%s)", tc.file, tc.code, got, want, tc.filter)
		}
	}
}

// TestSeverityRules: the codes whose severity depends on the connection,
// on captures (and on bare results for the cases no capture has).
func TestSeverityRules(t *testing.T) {
	for _, tc := range []struct {
		file, code string
		sev        Severity
	}{
		{"mtu-icmp-frag-needed.pcap", "path_mtu", SevInfo},           // the handshake went on
		{"icmp-port-unreachable.pcap", "icmp_unreachable", SevError}, // it did not
		{"quic/complete.pcap", "quic_client_hello_split", SevInfo},
		{"quic/split-client-hello-dropped.pcap", "quic_client_hello_split", SevWarning},
	} {
		found := false
		for _, c := range connections(t, filepath.Join(testdata, tc.file)) {
			for _, f := range c.Findings {
				if f.Code == tc.code {
					found = true
					if f.Severity != tc.sev {
						t.Errorf("%s: %s is %s, want %s", tc.file, tc.code, f.Severity, tc.sev)
					}
				}
			}
		}
		if !found {
			t.Errorf("%s: no %s", tc.file, tc.code)
		}
	}
	stalled := &flows.Result{Outcome: flows.Stalled, HS: &decoder.Handshake{}}
	complete := &flows.Result{Outcome: flows.Complete, HS: &decoder.Handshake{}}
	for _, tc := range []struct {
		d    *FindingDef
		r    *flows.Result
		want Severity
	}{
		{FindingPathMTU, stalled, SevWarning},
		{FindingICMPUnreachable, complete, SevInfo},
		{FindingHandshakeStalled, complete, SevError}, // no rule: always its severity
	} {
		if got := tc.d.SeverityOf(tc.r); got != tc.want {
			t.Errorf("%s on %s: %s, want %s", tc.d.Code, tc.r.Outcome, got, tc.want)
		}
	}
}
