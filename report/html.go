package report

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tlsscope/tlsscope/flows"
)

// The HTML report: one self-contained file (inline CSS and JS, allowed by
// their hashes in a Content-Security-Policy that allows nothing else, so
// it opens offline and a hostile string cannot make it load or run
// anything). Every string from the capture goes through Safe and then
// html/template's escaping, in SVG text too.
//
// Its size is bounded whatever the capture: table rows up to
// htmlMaxRows and htmlTableBudget bytes, ladders for the htmlMaxLadders
// worst connections within htmlLadderBudget bytes, htmlMaxBars bars in
// the timeline; what is left out is counted and pointed to --format json.
const (
	htmlMaxRows      = 20_000
	htmlTableBudget  = 7 << 20
	htmlMaxLadders   = 100
	htmlLadderBudget = 2 << 20
	htmlMaxBars      = 300
	htmlPageRows     = 1000 // table rows in the page at once
)

//go:embed html
var htmlFiles embed.FS

var htmlTemplate, htmlCSP = func() (*template.Template, string) {
	read := func(name string) string {
		b, err := htmlFiles.ReadFile("html/" + name)
		if err != nil {
			panic(err)
		}
		return string(b)
	}
	t := template.Must(template.New("report").Funcs(template.FuncMap{"add": func(a, b int) int { return a + b }}).Parse(read("report.tmpl")))
	template.Must(t.New("style").Parse("<style>" + read("report.css") + "</style>"))
	template.Must(t.New("script").Parse("<script>" + read("report.js") + "</script>"))
	// The policy hashes what the template emits, which is the files less
	// their comments (html/template strips them).
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "style", nil); err != nil {
		panic(err)
	}
	if err := t.ExecuteTemplate(&b, "script", nil); err != nil {
		panic(err)
	}
	css, js := between(b.String(), "<style>", "</style>"), between(b.String(), "<script>", "</script>")
	return t, "default-src 'none'; style-src '" + cspHash(css) + "'; script-src '" + cspHash(js) + "'; img-src 'none'; base-uri 'none'; form-action 'none'"
}()

func between(s, open, close string) string {
	_, after, _ := strings.Cut(s, open)
	inner, _, _ := strings.Cut(after, close)
	return inner
}

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// htmlWriter keeps each connection's summary (the digest) and the
// ladders of the worst, and writes the document at Close.
type htmlWriter struct {
	w           io.Writer
	opts        Options
	d           *digest
	ladders     []*htmlLadder
	first, last time.Time
}

func newHTMLWriter(w io.Writer, opts Options) Writer {
	d := newDigest(htmlMaxRows)
	d.read = opts.Total // "787 of 20000"
	return &htmlWriter{w: w, opts: opts, d: d}
}

// WriteHTML writes the HTML report of conns (which must still hold their
// messages: Build's, not summarized).
func WriteHTML(w io.Writer, conns []*Connection, opts Options) error {
	hw := newHTMLWriter(w, opts)
	for _, c := range conns {
		if err := hw.Write(c); err != nil {
			return err
		}
	}
	return hw.Close()
}

func (hw *htmlWriter) Write(c *Connection) error {
	if provisional(c) {
		return nil // the final record of the stream follows
	}
	if start, err := time.Parse(time.RFC3339Nano, c.Start); err == nil {
		end := start.Add(time.Duration(c.DurationMS * float64(time.Millisecond)))
		if hw.first.IsZero() || start.Before(hw.first) {
			hw.first = start
		}
		if end.After(hw.last) {
			hw.last = end
		}
	}
	if !c.tcpOnly || len(hw.ladders) < htmlMaxLadders {
		hw.ladders = append(hw.ladders, buildLadder(c))
		if len(hw.ladders) >= 2*htmlMaxLadders {
			hw.keepWorstLadders()
		}
	}
	c.Summarize(false)
	hw.d.add(c)
	return nil
}

// keepWorstLadders keeps the htmlMaxLadders worst, the earliest first
// among equals.
func (hw *htmlWriter) keepWorstLadders() {
	slices.SortStableFunc(hw.ladders, func(a, b *htmlLadder) int { return cmp.Compare(b.rank, a.rank) })
	if len(hw.ladders) > htmlMaxLadders {
		clear(hw.ladders[htmlMaxLadders:])
		hw.ladders = hw.ladders[:htmlMaxLadders]
	}
}

// htmlPage is the template's data.
type htmlPage struct {
	CSP       string
	Title     string
	Inputs    []string
	Span      string
	Dropped   string // what the capturing side dropped
	Version   string
	Stall     string
	Line      string
	Left      string // what the summary left out
	Notes     []string
	Counts    []htmlCount
	Groups    []htmlGroup
	TCPOnly   string
	Outcomes  []string
	Table     template.HTML // rows rendered by the "row" template, the first page
	More      template.HTML // and the others
	Rows      int
	Page      int // rows shown at first
	RowsLeft  int
	Timeline  htmlTimeline
	Ladders   template.HTML // sections rendered by the "ladder" template
	Drawn     int
	NotDrawn  int
	Connected int
	// Servers: outcomes by server and SNI, the busiest first.
	Servers     []htmlServer
	ServersLeft int
}

// htmlServer is a row of outcomes by server and SNI.
type htmlServer struct {
	Server, SNI                         string
	N, Complete, Failed, Stalled, Other int
	TopAlert, Times                     string
}

type htmlCount struct {
	Outcome string
	Tone    string
	N       int
}

type htmlGroup struct {
	Severity Severity
	Code     string
	N        int
	Streams  string
	Message  string
}

type htmlRow struct {
	Cells   []string // TableHeader's, made safe
	Outcome string
	Tone    string
	StartMS float64
	DurMS   float64
	Start   string // "1.000 s" after the first packet
	Dur     string
	Link    string // the ladder's anchor, or ""
	Order   int    // its place in stream order, TCP before QUIC, for sorting
}

// htmlServers is how many server and SNI pairs the summary lists.
const htmlServers = 50

// Close writes the document.
func (hw *htmlWriter) Close() error {
	d, opts := hw.d, hw.opts
	hw.keepWorstLadders()
	conns := d.shown()
	first, last := hw.first, hw.last
	if opts.Span != nil {
		if f, l := opts.Span(); !f.IsZero() {
			first, last = f, l
		}
	}
	p := htmlPage{CSP: htmlCSP, Title: "tlsscope report", Line: d.line(), Left: d.more(), Version: opts.Version, Connected: d.total}
	servers, pairs := d.servers(htmlServers)
	for _, sr := range servers {
		h := htmlServer{Server: sr.Server, SNI: sr.SNI, N: sr.Connections, Complete: sr.Complete, Failed: sr.Failed, Stalled: sr.Stalled, Other: sr.Other, TopAlert: sr.TopAlert}
		if sr.Times.N > 0 {
			h.Times = sr.Times.String()
		}
		p.Servers = append(p.Servers, h)
	}
	p.ServersLeft = pairs - len(servers)
	for _, in := range opts.Inputs {
		p.Inputs = append(p.Inputs, Safe(in))
	}
	if len(p.Inputs) > 0 {
		p.Title += ": " + strings.Join(p.Inputs, ", ")
	}
	if !first.IsZero() {
		p.Span = first.UTC().Format("2006-01-02 15:04:05.000") + " to " + last.UTC().Format("2006-01-02 15:04:05.000") + " UTC (" + seconds(last.Sub(first)) + ")"
	}
	if d, ok := drops(opts); ok {
		p.Dropped = d.Line()
	}
	if opts.StallTimeout > 0 {
		p.Stall = seconds(opts.StallTimeout) + ": a handshake whose owing side is silent this long is stalled"
	}
	for _, n := range notes(opts) {
		p.Notes = append(p.Notes, SafeText(n))
	}
	for _, o := range flows.Outcomes {
		if n := d.counts[string(o)]; n > 0 {
			p.Counts = append(p.Counts, htmlCount{Outcome: string(o), Tone: toneClass(string(o)), N: n})
			p.Outcomes = append(p.Outcomes, string(o))
		}
	}
	p.Groups = htmlGroups(d)
	if a := d.tcpOnly; a.n > tcpOnlyRows {
		p.TCPOnly = fmt.Sprintf("%d TCP connection attempts never reached TLS (%d listed); server ports: %s; top sources: %s", a.n, tcpOnlyRows, a.ports.String(), a.sources.String())
	}

	// Ladders first: the table links the rows that have one.
	linked := map[flows.StreamID]bool{}
	slices.SortStableFunc(hw.ladders, func(a, b *htmlLadder) int { return a.Stream.Compare(b.Stream) })
	var lb bytes.Buffer
	for _, l := range hw.ladders {
		mark := lb.Len()
		if err := htmlTemplate.ExecuteTemplate(&lb, "ladder", l); err != nil {
			return err
		}
		if lb.Len() > htmlLadderBudget {
			lb.Truncate(mark)
			break
		}
		linked[l.Stream] = true
		p.Drawn++
	}
	p.Ladders = template.HTML(lb.String()) // html/template's own output
	p.NotDrawn = d.total - p.Drawn

	rows := make([]htmlRow, 0, len(conns))
	for i, c := range conns {
		r := htmlRow{Cells: row(c), Outcome: c.Outcome, Tone: toneClass(c.Outcome), DurMS: c.DurationMS, Order: i}
		if start, err := time.Parse(time.RFC3339Nano, c.Start); err == nil && !first.IsZero() {
			r.StartMS = ms(start.Sub(first))
		}
		r.Start = strconv.FormatFloat(r.StartMS/1000, 'f', 3, 64) + " s"
		r.Dur = strconv.FormatFloat(r.DurMS, 'f', 1, 64) + " ms"
		if id := c.ID(); linked[id] {
			r.Link = "#" + id.Anchor()
		}
		rows = append(rows, r)
	}
	// The first htmlPageRows rows are shown, the rest wait in a hidden
	// tbody that the script pages through: a browser lays out a table of
	// 20,000 rows in seconds at every sort.
	var tb, more bytes.Buffer
	for _, r := range rows {
		b := &tb
		if p.Rows >= htmlPageRows {
			b = &more
		}
		mark := b.Len()
		if err := htmlTemplate.ExecuteTemplate(b, "row", r); err != nil {
			return err
		}
		if tb.Len()+more.Len() > htmlTableBudget {
			b.Truncate(mark)
			break
		}
		p.Rows++
	}
	p.Table, p.More = template.HTML(tb.String()), template.HTML(more.String()) // html/template's own output
	p.Page = min(p.Rows, htmlPageRows)
	p.RowsLeft = d.total - p.Rows
	p.Timeline = timeline(rows[:p.Rows], conns[:p.Rows], last.Sub(first), d.total)

	w := &stickyWriter{w: hw.w}
	if err := htmlTemplate.ExecuteTemplate(w, "page", p); err != nil && w.err == nil {
		return err
	}
	return w.err
}

func htmlGroups(d *digest) []htmlGroup {
	var out []htmlGroup
	for _, sev := range severities {
		var gs []*findingGroup
		for _, g := range d.findings {
			if g.severity == sev {
				gs = append(gs, g)
			}
		}
		slices.SortFunc(gs, func(a, b *findingGroup) int { return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.code, b.code)) })
		for _, g := range gs {
			var ss []string
			for _, s := range g.streams {
				ss = append(ss, s.String())
			}
			if g.n > len(g.streams) {
				ss = append(ss, "…")
			}
			out = append(out, htmlGroup{Severity: sev, Code: g.code, N: g.n, Streams: strings.Join(ss, ", "), Message: SafeText(g.message)})
		}
	}
	return out
}

// toneClass is the CSS class of an outcome's colour.
func toneClass(outcome string) string {
	switch flows.Outcome(outcome).Tone() {
	case flows.ToneGood:
		return "good"
	case flows.ToneUnsure:
		return "unsure"
	}
	return "bad"
}
