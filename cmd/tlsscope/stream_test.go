package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/tlsscope/tlsscope/flows"
	"github.com/tlsscope/tlsscope/internal/testenv"
)

// tcpAndQUIC are two captures read as one: a TLS-over-TCP handshake the
// server refuses (tcp.stream 0) and a QUIC one it refuses (udp.stream 0),
// so that both transports have a stream 0.
var tcpAndQUIC = []string{"../../testdata/alert-server-refuses.pcap", "../../testdata/quic/alpn-refused.pcap"}

// TestStreamIDsHTML: the HTML report's ids are unique, TCP 0 and UDP 0
// each have their own, and every link inside the page lands on one.
func TestStreamIDsHTML(t *testing.T) {
	out, stderr, _ := runCLI(append([]string{"--format", "html"}, tcpAndQUIC...)...)
	if out == "" {
		t.Fatalf("no output: %s", stderr)
	}
	ids := map[string]int{}
	for _, m := range regexp.MustCompile(` id="([^"]*)"`).FindAllStringSubmatch(out, -1) {
		ids[m[1]]++
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("id %q is on %d elements", id, n)
		}
	}
	for _, id := range []string{"stream-0", "stream-udp-0"} {
		if ids[id] != 1 {
			t.Errorf("no element with id %q (ids %v)", id, ids)
		}
	}
	links := regexp.MustCompile(`href="#([^"]*)"`).FindAllStringSubmatch(out, -1)
	if len(links) == 0 {
		t.Error("no link to a ladder")
	}
	for _, m := range links {
		if ids[m[1]] != 1 {
			t.Errorf("link to #%s, which no element has", m[1])
		}
	}
	// Each ladder is its own connection's: its id and its filter agree.
	for id, filter := range map[string]string{"stream-0": "tcp.stream eq 0", "stream-udp-0": "udp.stream eq 0"} {
		at := strings.Index(out, `id="`+id+`"`)
		end := strings.Index(out[at:], "</article>")
		if at < 0 || end < 0 || !strings.Contains(out[at:at+end], filter) {
			t.Errorf("the ladder %s does not say %q", id, filter)
		}
	}
}

// githubAnchor is the anchor GitHub gives a Markdown heading: lower case,
// what is not a letter, digit, space, hyphen or underscore dropped, each
// space a hyphen.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestStreamAnchorsMarkdown: every link of the Markdown report lands on a
// heading by GitHub's anchors (unique ones: GitHub suffixes repeats), and
// on the section of the connection whose row links there.
func TestStreamAnchorsMarkdown(t *testing.T) {
	out, stderr, _ := runCLI(append([]string{"--format", "markdown"}, tcpAndQUIC...)...)
	if out == "" {
		t.Fatalf("no output: %s", stderr)
	}
	sections := map[string]string{} // anchor -> the section's text
	parts := regexp.MustCompile(`(?m)^#{1,6} (.*)$`).FindAllStringSubmatchIndex(out, -1)
	for i, p := range parts {
		a := githubAnchor(out[p[2]:p[3]])
		if _, dup := sections[a]; dup {
			t.Errorf("two headings make the anchor %q", a)
		}
		end := len(out)
		if i+1 < len(parts) {
			end = parts[i+1][0]
		}
		sections[a] = out[p[1]:end]
	}
	links := regexp.MustCompile(`\[([^\]]*)\]\(#([^)]*)\)`).FindAllStringSubmatch(out, -1)
	seen := map[string]bool{}
	for _, m := range links {
		text, anchor := m[1], m[2]
		seen[anchor] = true
		sec, ok := sections[anchor]
		if !ok {
			t.Errorf("link [%s](#%s) lands on no heading", text, anchor)
			continue
		}
		id, err := flows.ParseStreamID(text)
		if err != nil {
			t.Errorf("link text %q is no stream: %v", text, err)
			continue
		}
		if !strings.Contains(sec, "Wireshark filter `"+id.DisplayFilter()+"`") {
			t.Errorf("[%s](#%s) lands on another connection's section:\n%s", text, anchor, sec)
		}
	}
	if !seen["stream-0"] || !seen["stream-udp-0"] {
		t.Errorf("links %v: want one to stream-0 and one to stream-udp-0", seen)
	}
}

// TestStreamFlag: --stream N (or tcp:N) selects the TCP connection,
// --stream udp:N the QUIC one; --help shows no meaningless default.
func TestStreamFlag(t *testing.T) {
	for arg, want := range map[string]string{"0": "tcp", "tcp:0": "tcp", "udp:0": "quic"} {
		out, stderr, _ := runCLI(append([]string{"--format", "json", "--stream", arg}, tcpAndQUIC...)...)
		var got []string
		dec := json.NewDecoder(strings.NewReader(out))
		for dec.More() {
			var c struct {
				Stream    int    `json:"stream"`
				Transport string `json:"transport"`
			}
			if err := dec.Decode(&c); err != nil {
				t.Fatal(err)
			}
			got = append(got, c.Transport)
			if c.Stream != 0 {
				t.Errorf("--stream %s: stream %d", arg, c.Stream)
			}
		}
		if len(got) != 1 || got[0] != want {
			t.Errorf("--stream %s: %v (%s), want one %s connection", arg, got, stderr, want)
		}
	}
	// The detail of the one shown names its stream as the table does.
	out, _, _ := runCLI(append([]string{"--stream", "udp:0"}, tcpAndQUIC...)...)
	if !strings.Contains(out, "── udp 0: ") || strings.Contains(out, "── stream 0") {
		t.Errorf("--stream udp:0 detail:\n%s", out)
	}
	for _, bad := range []string{"quic:0", "-1", "udp:x"} {
		if _, stderr, code := runCLI(append([]string{"--stream", bad}, tcpAndQUIC...)...); code != exitUsage || !strings.Contains(stderr, "udp:N") {
			t.Errorf("--stream %s: exit %d, %q", bad, code, stderr)
		}
	}
	help, _, _ := runCLI("--help")
	at := strings.Index(help, "-stream N")
	if at < 0 {
		t.Fatalf("--help has no --stream:\n%s", help)
	}
	line := help[at:]
	if i := strings.Index(line, "\n  -"); i > 0 {
		line = line[:i]
	}
	if strings.Contains(line, "default") || !strings.Contains(line, "udp:N") {
		t.Errorf("--help says of --stream: %q", line)
	}
}

// TestStreamFindingLines: the table's Errors and Warnings, and the
// Markdown's findings, name a QUIC connection "udp N", a TCP one
// "stream N".
func TestStreamFindingLines(t *testing.T) {
	table, _, _ := runCLI(tcpAndQUIC...)
	for _, s := range []string{
		"  stream 0: handshake_failed: The server refused the handshake with fatal alert handshake_failure",
		"  udp 0: handshake_failed: The server refused the handshake with fatal alert no_application_protocol",
		"  udp 0: quic_client_hello_split: ",
	} {
		if !strings.Contains(table, s) {
			t.Errorf("the table lacks %q:\n%s", s, table)
		}
	}
	md, _, _ := runCLI(append([]string{"--format", "markdown"}, tcpAndQUIC...)...)
	for _, s := range []string{"on 2 connections (streams 0, udp 0)", "on 1 connection (udp 0)"} {
		if !strings.Contains(md, s) {
			t.Errorf("the Markdown lacks %q", s)
		}
	}
}

// TestWriteFailedQUIC: --write-failed writes a failed QUIC connection's
// datagrams beside a failed TCP connection's packets; read back, the file
// holds both, judged as before, and Wireshark numbers them as the report
// says.
func TestWriteFailedQUIC(t *testing.T) {
	out := filepath.Join(t.TempDir(), "failed.pcapng")
	inputs := append(append([]string{}, tcpAndQUIC...), "../../testdata/tls13-full.pcap") // and one that completes
	table, stderr, code := runCLI(append([]string{"--write-failed", out}, inputs...)...)
	if code != exitProblem || strings.Contains(stderr, "not written") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if s := "the packets of the 2 connections that did not complete; Wireshark numbers its streams from 0, TCP and UDP apart: stream 0 here is stream 0 there, udp 0 here is udp 0 there"; !strings.Contains(table, s) {
		t.Errorf("the table's closing lines lack %q:\n%s", s, table)
	}
	before := verdicts(t, tcpAndQUIC...)
	after := verdicts(t, out)
	if len(after) != 2 || after["tcp 0"] == "" || after["tcp 0"] != before["tcp 0"] || after["quic 0"] == "" || after["quic 0"] != before["quic 0"] {
		t.Errorf("read back: %v, want %v", after, before)
	}
	b, err := testenv.TSharkOutput(t, out, "-n", "-r", out, "-Y", "quic", "-T", "fields", "-e", "udp.stream")
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	if s := strings.Fields(string(b)); len(s) == 0 || s[0] != "0" {
		t.Errorf("tshark reads the QUIC packets on udp.stream %v, want 0", s)
	}
}

// verdicts reads captures and returns each connection's verdict by
// "transport stream".
func verdicts(t *testing.T, files ...string) map[string]string {
	t.Helper()
	js, stderr, _ := runCLI(append([]string{"--format", "json"}, files...)...)
	out := map[string]string{}
	dec := json.NewDecoder(strings.NewReader(js))
	for dec.More() {
		var c struct {
			Stream    int    `json:"stream"`
			Transport string `json:"transport"`
			Verdict   string `json:"verdict"`
		}
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("%v (%s)", err, stderr)
		}
		out[c.Transport+" "+strconv.Itoa(c.Stream)] = c.Verdict
	}
	return out
}

// TestFailedFileUDPNumbers: in the written file a QUIC connection's UDP
// conversations take the next udp.stream numbers in the order of their
// first datagrams, a conversation already written keeps its number, and
// TCP connections are counted apart.
func TestFailedFileUDPNumbers(t *testing.T) {
	var ff failedFile
	quic := func(n int, convs ...int) *flows.Result {
		return &flows.Result{Transport: flows.TransportQUIC, Stream: n, QUIC: &flows.QUICFacts{UDPStreams: convs}}
	}
	for i, tc := range []struct {
		r    *flows.Result
		want flows.StreamID
	}{
		{quic(4, 4, 9), flows.StreamID{Transport: flows.TransportQUIC, N: 0}},           // 4 and 9 become 0 and 1
		{&flows.Result{Transport: flows.TransportTCP, Stream: 7}, flows.StreamID{N: 0}}, // the first TCP one
		{quic(9, 9, 12), flows.StreamID{Transport: flows.TransportQUIC, N: 1}},          // 9 was written: 1; 12 becomes 2
		{quic(13, 13), flows.StreamID{Transport: flows.TransportQUIC, N: 3}},
		{&flows.Result{Transport: flows.TransportTCP, Stream: 2}, flows.StreamID{N: 1}},
	} {
		if got := ff.add(tc.r); got == nil || *got != tc.want {
			t.Errorf("%d: %v, want %v", i, got, tc.want)
		}
	}
	want := "udp 4 here is udp 0 there, stream 7 here is stream 0 there, udp 9 here is udp 1 there, udp 13 here is udp 3 there, stream 2 here is stream 1 there"
	if got := strings.Join(ff.mappings, ", "); got != want {
		t.Errorf("mappings %q, want %q", got, want)
	}
}
