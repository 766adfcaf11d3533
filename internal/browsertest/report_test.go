package browsertest

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/cryptobyte"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows"
	"github.com/tlsscope/tlsscope/flows/capture"
	"github.com/tlsscope/tlsscope/report"
)

var screenshots = flag.String("screenshots", "", "write PNGs of the HTML report into this directory (make report-screenshots)")

const testdata = "../../testdata"

// htmlOf writes the HTML report of conns into dir and returns its file: URL.
func htmlOf(t *testing.T, dir, name string, conns []*report.Connection) string {
	t.Helper()
	var b bytes.Buffer
	w, err := report.NewWriter("html", &b, report.Options{Inputs: []string{name}, StallTimeout: flows.DefaultOptions.StallTimeout, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		if err := w.Write(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, name+".html")
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return "file://" + file
}

// analyze judges a capture as the command does.
func analyze(t *testing.T, file string) []*report.Connection {
	t.Helper()
	src, err := capture.OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m := capture.NewMerge([]capture.Source{src})
	defer m.Close()
	a := flows.NewAnalyzer(flows.DefaultOptions)
	if err := a.Run(m); err != nil {
		t.Fatal(err)
	}
	var out []*report.Connection
	for _, r := range a.Finish() {
		out = append(out, report.Build(r))
	}
	return out
}

// Names an attacker puts in a ClientHello: markup, quotes, an escape
// sequence, a NUL and a right-to-left override.
const (
	hostileSNI  = `"><script>alert(1)</script><img src=x onerror=alert(2)>'` + "\x1b[31m\x00\u202egnp.exe"
	hostileALPN = `</text><script>alert(3)</script>`
)

func hostileHello() []byte {
	var b cryptobyte.Builder
	b.AddUint8(1) // ClientHello
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint16(0x0303)
		b.AddBytes(make([]byte, 32))
		b.AddUint8(0)
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(0xc02f) })
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			b.AddUint16(0) // server_name (RFC 6066 §3)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					b.AddUint8(0)
					b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(hostileSNI)) })
				})
			})
			b.AddUint16(16) // application_layer_protocol_negotiation (RFC 7301)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(hostileALPN)) })
				})
			})
		})
	})
	body := b.BytesOrPanic()
	return append([]byte{22, 3, 1, byte(len(body) >> 8), byte(len(body))}, body...)
}

// hostile is a stalled connection whose ClientHello carries hostileSNI.
func hostile(t *testing.T) []*report.Connection {
	c := decoder.NewConn(true)
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	c.Feed(0, hostileHello(), at)
	hs := c.Snapshot()
	if hs.ClientHello == nil || hs.ClientHello.ServerName != hostileSNI {
		t.Fatalf("hostile ClientHello not decoded: %v", hs.Problems)
	}
	r := &flows.Result{Stream: 7, Client: netip.MustParseAddrPort("192.0.2.1:40000"), Server: netip.MustParseAddrPort("192.0.2.2:443"),
		Start: at, End: at.Add(3 * time.Second), Outcome: flows.Stalled, EndedBy: flows.EndedCaptureEnd, HS: hs, TCP: &flows.TCPFacts{},
		Stall: &flows.Stall{Waiting: decoder.Server, Next: flows.OwedMsg(decoder.MsgServerHello), Since: at, Silent: 3 * time.Second}}
	return []*report.Connection{report.Build(r)}
}

// many is n connections made from the demo's three, a millisecond apart.
func many(t *testing.T, n int) []*report.Connection {
	base := analyze(t, filepath.Join(testdata, "demo.pcapng"))
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	out := make([]*report.Connection, n)
	for i := range out {
		c := report.Build(base[i%len(base)].Result())
		c.Stream, c.Start = i, at.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano)
		out[i] = c
	}
	return out
}

// TestHTMLReportInBrowser loads the HTML report of several captures in
// headless Chromium, offline: nothing may fail, log an error or ask the
// network; every connection has its ladder; the table sorts and filters.
func TestHTMLReportInBrowser(t *testing.T) {
	bctx := browser(t)
	dir := t.TempDir()
	cases := []struct {
		name  string
		conns []*report.Connection
	}{
		{"demo.pcapng", analyze(t, filepath.Join(testdata, "demo.pcapng"))},
		{"mtu-blackhole.client.pcap", analyze(t, filepath.Join(testdata, "netlab", "mtu-blackhole.client.pcap"))},
		{"capture-gap-certificate.pcap", analyze(t, filepath.Join(testdata, "capture-gap-certificate.pcap"))},
		{"drop-client-hello.client.pcap", analyze(t, filepath.Join(testdata, "netlab", "drop-client-hello.client.pcap"))},
		{"hostile", hostile(t)},
		{"20000 connections", many(t, 20_000)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := len(tc.conns)
			start := time.Now()
			p := open(t, bctx, htmlOf(t, dir, tc.name, tc.conns))
			t.Logf("%d connections: written and loaded in %v", n, time.Since(start).Round(time.Millisecond))
			defer func() {
				for _, pr := range p.Problems() {
					t.Errorf("%s: %s", tc.name, pr)
				}
			}()
			if got := eval[int](t, p, `document.querySelectorAll("#conns tbody tr").length`); got != min(n, 1000) {
				t.Errorf("%d table rows in the page, want %d", got, min(n, 1000))
			}
			// A ladder per connection, for the worst 100 of a large capture.
			ladders := min(n, 100)
			if got := eval[int](t, p, `document.querySelectorAll("article.conn svg.ladder").length`); got != ladders {
				t.Errorf("%d ladders, want %d (one per connection shown)", got, ladders)
			}
			// Each ladder has its two lifelines and an arrow or mark per step.
			if got := eval[int](t, p, `[...document.querySelectorAll("svg.ladder")].filter(s => s.querySelectorAll("line.life").length == 2 && s.querySelectorAll("g.step").length > 0).length`); got != ladders {
				t.Errorf("%d ladders with lifelines and steps, want %d", got, ladders)
			}
			if got, bars := eval[int](t, p, `document.querySelectorAll("svg.timeline g.bar").length`), min(n, 300); got != bars {
				t.Errorf("%d timeline bars, want %d", got, bars)
			}
			// Only our one script, and no element the capture could inject.
			if got := eval[int](t, p, `document.scripts.length + document.images.length + document.querySelectorAll("iframe,object,embed,link").length`); got != 1 {
				t.Errorf("%d scripts, images and embeds, want only the report's script", got)
			}
			if tc.name == "hostile" {
				sni := eval[string](t, p, `document.querySelector("#conns tbody tr").cells[7].textContent`)
				if !strings.Contains(sni, "<script>alert(1)</script>") || strings.ContainsAny(sni, "\x1b\x00\u202e") || !strings.Contains(sni, `\u202e`) {
					t.Errorf("SNI cell %q: want the markup as text and the controls as visible escapes", sni)
				}
				start = time.Now()
				checkSort(t, p, n)
				checkFilter(t, p, tc.conns)
				t.Logf("sorted twice and filtered three times in %v", time.Since(start).Round(time.Millisecond))
			}
		})
	}
}

// checkSort clicks the Stream header (sorted ascending: descending next),
// then Duration, and reads the order back.
func checkSort(t *testing.T, p *page, n int) {
	t.Helper()
	if n < 2 {
		return
	}
	col := func(i int) []float64 {
		return eval[[]float64](t, p, `[...document.querySelectorAll("#conns tbody tr")].map(r => parseFloat(r.cells[`+strconv.Itoa(i)+`].textContent))`)
	}
	before := col(0)
	if err := chromedp.Do(p.ctx, chromedp.Click(chromedp.CSS("#conns th:nth-child(1)"))); err != nil {
		t.Fatal(err)
	}
	after := col(0)
	for i := range after {
		if i > 0 && after[i] > after[i-1] {
			t.Errorf("after a click on Stream, streams %v are not descending (before: %v)", after, before)
			break
		}
	}
	if after[0] == before[0] {
		t.Errorf("a click on Stream did not reorder the rows: %v, then %v", before, after)
	}
	if err := chromedp.Do(p.ctx, chromedp.Click(chromedp.CSS("#conns th:nth-child(5)"))); err != nil {
		t.Fatal(err)
	}
	d := col(4)
	for i := range d {
		if i > 0 && d[i] < d[i-1] {
			t.Errorf("after a click on Duration, durations %v are not ascending", d)
			break
		}
	}
}

// checkFilter types text that matches nothing, clears it, then unchecks
// the first row's outcome; the rows in the page and the count must follow.
func checkFilter(t *testing.T, p *page, conns []*report.Connection) {
	t.Helper()
	n := len(conns)
	// settled waits for the filter (which waits 80 ms for more typing)
	// to say want in its count, and returns the rows in the page.
	settled := func(want string) int {
		var got string
		for range 100 {
			if got = eval[string](t, p, `document.getElementById("shown").textContent`); got == want {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if got != want {
			t.Errorf("the count says %q, want %q", got, want)
		}
		return eval[int](t, p, `[...document.querySelectorAll("#conns tbody tr")].filter(r => r.offsetParent !== null).length`)
	}
	count := func(m int) string {
		s := strconv.Itoa(min(m, 1000)) + " of " + strconv.Itoa(n) + " shown"
		if m > 1000 {
			s += " (" + strconv.Itoa(m) + " match)"
		}
		return s
	}
	if err := chromedp.Do(p.ctx, chromedp.SendKeys(chromedp.ID("filter"), "no-such-connection-anywhere")); err != nil {
		t.Fatal(err)
	}
	if got := settled(count(0)); got != 0 {
		t.Errorf("a filter that matches nothing leaves %d rows", got)
	}
	eval[chromedp.Void](t, p, `(f => { f.value = ""; f.dispatchEvent(new Event("input")); })(document.getElementById("filter"))`)
	if got := settled(count(n)); got != min(n, 1000) {
		t.Errorf("an empty filter shows %d rows, want %d", got, min(n, 1000))
	}
	outcome := eval[string](t, p, `document.querySelector("#conns tbody tr").dataset.outcome`)
	others := 0
	for _, c := range conns {
		if c.Outcome != outcome {
			others++
		}
	}
	if err := chromedp.Do(p.ctx, chromedp.Click(chromedp.CSS(`#filters input[value=`+quote(outcome)+`]`))); err != nil {
		t.Fatal(err)
	}
	if got := settled(count(others)); got != min(others, 1000) {
		t.Errorf("with %s unchecked %d rows show, want %d", outcome, got, min(others, 1000))
	}
	if others > 1000 {
		if err := chromedp.Do(p.ctx, chromedp.Click(chromedp.ID("more-rows"))); err != nil {
			t.Fatal(err)
		}
		if got := settled(count(others)[:0] + strconv.Itoa(min(others, 2000)) + " of " + strconv.Itoa(n) + " shown (" + strconv.Itoa(others) + " match)"); got != min(others, 2000) {
			t.Errorf("after Show more %d rows show, want %d", got, min(others, 2000))
		}
	}
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// TestBrowserSeesViolations is the control: the checks above must see a
// script the policy does not allow, a request for the network, and an
// exception.
func TestBrowserSeesViolations(t *testing.T) {
	bctx := browser(t)
	dir := t.TempDir()
	url := htmlOf(t, dir, "demo.pcapng", analyze(t, filepath.Join(testdata, "demo.pcapng")))
	page, err := os.ReadFile(strings.TrimPrefix(url, "file://"))
	if err != nil {
		t.Fatal(err)
	}
	for name, inject := range map[string]string{
		"inline script":  `<script>document.title = "ran";</script>`,
		"network image":  `<img src="http://192.0.2.1/x.png">`,
		"external style": `<link rel="stylesheet" href="https://192.0.2.1/x.css">`,
	} {
		t.Run(name, func(t *testing.T) {
			bad := strings.Replace(string(page), "<main>", "<main>"+inject, 1)
			file := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".html")
			if err := os.WriteFile(file, []byte(bad), 0o644); err != nil {
				t.Fatal(err)
			}
			p := open(t, bctx, "file://"+file)
			time.Sleep(200 * time.Millisecond) // the violation reports arrive after the load
			t.Logf("seen: %q", p.Problems())
			if len(p.Problems()) == 0 {
				t.Errorf("%s: no problem seen", name)
			}
			if title := eval[string](t, p, `document.title`); title == "ran" {
				t.Errorf("the injected script ran")
			}
		})
	}
}
