package report

import (
	"bytes"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows"
)

// spans is each capture's first and last packet, kept by connections.
var spans = map[string][2]time.Time{}

// fileDrops are what each capture's tool said it dropped (connections),
// and goldenDrops those of the capture being rendered for its golden
// files (nil: none).
var (
	fileDrops   = map[string]Drops{}
	goldenDrops *Drops
)

// renderMarkdown is the Markdown as the command line writes it: with the
// version, the stall timeout and the capture's span.
func renderMarkdown(t *testing.T, conns []*Connection, span [2]time.Time) []byte {
	t.Helper()
	var b bytes.Buffer
	opts := Options{Inputs: []string{"capture"}, Version: "dev", StallTimeout: flows.DefaultOptions.StallTimeout, TrustStore: testValidator.Store().String(),
		Span: func() (time.Time, time.Time) { return span[0], span[1] }}
	if goldenDrops != nil {
		opts.Drops = func() Drops { return *goldenDrops }
	}
	if err := WriteMarkdown(&b, conns, opts); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// codeSpans splits a line of Markdown into its text outside code spans
// and the contents of its code spans, as CommonMark reads them (§6.1:
// a run of n backticks opens, the next run of exactly n closes; one
// space is stripped from each side when both have one).
func codeSpans(line string) (text string, codes []string) {
	var out strings.Builder
	for i := 0; i < len(line); {
		switch line[i] {
		case '\\':
			out.WriteString(line[i:min(i+2, len(line))])
			i += 2
			continue
		case '`':
			n := 0
			for i+n < len(line) && line[i+n] == '`' {
				n++
			}
			// Find the closing run of exactly n.
			for j := i + n; j < len(line); {
				if line[j] != '`' {
					j++
					continue
				}
				m := 0
				for j+m < len(line) && line[j+m] == '`' {
					m++
				}
				if m == n {
					c := line[i+n : j]
					if len(c) >= 2 && c[0] == ' ' && c[len(c)-1] == ' ' && strings.Trim(c, " ") != "" {
						c = c[1 : len(c)-1]
					}
					codes = append(codes, c)
					i = j + m
					goto next
				}
				j += m
			}
			out.WriteString(line[i : i+n]) // no closer: literal backticks
			i += n
			continue
		}
		out.WriteByte(line[i])
		i++
	next:
	}
	return out.String(), codes
}

func TestMdCode(t *testing.T) {
	for _, s := range []string{"shop.example", "a`b", "`x", "x`", "a``b`c", " a ", "``", "www.bing.com"} {
		got := mdCode(s, false)
		text, codes := codeSpans(got)
		if text != "" || len(codes) != 1 || codes[0] != s {
			t.Errorf("mdCode(%q) = %q: read back as text %q, code %q", s, got, text, codes)
		}
	}
	if got := mdCode("a|b", true); got != "`a\\|b`" {
		t.Errorf("in a table cell: %q", got)
	}
}

func TestLinky(t *testing.T) {
	for w, want := range map[string]bool{"www.bing.com": true, "shop.example": true, "http://x": true, "a@b": true,
		"#17": true, "[2001:db8::1]:443": true, ":smile:": true, "e.g.": true,
		"5.0": false, "ServerHello.": false, "TLS_AES_128_GCM_SHA256": false, "(owes": false, "failed:": false, "1.2.3.4:443": false} {
		if linky(w) != want {
			t.Errorf("linky(%q) = %v", w, !want)
		}
	}
}

func TestMermaidText(t *testing.T) {
	in := "a;b#c:d<br>e`f%%g\nh-->>S: x"
	got := mermaidText(in)
	if strings.ContainsAny(regexp.MustCompile(`#[0-9]+;`).ReplaceAllString(got, ""), ";#:<>`%\n") {
		t.Errorf("mermaidText(%q) = %q", in, got)
	}
	// Every escape is the character's code: Mermaid draws the original.
	back := regexp.MustCompile(`#([0-9]+);`).ReplaceAllStringFunc(got, func(e string) string {
		n, _ := strconv.Atoi(e[1 : len(e)-1])
		return string(rune(n))
	})
	if back != in {
		t.Errorf("mermaidText(%q) reads back as %q", in, back)
	}
}

// hostileNames are SNIs that GitHub would link, mention or read as markup,
// or that would break a table, a code span or a Mermaid diagram.
var hostileNames = []string{
	"www.bing.com",
	"http://evil.example/x?a=b",
	"victim@evil.example",
	"@octocat #17 :smile: evil.example",
	"`evil.example`",
	"ev``il.example ```",
	"|evil|.example|",
	"evil.example<br><script>alert(1)</script>",
	"evil.example;Note over C,S: pwned\n-->>S: x %%{init}%% #59;",
	"[evil](http://evil.example) ![x](y) *evil* _evil_ ~~evil~~ &amp;",
	strings.Repeat("www.evil.example.", 400),
}

// hostileConn is a stalled connection whose ClientHello carries sni, and
// whose server's certificate is for none of it (a finding quotes both).
func hostileConn(t *testing.T, stream int, sni string) *Connection {
	c := decoder.NewConn(true)
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	c.Feed(0, record(22, hostileHello(sni, "h2")), at)
	c.Feed(1, record(22, hostileServerFlight(t, "evil CN www.evil.example @octocat #17 <b>")), at.Add(time.Millisecond))
	hs := c.Snapshot()
	if hs.ClientHello == nil || hs.ClientHello.ServerName != sni || len(hs.ServerCertificates) != 1 {
		t.Fatalf("hostile handshake not decoded: %v", hs.Problems)
	}
	r := &flows.Result{Stream: stream, Client: netip.MustParseAddrPort("[2001:db8::1]:40000"), Server: netip.MustParseAddrPort("192.0.2.2:443"),
		Start: at, End: at.Add(3 * time.Second), Outcome: flows.Stalled, EndedBy: flows.EndedCaptureEnd, HS: hs, TCP: &flows.TCPFacts{},
		Stall: &flows.Stall{Waiting: decoder.Client, Next: flows.OwedMsg(decoder.MsgClientKeyExchange), Since: at.Add(time.Millisecond), Silent: 3 * time.Second}}
	conn := Build(r)
	if !slices.ContainsFunc(conn.Findings, func(f Finding) bool { return f.Code == "name_mismatch" }) {
		t.Fatalf("no name_mismatch finding to quote the names: %v", conn.Findings)
	}
	return conn
}

// TestMarkdownHostileNames: a name from the capture is never a link, a
// mention or markup on GitHub (what GitHub would link is left only in code
// spans and diagrams), never breaks the table, and never a statement of
// its own in a Mermaid diagram.
func TestMarkdownHostileNames(t *testing.T) {
	var conns []*Connection
	for i, sni := range hostileNames {
		conns = append(conns, hostileConn(t, i, sni))
	}
	for _, detail := range []bool{false, true} {
		var b bytes.Buffer
		if err := WriteMarkdown(&b, conns, Options{Detail: detail, Inputs: []string{"www.input.example.pcap"}}); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		keepMarkdown(t, fmt.Sprintf("hostile-detail-%v.md", detail), b.Bytes())
		checkMarkdown(t, "hostile names", b.Bytes())
		if got := strings.Count(out, "```mermaid\n"); got != len(hostileNames) {
			t.Errorf("%d diagrams, want %d", got, len(hostileNames))
		}
		fence := ""
		for i, line := range strings.Split(out, "\n") {
			switch {
			case fence == "" && (line == "```mermaid" || line == "````text"):
				fence = strings.TrimRight(line, "mertaidx")
				continue
			case fence != "" && line == fence:
				fence = ""
				continue
			case fence == "````":
				continue // the detail's text: a code block, not read as Markdown
			case fence == "```":
				// The diagram: statements we wrote, labels made of inert characters.
				if !mermaidLine.MatchString(line) {
					t.Errorf("line %d: not a diagram statement of ours: %q", i+1, line)
				}
				continue
			}
			text, _ := codeSpans(line)
			// What GitHub would link or mention, or read as HTML.
			for _, bad := range []string{".example", "bing", "octocat", "input.", "<", "://", "@", "#1", ":smile:"} {
				if strings.Contains(text, bad) {
					t.Errorf("line %d: %q outside a code span: %q", i+1, bad, line)
				}
			}
		}
		if n := mdLen(out); n > markdownBudget {
			t.Errorf("%d characters", n)
		}
	}
}

var mermaidLine = regexp.MustCompile(`^(sequenceDiagram|    (participant [CS] as (client|server) |([CS](->>|-->>|-x|--x)[CS]|Note over C,S): )` + inert + `)$`)

// inert is a label as mermaidText writes it: no character Mermaid or the
// Markdown fence reads, except as an entity code.
const inert = "([^;#:<>`%\n]|#[0-9]+;)*"

var mdOut = flag.String("md-out", "", "write the Markdown of the hostile and 20,000-connection tests into this directory (to look at with internal/mdrender)")

func keepMarkdown(t *testing.T, name string, md []byte) {
	if *mdOut == "" {
		return
	}
	if err := os.WriteFile(filepath.Join(*mdOut, name), md, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestMarkdownBudget: 20,001 connections, 1,600 of them failed or stalled
// with long hostile names, and 2,858 distinct finding codes, stay under
// the budget; the document says the counts of all of them, and what it
// left out.
func TestMarkdownBudget(t *testing.T) {
	demo := connections(t, filepath.Join(testdata, "demo.pcapng")) // complete, failed, stalled
	const total = 20_001
	var conns []*Connection
	want := map[string]int{}
	for i := range total {
		c := *demo[0]
		if k := i % 25; k == 1 || k == 2 {
			c = *demo[k]
			ch := *c.ClientHello
			ch.SNI = strings.Repeat("www.evil.example|`*_", 20) + strconv.Itoa(i)
			c.ClientHello = &ch
		}
		c.Stream = i
		if i%7 == 0 {
			c.Findings = append(slices.Clone(c.Findings), Finding{Severity: SevWarning, Code: "code_" + strconv.Itoa(i), Message: strings.Repeat("a long message about www.evil.example ", 10)})
		}
		want[c.Outcome]++
		conns = append(conns, &c)
	}
	var b bytes.Buffer
	// 200 rows (--max-rows 200): more than the budget holds the ladders of.
	if err := WriteMarkdown(&b, conns, Options{Inputs: []string{"load.pcap"}, Version: "dev", StallTimeout: 2 * time.Second, RowLimit: 200}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	keepMarkdown(t, "budget.md", b.Bytes())
	n := mdLen(out)
	t.Logf("%d connections: %d characters, %d sections", total, n, strings.Count(out, "\n### Stream "))
	if n > markdownBudget || n < markdownBudget*2/3 {
		t.Errorf("%d characters, want at most %d and most of it used", n, markdownBudget)
	}
	checkMarkdown(t, "budget", b.Bytes())
	for o, k := range want {
		line := fmt.Sprintf(" | %s of 20,001 |", thousands(k))
		if !strings.Contains(out, o+"**"+line) && !strings.Contains(out, "| "+o+line) {
			t.Errorf("no count %q for %s", line, o)
		}
	}
	for _, s := range []string{
		"200 of 20,001 listed, the first streams of each outcome, the worst first; 19,801 more: `--format json` lists every one.",
		"| failed: server alert handshake\\_failure | [1](#stream-1) |", // some of each kind, the bad first
		"| stalled: server silent 5.0 s after ClientHello (owes ServerHello) | [2](#stream-2) |",
		"| complete in 20 ms | 0 |",
		"\n### Stream 1\n\n**failed: ", "\n### Stream 2\n\n**stalled: ", // ladders of each kind
		"Left out to stay under 60,000 characters (GitHub takes at most 65,536): ",
		" finding codes",
		"the ladders of ",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("no %q", s)
		}
	}
	if !strings.HasSuffix(out, ".\n") {
		t.Errorf("the document does not end with its closing note: %q", out[max(0, len(out)-200):])
	}
	// The errors come before the warnings, and every link has its section.
	if e, w := strings.Index(out, "- **error**"), strings.Index(out, "- **warning**"); e < 0 || w < 0 || e > w {
		t.Errorf("errors at %d, warnings at %d", e, w)
	}
	for _, m := range regexp.MustCompile(`\]\(#stream-([0-9]+)\)`).FindAllStringSubmatch(out, -1) {
		if !strings.Contains(out, "\n### Stream "+m[1]+"\n") {
			t.Errorf("link to stream %s without its section", m[1])
		}
	}
	if strings.Count(out, "```mermaid") < 5 {
		t.Errorf("only %d diagrams", strings.Count(out, "```mermaid"))
	}
}
