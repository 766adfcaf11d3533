package report

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mattn/go-runewidth"
)

// ansiSeq matches the colour escapes the table writes.
var ansiSeq = regexp.MustCompile("\x1b\\[[0-9;]*m")

// columnsOf is a line's width on a terminal, measured independently of
// the table writer: ANSI escapes removed, East Asian wide runes 2.
func columnsOf(line string) int {
	return runewidth.StringWidth(ansiSeq.ReplaceAllString(line, ""))
}

// hostileRows are connections with a long SNI, wide runes, escapes, IPv6 addresses,
// and a certificate with a long name.
func hostileRows() []*Connection {
	long := strings.Repeat("a-very-long-label.", 10) + "example" // under Safe's limit
	wide := strings.Repeat("例え", 20) + ".テスト"
	var out []*Connection
	for i, sni := range []string{long, wide, "evil\x1b[2J\x1b]0;pwned\x07.example", "短い.example", ""} {
		c := &Connection{Stream: i, Client: fmt.Sprintf("[2001:db8:aaaa:bbbb:cccc:dddd:eeee:%x]:51234", i), Server: "[2001:db8:ffff:ffff:ffff:ffff:ffff:1]:443",
			Outcome: "complete", Verdict: "complete in 20 ms", Version: "TLS 1.2",
			ClientHello:  &ClientHello{SNI: sni, ALPN: []string{"h2", "http/1.1", wide}},
			ServerHello:  &ServerHello{CipherSuite: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"},
			Certificates: []Certificate{{CommonName: wide + ".example", NotAfter: "2025-12-31T00:00:00Z"}},
			Findings:     []Finding{{Severity: SevError, Code: "certificate_expired", Message: "The server's certificate expired."}}}
		if i == 2 {
			c.Outcome, c.Verdict = "stalled", "stalled: server silent 5.0 s after ClientHello (owes ServerHello; a 4.6 KiB record of its encrypted flight, 1.2 KiB of it sent)"
		}
		out = append(out, c)
	}
	return out
}

// tableLines is the lines of the drawn tables (borders and rows).
func tableLines(out string) []string {
	var ls []string
	for _, l := range strings.Split(out, "\n") {
		if l = ansiSeq.ReplaceAllString(l, ""); strings.ContainsAny(l[:min(len(l), 4)], "┌│├└") {
			ls = append(ls, l)
		}
	}
	return ls
}

// TestTableFitsTheWidth renders real captures and hostile connections,
// under and over the row limit, in colour or not, at 80 and 120 columns:
// no line of a table, nor the note under it, is wider than the terminal.
func TestTableFitsTheWidth(t *testing.T) {
	inputs := map[string][]*Connection{"hostile": hostileRows(), "synthetic over the limit": synthetic(300, 40)}
	for _, f := range []string{"demo.pcapng", "ipv6.pcap", "expired-cert.pcap", "server-not-tls.client.pcap", "keys-tls13-mtls.pcap", "rst-inject.server.pcap"} {
		path := filepath.Join(testdata, f)
		if strings.Contains(f, ".client.") || strings.Contains(f, ".server.") {
			path = filepath.Join(testdata, "netlab", f)
		}
		inputs[f] = connections(t, path)
	}
	for name, conns := range inputs {
		for _, width := range []int{80, 120} {
			for _, color := range []bool{false, true} {
				var b bytes.Buffer
				if err := WriteTable(&b, conns, Options{Width: width, Color: color, RowLimit: 20}); err != nil {
					t.Fatal(err)
				}
				lines := tableLines(b.String())
				if len(lines) < 4 {
					t.Fatalf("%s: no table:\n%s", name, b.String())
				}
				for _, l := range strings.Split(b.String(), "\n") {
					if strings.HasPrefix(l, "Fitted to") || strings.HasPrefix(l, "long cells") {
						lines = append(lines, l)
					}
				}
				for _, l := range lines {
					if n := columnsOf(l); n > width {
						t.Errorf("%s at %d columns (colour %v): a line of %d columns:\n%s", name, width, color, n, l)
					}
					if n := displayWidth(l); n > width {
						t.Errorf("%s at %d columns: the table writer's measure says %d", name, width, n)
					}
				}
				if strings.Contains(b.String(), "\x1b[2J") {
					t.Errorf("%s: an escape from the capture reached the terminal", name)
				}
			}
		}
	}
}

// TestTableVerdictSecondAndWide: the verdict comes right after the
// stream; --wide shows all nine columns, nothing cut, however long.
func TestTableVerdictSecondAndWide(t *testing.T) {
	conns := hostileRows()
	var narrow, wide bytes.Buffer
	WriteTable(&narrow, conns, Options{Width: 80})
	WriteTable(&wide, conns, Options{Width: 80, Wide: true})
	head := func(out string) []string {
		var cells []string
		for _, c := range strings.Split(tableLines(out)[1], "│") {
			if c = strings.TrimSpace(c); c != "" {
				cells = append(cells, c)
			}
		}
		return cells
	}
	if h := head(narrow.String()); len(h) < 3 || h[0] != "Stream" || h[1] != "Verdict" {
		t.Errorf("header at 80 columns: %q", h)
	}
	if h := head(wide.String()); strings.Join(h, ",") != "Stream,Verdict,Client,Server,SNI,Version,Cipher suite,ALPN,Certificate" {
		t.Errorf("header with --wide: %q", h)
	}
	if !strings.Contains(narrow.String(), "…") || !strings.Contains(narrow.String(), "--wide shows every column whole") {
		t.Errorf("at 80 columns nothing cut, or not said:\n%s", narrow.String())
	}
	rows := strings.Join(tableLines(wide.String()), "\n")
	if strings.Contains(rows, "…") || strings.Contains(wide.String(), "Fitted to") ||
		!strings.Contains(rows, strings.Repeat("a-very-long-label.", 10)+"example") {
		t.Errorf("--wide cut something:\n%s", wide.String())
	}
}

// TestTableDefaultWidth: Width 0 is DefaultWidth.
func TestTableDefaultWidth(t *testing.T) {
	var a, b bytes.Buffer
	WriteTable(&a, hostileRows(), Options{})
	WriteTable(&b, hostileRows(), Options{Width: DefaultWidth})
	if a.String() != b.String() || !strings.Contains(a.String(), fmt.Sprintf("Fitted to %d columns", DefaultWidth)) {
		t.Errorf("Width 0:\n%s", a.String())
	}
}

// TestRowColouredByItsWorst: a complete handshake with an expired
// certificate is red in every cell, one with a warning yellow, one with
// only an info green.
func TestRowColouredByItsWorst(t *testing.T) {
	mk := func(stream int, sev Severity) *Connection {
		c := &Connection{Stream: stream, Client: "192.0.2.1:1000", Server: "192.0.2.2:443", Outcome: "complete", Verdict: "complete in 1 ms", Version: "TLS 1.3"}
		if sev != "" {
			c.Findings = []Finding{{Severity: sev, Code: "x", Message: "X."}}
		}
		return c
	}
	var b bytes.Buffer
	WriteTable(&b, []*Connection{mk(0, SevError), mk(1, SevWarning), mk(2, SevInfo), mk(3, "")}, Options{Color: true, Width: 200})
	want := map[string]string{"0": ansiRed, "1": ansiYellow, "2": ansiGreen, "3": ansiGreen}
	seen := 0
	for _, l := range strings.Split(b.String(), "\n") {
		cells := strings.Split(l, "│")
		if len(cells) < 4 {
			continue
		}
		stream := strings.TrimSpace(ansiSeq.ReplaceAllString(cells[1], ""))
		color, ok := want[stream]
		if !ok {
			continue
		}
		seen++
		for _, c := range cells[1 : len(cells)-1] {
			if !strings.Contains(c, color+"") || !strings.HasPrefix(strings.TrimSpace(c), color) {
				t.Errorf("stream %s: cell %q not in %q", stream, c, color)
			}
		}
	}
	if seen != 4 {
		t.Errorf("%d rows found:\n%s", seen, b.String())
	}
}

// TestClipWidth: cut to the columns with an ellipsis, wide runes counted
// 2, never wider.
func TestClipWidth(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"shop.example", 12, "shop.example"},
		{"shop.example", 8, "shop.ex…"},
		{"例え例え", 5, "例え…"},
		{"例え例え", 4, "例…"},
		{"abc", 1, "…"},
	} {
		if got := clipWidth(tc.s, tc.n); got != tc.want || runewidth.StringWidth(got) > tc.n {
			t.Errorf("clipWidth(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
	if got := clipName("shop.example (exp 2025-12-31)", 22); got != "shop… (exp 2025-12-31)" {
		t.Errorf("clipName: %q", got)
	}
}
