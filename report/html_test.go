package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows"
)

func renderHTML(t *testing.T, conns []*Connection, opts Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteHTML(&b, conns, opts); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// htmlGoldens are the captures whose HTML report is reviewed: the demo,
// capture loss, network loss (a path-MTU black hole of real stacks) and a
// dropped ClientHello.
var htmlGoldens = []string{"demo.pcapng", "capture-gap-certificate.pcap", "netlab/mtu-blackhole.client.pcap", "netlab/drop-client-hello.client.pcap"}

// TestHTMLGolden compares the HTML report with the reviewed files in
// testdata/golden (rewritten with -update).
func TestHTMLGolden(t *testing.T) {
	for _, f := range htmlGoldens {
		got := renderHTML(t, connections(t, filepath.Join(testdata, f)), Options{Inputs: []string{"capture"}, TrustStore: testValidator.Store().String()})
		checkGolden(t, filepath.Join(testdata, "golden", filepath.Base(f)+".html"), got)
	}
}

// elements parses a document and returns its elements by name, failing on
// any attribute that runs script or loads something.
func elements(t *testing.T, doc []byte) map[string][]*html.Node {
	t.Helper()
	root, err := html.Parse(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]*html.Node{}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			out[n.Data] = append(out[n.Data], n)
			for _, a := range n.Attr {
				switch k := strings.ToLower(a.Key); {
				case strings.HasPrefix(k, "on"), k == "src", k == "srcset", k == "style", k == "action", k == "formaction":
					t.Errorf("<%s %s=%q>: an attribute the report never writes", n.Data, a.Key, a.Val)
				case k == "href" && !strings.HasPrefix(a.Val, "#"):
					t.Errorf("<%s href=%q>: a link out of the page", n.Data, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	return out
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// TestHTMLSelfContained: one style and one script, both allowed by hash
// in the policy, which allows nothing else; nothing that loads.
func TestHTMLSelfContained(t *testing.T) {
	out := renderHTML(t, connections(t, filepath.Join(testdata, "demo.pcapng")), Options{Inputs: []string{"demo.pcapng"}})
	els := elements(t, out)
	if len(els["style"]) != 1 || len(els["script"]) != 1 {
		t.Fatalf("%d styles and %d scripts, want 1 of each", len(els["style"]), len(els["script"]))
	}
	for _, tag := range []string{"img", "link", "iframe", "object", "embed", "form[action]", "base", "video", "audio"} {
		if len(els[tag]) > 0 {
			t.Errorf("the report has a <%s>", tag)
		}
	}
	var csp string
	for _, m := range els["meta"] {
		var equiv, content string
		for _, a := range m.Attr {
			switch a.Key {
			case "http-equiv":
				equiv = a.Val
			case "content":
				content = a.Val
			}
		}
		if equiv == "Content-Security-Policy" {
			csp = content
		}
	}
	hash := func(n *html.Node) string {
		sum := sha256.Sum256([]byte(text(n)))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	want := "default-src 'none'; style-src " + hash(els["style"][0]) + "; script-src " + hash(els["script"][0]) + "; img-src 'none'; base-uri 'none'; form-action 'none'"
	if csp != want {
		t.Errorf("Content-Security-Policy %q,\nwant %q", csp, want)
	}
	if strings.Contains(string(out), "http://") || strings.Contains(string(out), "https://") {
		t.Errorf("the report names a URL")
	}
}

// TestHTMLHostile: names with markup, quotes, escape sequences, NULs and
// bidi overrides come out as text, with the controls visible, in the
// table, the timeline's titles and the ladder's SVG text.
func TestHTMLHostile(t *testing.T) {
	sni := `"><script>alert(1)</script><img src=x onerror=alert(1)>'` + "\x1b[31m\x00\u202egnp.exe"
	alpn := `</text><script>alert(2)</script>`
	c := decoder.NewConn(true)
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	c.Feed(0, record(22, hostileHello(sni, alpn)), at)
	c.Feed(1, record(22, hostileServerFlight(t, evilCN)), at.Add(time.Millisecond))
	hs := c.Snapshot()
	if hs.ClientHello == nil || hs.ClientHello.ServerName != sni {
		t.Fatalf("hostile handshake not decoded: %v", hs.Problems)
	}
	r := &flows.Result{Stream: 7, Client: netip.MustParseAddrPort("192.0.2.1:40000"), Server: netip.MustParseAddrPort("192.0.2.2:443"),
		Start: at, End: at.Add(3 * time.Second), Outcome: flows.Stalled, EndedBy: flows.EndedCaptureEnd, HS: hs, TCP: &flows.TCPFacts{},
		Stall: &flows.Stall{Waiting: decoder.Client, Next: flows.OwedMsg(decoder.MsgClientKeyExchange), Since: at, Silent: 3 * time.Second}}
	out := renderHTML(t, []*Connection{Build(r)}, Options{Inputs: []string{"<b>in\u202eput</b>"}})
	for _, bad := range []string{"\x1b", "\x00", "\r", "\u202e", "\x07", "<script>alert", "<img", "</text><script"} {
		if bytes.Contains(out, []byte(bad)) {
			t.Errorf("the report contains %q raw", bad)
		}
	}
	els := elements(t, out)
	if len(els["script"]) != 1 || len(els["img"]) != 0 || len(els["b"]) != 0 {
		t.Errorf("%d scripts, %d images, %d <b>: the capture's markup became elements", len(els["script"]), len(els["img"]), len(els["b"]))
	}
	cells := els["td"]
	found := false
	for _, td := range cells {
		if s := text(td); strings.Contains(s, `<script>alert(1)</script>`) {
			found = true
			if !strings.Contains(s, `\x1b[31m\x00\u202egnp.exe`) {
				t.Errorf("SNI cell %q: want the controls as visible escapes", s)
			}
		}
	}
	if !found {
		t.Errorf("no table cell shows the SNI as text")
	}
	svgText := 0
	for _, n := range els["text"] {
		if strings.Contains(text(n), "<script>alert") {
			svgText++
		}
	}
	if svgText == 0 {
		t.Errorf("the ladder does not show the ClientHello's SNI as SVG text")
	}
}

// fakeCapture is n connections made from the demo's three, streams
// numbered 0 to n-1, one start per millisecond.
func fakeCapture(t *testing.T, n int, edit func(*Connection)) []*Connection {
	t.Helper()
	base := connections(t, filepath.Join(testdata, "demo.pcapng"))
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	out := make([]*Connection, n)
	for i := range out {
		c := Build(base[i%len(base)].Result())
		c.Stream = i
		c.Start = at.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano)
		if edit != nil {
			edit(c)
		}
		out[i] = c
	}
	return out
}

var (
	rowRE    = regexp.MustCompile(`<tr class="[a-z]+" data-outcome=`)
	ladderRE = regexp.MustCompile(`<svg class="ladder"`)
	barRE    = regexp.MustCompile(`<g class="bar `)
)

// TestHTMLBounds: 20,000 connections make a report of a few MB with a
// row for each, ladders for the worst htmlMaxLadders and htmlMaxBars bars;
// with hostile names that swell every cell the budgets hold and the
// report says what it left out.
func TestHTMLBounds(t *testing.T) {
	const n = 20_000
	out := renderHTML(t, fakeCapture(t, n, nil), Options{})
	t.Logf("%d connections: %d bytes", n, len(out))
	if len(out) > 10<<20 {
		t.Errorf("%d connections make %d bytes of HTML, want under 10 MiB", n, len(out))
	}
	if got := len(rowRE.FindAll(out, -1)); got != n {
		t.Errorf("%d table rows, want %d", got, n)
	}
	if got := len(ladderRE.FindAll(out, -1)); got != htmlMaxLadders {
		t.Errorf("%d ladders, want %d", got, htmlMaxLadders)
	}
	if got := len(barRE.FindAll(out, -1)); got != htmlMaxBars {
		t.Errorf("%d timeline bars, want %d", got, htmlMaxBars)
	}
	for _, say := range []string{"19900 of 20000 connections have no ladder here", "19700 connections are not drawn"} {
		if !bytes.Contains(out, []byte(say)) {
			t.Errorf("the report does not say %q", say)
		}
	}
	// The worst drawn: failed and stalled ones, never the complete.
	if bytes.Contains(out, []byte(`<article class="conn good"`)) {
		t.Errorf("a complete connection got a ladder while failed ones did not")
	}

	swell := strings.Repeat(`<&"'`, 50) // 200 bytes, 5 times as many escaped
	out = renderHTML(t, fakeCapture(t, n, func(c *Connection) {
		c.ClientHello.SNI = swell
		c.ClientHello.ALPN = []string{swell}
		c.Verdict = swell
	}), Options{})
	t.Logf("%d connections with swollen names: %d bytes", n, len(out))
	if len(out) > htmlTableBudget+htmlLadderBudget+1<<20 {
		t.Errorf("swollen names make %d bytes of HTML, over the budgets", len(out))
	}
	rows := len(rowRE.FindAll(out, -1))
	if rows == n || rows == 0 {
		t.Errorf("%d rows of %d within the table's budget", rows, n)
	}
	if !bytes.Contains(out, []byte(strings.TrimSpace(itoa(n-rows)+" connections are not listed here"))) {
		t.Errorf("the report does not say that %d connections are not listed", n-rows)
	}
}

// TestHTMLLadder: the ladder shows the stall as a band of fixed height
// that says who owed what, network loss as an arrow that stops half way,
// capture loss as a box; a silence of an hour is no taller than one of
// a second.
func TestHTMLLadder(t *testing.T) {
	demo := connections(t, filepath.Join(testdata, "demo.pcapng"))
	l := buildLadder(demo[2])
	if len(l.Bands) != 1 || l.Bands[0].Label != "silence 5.0 s: server owes ServerHello" {
		t.Errorf("stalled stream bands %+v, want one that says the server owes ServerHello", l.Bands)
	}
	if last := l.Steps[len(l.Steps)-1]; last.Kind != "end" || last.Label != "end: connection closed by client (FIN)" {
		t.Errorf("last step %+v, want the end", last)
	}
	short := buildLadder(demo[2]).Height
	long := Build(demo[2].Result())
	for i := range long.Messages {
		long.Messages[i].TMS *= 3600 // the same steps, hours apart
	}
	long.DurationMS *= 3600
	if h := buildLadder(long).Height; h > short+ladderBandH*2 {
		t.Errorf("a ladder with silences of hours is %d px tall, with seconds %d", h, short)
	}

	kinds := func(file string) map[string]int {
		out := map[string]int{}
		for _, c := range connections(t, filepath.Join(testdata, file)) {
			for _, s := range buildLadder(c).Steps {
				out[s.Kind]++
				if s.Lost && s.X2 != s.MidX {
					t.Errorf("%s: a lost arrow %+v does not stop half way", file, s)
				}
			}
		}
		return out
	}
	if k := kinds("netlab/mtu-blackhole.client.pcap"); k["netloss"] == 0 || k["caploss"] != 0 {
		t.Errorf("path-MTU black hole: steps %v, want network loss and no capture loss", k)
	}
	if k := kinds("capture-gap-certificate.pcap"); k["caploss"] == 0 || k["netloss"] != 0 {
		t.Errorf("capture gap: steps %v, want capture loss and no network loss", k)
	}
	if k := kinds("alert-server-refuses.pcap"); k["alert"] != 1 {
		t.Errorf("refused handshake: steps %v, want one alert", k)
	}
}

func TestHTMLDump(t *testing.T) {
	out := os.Getenv("HTML_DUMP")
	if out == "" {
		t.Skip("HTML_DUMP not set")
	}
	for _, f := range htmlGoldens {
		os.WriteFile(filepath.Join(out, filepath.Base(f)+".html"), renderHTML(t, connections(t, filepath.Join(testdata, f)), Options{}), 0o644)
	}
}

// TestHTMLFrames: a message's frame number, when flows knows it, is on its
// arrow.
func TestHTMLFrames(t *testing.T) {
	c := connections(t, filepath.Join(testdata, "demo.pcapng"))[0]
	c.Messages[0].Frame = 17
	l := buildLadder(c)
	n := 0
	for _, s := range l.Steps {
		if strings.HasSuffix(s.Label, " #17") {
			n++
		}
		if strings.Contains(s.Label, " #0") {
			t.Errorf("step %q names frame 0 (unknown)", s.Label)
		}
	}
	if n != 1 {
		t.Errorf("%d steps name frame 17, want 1: %+v", n, l.Steps)
	}
}

// TestTimelineAxis: ticks at round values, a handful of them, whatever
// the span.
func TestTimelineAxis(t *testing.T) {
	for _, tc := range []struct {
		span  time.Duration
		first string
		last  string
	}{
		{101 * time.Millisecond, "0 ms", "100 ms"},
		{7040 * time.Millisecond, "0 s", "7 s"},
		{3 * time.Millisecond, "0.0 ms", "3.0 ms"},
		{26 * time.Hour, "0 h", "25 h"},
		{10 * time.Minute, "0 min", "10 min"},
	} {
		tl := timeline(nil, nil, tc.span, 0)
		if n := len(tl.Ticks); n < 2 || n > 12 {
			t.Errorf("span %v: %d ticks", tc.span, n)
			continue
		}
		if f, l := tl.Ticks[0].Label, tl.Ticks[len(tl.Ticks)-1].Label; f != tc.first || l != tc.last {
			t.Errorf("span %v: ticks %q to %q, want %q to %q", tc.span, f, l, tc.first, tc.last)
		}
		if x := tl.Ticks[len(tl.Ticks)-1].X; x > tl.Right {
			t.Errorf("span %v: a tick at %d, past the axis' end %d", tc.span, x, tl.Right)
		}
	}
}
