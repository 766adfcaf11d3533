package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tlsscope/tlsscope/flows"
)

// markdownBudget bounds the document: GitHub refuses an issue or comment
// body over 65,536 characters, and a report is pasted into one. What does
// not fit is left out, and the document says what.
const markdownBudget = 60_000

// markdownTableShare is how much of the budget the connection table may
// take, so that the sections of the worst connections still fit.
const markdownTableShare = 30_000

// WriteMarkdown writes a document to paste into an issue tracker.
func WriteMarkdown(w io.Writer, conns []*Connection, opts Options) error {
	mw := newMarkdownWriter(w, opts).(*markdownWriter)
	for _, c := range conns {
		mw.span(c)
		mw.group(c)
		mw.keep(c)
		mw.d.add(c)
	}
	return mw.Close()
}

// markdownWriter holds a summary of each connection (with the ladder of
// those that did not go well; all of it with Detail) and writes the
// document at Close.
type markdownWriter struct {
	w           io.Writer
	opts        Options
	d           *digest
	first, last time.Time // of the connections, when Options has no span
	findings    map[string]*mdFinding
	// kinds keeps, for each outcome (TCP-only attempts apart), the
	// connections of the lowest streams, at most the row limit: the table
	// shows some of every kind, not the first 50 of the commonest.
	kinds map[string][]*Connection
}

// mdFinding is one finding code over many connections, told by the
// lowest streams: the same whatever order the connections end in.
type mdFinding struct {
	severity Severity
	code     string
	n        int              // connections
	message  string           // the lowest stream's
	streams  []flows.StreamID // the lowest few, in order
}

// mdFindingStreams is how many streams a grouped finding names.
const mdFindingStreams = 5

func newMarkdownWriter(w io.Writer, opts Options) Writer {
	return &markdownWriter{w: w, opts: opts, d: newDigestFor(opts), findings: map[string]*mdFinding{}, kinds: map[string][]*Connection{}}
}

// keep adds c to the connections its kind keeps.
func (mw *markdownWriter) keep(c *Connection) {
	k := kindOf(c)
	cs := mw.kinds[k]
	at, _ := slices.BinarySearchFunc(cs, c.ID(), func(e *Connection, s flows.StreamID) int { return e.ID().Compare(s) })
	if limit := mw.d.limit; at < limit {
		cs = slices.Insert(cs, at, c)
		if len(cs) > limit {
			cs[limit] = nil
			cs = cs[:limit]
		}
		mw.kinds[k] = cs
	}
}

// interleaved is rows (grouped by kind) in turns: the first of each kind,
// then the second of each, and so on.
func interleaved(rows []*Connection) []*Connection {
	var groups [][]*Connection
	for i, c := range rows {
		if i == 0 || kindOf(c) != kindOf(rows[i-1]) {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], c)
	}
	out := make([]*Connection, 0, len(rows))
	for i := 0; len(out) < len(rows); i++ {
		for _, g := range groups {
			if i < len(g) {
				out = append(out, g[i])
			}
		}
	}
	return out
}

func kindOf(c *Connection) string {
	if c.tcpOnly {
		return c.Outcome + "/tcp"
	}
	return c.Outcome
}

// chosen is the table's rows: in turn one of each kind, the bad first
// and TLS before TCP-only attempts, up to the row limit; then grouped by
// kind, in stream order.
func (mw *markdownWriter) chosen() []*Connection {
	var kinds []string
	for _, tone := range []flows.Tone{flows.ToneBad, flows.ToneUnsure, flows.ToneGood} {
		for _, tcp := range []string{"", "/tcp"} {
			for _, o := range flows.Outcomes {
				if k := string(o) + tcp; o.Tone() == tone && len(mw.kinds[k]) > 0 {
					kinds = append(kinds, k)
				}
			}
		}
	}
	taken := map[string]int{}
	n := 0
	for more := true; more && n < mw.d.limit; {
		more = false
		for _, k := range kinds {
			if taken[k] < len(mw.kinds[k]) && n < mw.d.limit {
				taken[k]++
				n++
				more = true
			}
		}
	}
	var out []*Connection
	for _, k := range kinds {
		out = append(out, mw.kinds[k][:taken[k]]...)
	}
	return out
}

func (mw *markdownWriter) Write(c *Connection) error {
	if provisional(c) {
		return nil // its final record follows
	}
	mw.span(c)
	mw.group(c)
	c = held(c, !flows.Outcome(c.Outcome).Good(), mw.opts)
	mw.keep(c)
	mw.d.add(c)
	return nil
}

// group counts c's findings by code.
func (mw *markdownWriter) group(c *Connection) {
	for i, f := range c.Findings {
		if slices.ContainsFunc(c.Findings[:i], func(e Finding) bool { return e.Code == f.Code }) {
			continue // a connection counts once
		}
		g := mw.findings[f.Code]
		if g == nil {
			g = &mdFinding{severity: f.Severity, code: f.Code}
			mw.findings[f.Code] = g
		}
		g.n++
		at, _ := slices.BinarySearchFunc(g.streams, c.ID(), flows.StreamID.Compare)
		if at == 0 {
			// The example is the first stream's, and so is the severity
			// (a code's may differ by connection): the same whatever
			// order connections end in.
			g.message, g.severity = f.Message, f.Severity
		}
		if at < mdFindingStreams {
			g.streams = slices.Insert(g.streams, at, c.ID())
			g.streams = g.streams[:min(len(g.streams), mdFindingStreams)]
		}
	}
}

// span widens the connections' time span by c's.
func (mw *markdownWriter) span(c *Connection) {
	start, err := time.Parse(time.RFC3339Nano, c.Start)
	if err != nil {
		return
	}
	end := start.Add(time.Duration(c.DurationMS * float64(time.Millisecond)))
	if mw.first.IsZero() || start.Before(mw.first) {
		mw.first = start
	}
	if end.After(mw.last) {
		mw.last = end
	}
}

// mdDoc is the document as it is built, measured in the characters
// GitHub counts (UTF-16 code units).
type mdDoc struct {
	b strings.Builder
	n int
}

func (d *mdDoc) add(s string) {
	d.b.WriteString(s)
	d.n += mdLen(s)
}

func mdLen(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r > 0xffff {
			n++ // a surrogate pair
		}
	}
	return n
}

// Close writes the document: header, outcomes, findings grouped by code,
// a table of the worst connections, and a section with a Mermaid ladder
// for each that did not complete, as many as the budget holds.
func (mw *markdownWriter) Close() error {
	opts, d := mw.opts, mw.d
	rows := mw.chosen()
	// What must be said is bounded by us, not by the capture: the header,
	// the outcome counts, the notes and one line per finding code.
	limit := markdownBudget - 2_000 // kept for the closing note
	doc := &mdDoc{}
	doc.add(mw.header())
	doc.add(outcomeTable(d))
	for _, n := range notes(opts) {
		doc.add(mdText(SafeText(n), false) + "\n\n")
	}
	var left []string
	if fs, out := findingsSection(mw.findings, limit/4); fs != "" {
		doc.add(fs)
		if out > 0 {
			left = append(left, thousands(out)+" finding codes")
		}
	}
	// The rows, then the sections, are chosen before the table is written,
	// so that its rows link to the sections written.
	var tableHead string
	if len(rows) > 0 {
		tableHead = "### Connections\n\n"
		if more := mw.more(len(rows)); more != "" {
			tableHead += more + "\n\n"
		}
		tableHead += "| Verdict | Stream | Server | SNI | TLS |\n| --- | ---: | --- | --- | --- |\n"
	}
	// Both are chosen in turns over the kinds (interleaved), so that what
	// the budget holds has some of each; they are written in row order.
	order := interleaved(rows)
	inTable := map[*Connection]bool{}
	var rowLeft, secLeft []flows.StreamID
	used := doc.n + mdLen(tableHead) + 1
	for _, c := range order {
		r := mdRow(c, true)
		if used+mdLen(r) > min(doc.n+markdownTableShare, limit) {
			rowLeft = append(rowLeft, c.ID())
			continue
		}
		used += mdLen(r)
		inTable[c] = true
	}
	section := map[*Connection]string{}
	for _, c := range order {
		if flows.Outcome(c.Outcome).Good() && !opts.Detail {
			continue
		}
		s := mw.section(c)
		if used+mdLen(s) > limit {
			secLeft = append(secLeft, c.ID())
			continue
		}
		used += mdLen(s)
		section[c] = s
	}
	slices.SortFunc(rowLeft, flows.StreamID.Compare)
	slices.SortFunc(secLeft, flows.StreamID.Compare)
	if len(rows) > 0 {
		var t strings.Builder
		t.WriteString(tableHead)
		for _, c := range rows {
			if inTable[c] {
				_, linked := section[c]
				t.WriteString(mdRow(c, linked))
			}
		}
		doc.add(t.String() + "\n")
	}
	if a := d.tcpOnly; a.n > tcpOnlyRows {
		var vs []string
		for v, n := range a.verdicts {
			vs = append(vs, fmt.Sprintf("%d %s", n, v))
		}
		slices.Sort(vs)
		doc.add(mdText(fmt.Sprintf("TCP connection attempts that never reached TLS: %s (%d listed; %s more: %s); server ports: %s; top sources: %s.",
			thousands(a.n), tcpOnlyRows, thousands(a.n-tcpOnlyRows), strings.Join(vs, ", "), a.ports.String(), a.sources.String()), false) + "\n\n")
	}
	for _, c := range rows {
		doc.add(section[c])
	}
	if len(rowLeft) > 0 {
		left = append(left, fmt.Sprintf("%s table rows (streams %s)", thousands(len(rowLeft)), streamList(rowLeft)))
	}
	if len(secLeft) > 0 {
		left = append(left, fmt.Sprintf("the ladders of %s connections (streams %s; `--stream N`, or `--stream udp:N` for QUIC, shows one)", thousands(len(secLeft)), streamList(secLeft)))
	}
	if len(left) > 0 {
		doc.add(fmt.Sprintf("---\n\nLeft out to stay under %s characters (GitHub takes at most 65,536): %s.\n", thousands(markdownBudget), strings.Join(left, "; ")))
	}
	s := strings.TrimRight(doc.b.String(), "\n") + "\n"
	_, err := io.WriteString(mw.w, s)
	return err
}

// header says what was read, when, and with what: the verdicts depend on
// the stall timeout and the version of tlsscope.
func (mw *markdownWriter) header() string {
	opts := mw.opts
	var b strings.Builder
	b.WriteString("## tlsscope report\n\n")
	if len(opts.Inputs) > 0 {
		var in []string
		for _, name := range opts.Inputs {
			in = append(in, mdCode(Safe(name), false))
		}
		b.WriteString("- **Input:** " + strings.Join(in, ", ") + "\n")
	}
	first, last := mw.first, mw.last
	if opts.Span != nil {
		first, last = opts.Span()
	}
	if !first.IsZero() {
		b.WriteString("- **Capture:** " + timeSpan(first, last) + "\n")
	}
	if d, ok := drops(opts); ok {
		b.WriteString("- **Capture drops:** " + d.Line() + "\n")
	}
	if opts.Version != "" || opts.StallTimeout > 0 {
		b.WriteString("- **tlsscope**")
		if opts.Version != "" {
			b.WriteString(" " + mdCode(Safe(opts.Version), false))
		}
		if opts.StallTimeout > 0 {
			b.WriteString(", stall timeout " + durationWords(opts.StallTimeout) + ": a handshake whose owing side is silent this long is *stalled*")
		}
		b.WriteString("\n")
	}
	if opts.Attachment != nil {
		at := opts.Attachment()
		name := mdCode(Safe(at.Name), false)
		switch {
		case at.Conns == 0:
			b.WriteString("- **Attachment:** " + at.NotWritten(name) + "\n")
		default:
			which := "the " + plural(at.Conns, "connection")
			if at.Unkept > 0 {
				which = fmt.Sprintf("%s of the %s", thousands(at.Conns), plural(at.Conns+at.Unkept, "connection"))
			}
			b.WriteString(fmt.Sprintf("- **Attachment:** %s holds the packets of %s that did not complete. Wireshark numbers its streams from 0, TCP and UDP apart: each connection below says its stream there.\n",
				name, which))
		}
	}
	b.WriteString("\n")
	return b.String()
}

// more says how many connections the table lists of how many.
func (mw *markdownWriter) more(listed int) string {
	d := mw.d
	if d.total == listed {
		return ""
	}
	return fmt.Sprintf("%s of %s listed, the first streams of each outcome, the worst first; %s more: `--format json` lists every one.",
		thousands(listed), thousands(d.total), thousands(d.total-listed))
}

// outcomeTable counts each outcome: "787 of 20,000", the bad ones first.
func outcomeTable(d *digest) string {
	var b strings.Builder
	if d.total == 0 {
		return "**No TLS connection in the capture.**\n\n"
	}
	bad := 0
	for o, n := range d.counts {
		if !flows.Outcome(o).Good() {
			bad += n
		}
	}
	shown := plural(d.total, "TLS connection")
	if d.read != nil {
		if n := d.read(); n > d.total {
			// Filtered (--only, --sni, ...): of how many read.
			shown = thousands(d.total) + " of " + plural(n, "TLS connection")
		}
	}
	if bad > 0 {
		fmt.Fprintf(&b, "**%s, %s did not complete**\n\n", shown, thousands(bad))
	} else {
		fmt.Fprintf(&b, "**%s**\n\n", shown)
	}
	b.WriteString("| Outcome | Connections |\n| --- | ---: |\n")
	for _, tone := range []flows.Tone{flows.ToneBad, flows.ToneUnsure, flows.ToneGood} {
		for _, o := range flows.Outcomes {
			if n := d.counts[string(o)]; n > 0 && o.Tone() == tone {
				name := strings.ReplaceAll(string(o), "_", " ")
				if tone == flows.ToneBad {
					name = "**" + name + "**"
				}
				fmt.Fprintf(&b, "| %s | %s of %s |\n", name, thousands(n), thousands(d.total))
			}
		}
	}
	b.WriteString("\n")
	return b.String()
}

// findingsSection groups the findings of every connection, completed or
// not, by code, severities in order; it stops before limit characters and
// says how many codes it left out.
func findingsSection(groups map[string]*mdFinding, limit int) (string, int) {
	var gs []*mdFinding
	for _, g := range groups {
		gs = append(gs, g)
	}
	if len(gs) == 0 {
		return "", 0
	}
	slices.SortFunc(gs, func(a, b *mdFinding) int {
		return cmp.Or(cmp.Compare(severityRank[b.severity], severityRank[a.severity]), cmp.Compare(b.n, a.n), cmp.Compare(a.code, b.code))
	})
	var b strings.Builder
	b.WriteString("### Findings\n\n")
	n, out := mdLen(b.String()), 0
	for _, g := range gs {
		var ss []string
		for _, s := range g.streams {
			ss = append(ss, s.String())
		}
		if g.n > len(g.streams) {
			ss = append(ss, "…")
		}
		which := g.streams[0].Name()
		eg := ""
		if len(ss) > 1 {
			which, eg = "streams "+strings.Join(ss, ", "), "e.g. "
		}
		line := fmt.Sprintf("- **%s** `%s` on %s (%s): %s%s\n", g.severity, g.code, plural(g.n, "connection"), which, eg, mdText(clipRunes(SafeText(g.message), 400), false))
		if n+mdLen(line) > limit {
			out++
			continue
		}
		b.WriteString(line)
		n += mdLen(line)
	}
	b.WriteString("\n")
	return b.String(), out
}

// mdRow is a connection's row: verdict first, five columns of text that
// wraps, so that the table fits GitHub's 1012 px issue width (a code span
// does not wrap: names are cut short here, said whole in the section; the
// cipher suite, a long word, is said there too).
func mdRow(c *Connection, link bool) string {
	id := c.ID()
	stream := id.String()
	if link {
		stream = "[" + stream + "](#" + id.Anchor() + ")"
	}
	var sni string
	if c.ClientHello != nil && c.ClientHello.SNI != "" {
		sni = mdCode(clipRunes(Safe(c.ClientHello.SNI), 24), true)
	}
	var tls []string
	if c.Version != "" {
		tls = append(tls, c.Version)
	}
	if c.ServerHello != nil && c.ServerHello.ALPN != "" {
		tls = append(tls, mdCode(clipRunes(Safe(c.ServerHello.ALPN), 16), true))
	}
	if len(c.Certificates) > 0 {
		tls = append(tls, "cert "+mdCert(c.Certificates[0]))
	}
	return "| " + mdText(Safe(c.Verdict), true) + " | " + stream + " | " + mdCode(c.Server, true) + " | " + sni + " | " + strings.Join(tls, ", ") + " |\n"
}

// mdCert is the leaf certificate in a cell: its name, cut short, and
// when it expires.
func mdCert(leaf Certificate) string {
	if leaf.Error != "" {
		return "unparsable"
	}
	name := leaf.CommonName
	if name == "" && len(leaf.DNSNames) > 0 {
		name = leaf.DNSNames[0]
	}
	s := mdCode(clipRunes(Safe(name), 28), true)
	if len(leaf.NotAfter) >= 10 {
		s += " (exp " + leaf.NotAfter[:10] + ")"
	}
	return s
}

// section is one connection in detail: verdict, addresses, its ladder
// as a diagram, and its findings.
func (mw *markdownWriter) section(c *Connection) string {
	var b strings.Builder
	// The heading GitHub makes the anchor of: id.Anchor().
	id := c.ID()
	fmt.Fprintf(&b, "### Stream %s\n\n**%s**\n\n", id, mdText(Safe(c.Verdict), false))
	fmt.Fprintf(&b, "client %s → server %s", mdCode(c.Client, false), mdCode(c.Server, false))
	if c.ClientHello != nil && c.ClientHello.SNI != "" {
		b.WriteString(", SNI " + mdCode(Safe(c.ClientHello.SNI), false))
	}
	if c.Version != "" {
		b.WriteString(", " + c.Version)
	}
	if c.ServerHello != nil && c.ServerHello.CipherSuite != "" {
		b.WriteString(" " + mdCode(c.ServerHello.CipherSuite, false))
	}
	fmt.Fprintf(&b, "; Wireshark filter %s", mdCode(id.DisplayFilter(), false))
	if s := c.AttachmentStream; s != nil && mw.opts.Attachment != nil {
		fmt.Fprintf(&b, "; %s here is %s in %s (%s)", id.Name(), s.Name(), mdCode(Safe(mw.opts.Attachment().Name), false), mdCode(s.DisplayFilter(), false))
	}
	b.WriteString("\n\n")
	if q := sequenceOf(c); q != nil {
		writeMermaid(&b, q, c.Client, c.Server)
		b.WriteString("\n")
	}
	fs := slices.Clone(c.Findings)
	slices.SortStableFunc(fs, func(a, b Finding) int { return cmp.Compare(severityRank[b.Severity], severityRank[a.Severity]) })
	for _, f := range fs {
		fmt.Fprintf(&b, "- **%s** `%s`: %s\n", f.Severity, f.Code, mdText(withFrames(SafeText(f.Message), f.Frames), false))
	}
	if len(fs) > 0 {
		b.WriteString("\n")
	}
	if mw.opts.Detail && c.result != nil {
		var t strings.Builder
		writeDetail(&t, c, "")
		b.WriteString("````text\n" + strings.ReplaceAll(t.String(), "```", "'''") + "````\n\n")
	}
	return b.String()
}

// mdCode is s as a code span, inside which GitHub links nothing (no
// autolink, mention, issue reference or emoji) and reads no markup. The
// fence is one backtick longer than the longest run in s; in a table
// cell a pipe must still be escaped, even in a code span (GFM §4.10).
func mdCode(s string, inTable bool) string {
	if s == "" {
		return ""
	}
	run, longest := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if s[0] == '`' || s[len(s)-1] == '`' || s[0] == ' ' && s[len(s)-1] == ' ' {
		s = " " + s + " " // one space each side is stripped
	}
	if inTable {
		s = strings.ReplaceAll(s, "|", `\|`)
	}
	return fence + s + fence
}

// mdEscape escapes what Markdown would read as markup, and what breaks a
// table cell.
var mdEscape = strings.NewReplacer("|", `\|`, "`", "\\`", "*", `\*`, "_", `\_`, "<", "&lt;", ">", "&gt;",
	"[", `\[`, "]", `\]`, "&", "&amp;", "~", `\~`, "#", `\#`, "!", `\!`)

// mdText is a sentence, safe already (SafeText), as Markdown: markup is
// escaped, and each word GitHub would turn into a link (www. and http://
// autolinks, domains, e-mail addresses, @mentions, #references, :emoji:)
// goes into a code span, where GitHub links nothing.
func mdText(s string, inTable bool) string {
	words := strings.Split(s, " ")
	for i, w := range words {
		if linky(w) {
			words[i] = mdCode(w, inTable)
		} else {
			words[i] = mdEscape.Replace(w)
		}
	}
	return strings.Join(words, " ")
}

// linky reports whether GitHub may turn a word into a link or a
// reference: it has @, #, ://, two colons (an IPv6 address, an :emoji:),
// or a dot followed by a letter (www.example.com, a bare domain, or a
// piece of one).
func linky(w string) bool {
	if strings.ContainsAny(w, "@#") || strings.Contains(w, "://") || strings.Count(w, ":") >= 2 {
		return true
	}
	for i := 1; i+1 < len(w); i++ {
		if w[i] == '.' && isLetter(w[i+1]) {
			return true
		}
	}
	return false
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80 }

// thousands writes n with commas: 20,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return thousands(n) + " " + noun + "s"
}

// streamList names at most 20 streams.
func streamList(ss []flows.StreamID) string {
	var out []string
	for _, s := range ss[:min(20, len(ss))] {
		out = append(out, s.String())
	}
	if len(ss) > 20 {
		out = append(out, "…")
	}
	return strings.Join(out, ", ")
}

// timeSpan says the first and last packet, UTC, and the time between.
func timeSpan(first, last time.Time) string {
	first, last = first.UTC(), last.UTC()
	const day, clock = "2006-01-02 ", "15:04:05.000"
	to := last.Format(clock)
	if first.Format(day) != last.Format(day) {
		to = last.Format(day + clock)
	}
	return first.Format(day+clock) + " to " + to + " UTC (" + durationWords(last.Sub(first)) + ")"
}

// durationWords: 20 ms, 5.0 s, 1h2m3s.
func durationWords(d time.Duration) string {
	if d < 2*time.Minute {
		return seconds(d)
	}
	return d.Round(time.Second).String()
}
