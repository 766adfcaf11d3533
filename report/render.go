package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/tlsscope/tlsscope/flows"
)

// Options shape the human-readable formats.
type Options struct {
	Color  bool // ANSI colour (terminals only)
	Detail bool // a ladder and all fields per connection
	// Inputs names what was read, for the report's heading.
	Inputs []string
}

// WriteJSON writes one JSON object per connection, one per line.
func WriteJSON(w io.Writer, conns []*Connection) error {
	jw := NewJSONWriter(w)
	for _, c := range conns {
		if err := jw.Write(c); err != nil {
			return err
		}
	}
	return nil
}

// JSONWriter writes connections as JSON Lines as they come, reusing one
// buffer.
type JSONWriter struct {
	w   io.Writer
	buf bytes.Buffer
	enc *json.Encoder
}

// NewJSONWriter writes to w.
func NewJSONWriter(w io.Writer) *JSONWriter {
	jw := &JSONWriter{w: w}
	jw.enc = json.NewEncoder(&jw.buf)
	return jw
}

// Write writes one connection as one line.
func (jw *JSONWriter) Write(c *Connection) error {
	jw.buf.Reset()
	if err := jw.enc.Encode(c); err != nil {
		return err
	}
	_, err := jw.w.Write(escapeBidi(jw.buf.Bytes()))
	return err
}

// escapeBidi writes Unicode bidirectional controls as \u escapes: the
// same JSON value, but a terminal showing the line cannot be made to
// reorder it.
func escapeBidi(b []byte) []byte {
	if !hasBidi(b) {
		return b
	}
	var out bytes.Buffer
	for _, r := range string(b) {
		if isBidi(r) {
			fmt.Fprintf(&out, "\\u%04x", r)
			continue
		}
		out.WriteRune(r)
	}
	return out.Bytes()
}

func isBidi(r rune) bool {
	return r == 0x200e || r == 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
}

// hasBidi looks for the UTF-8 encodings of the bidirectional controls,
// E2 80 8E-8F, E2 80 AA-AE and E2 81 A6-A9, without decoding runes.
func hasBidi(b []byte) bool {
	for {
		i := bytes.IndexByte(b, 0xe2)
		if i < 0 || i+2 >= len(b) {
			return false
		}
		c1, c2 := b[i+1], b[i+2]
		if c1 == 0x80 && (c2 == 0x8e || c2 == 0x8f || c2 >= 0xaa && c2 <= 0xae) || c1 == 0x81 && c2 >= 0xa6 && c2 <= 0xa9 {
			return true
		}
		b = b[i+1:]
	}
}

// TableHeader is the table's columns, shared with CSV.
var TableHeader = []string{"Stream", "Client", "Server", "SNI", "Version", "Cipher suite", "ALPN", "Certificate", "Verdict"}

func certCell(c *Connection) string {
	if len(c.Certificates) == 0 {
		return ""
	}
	leaf := c.Certificates[0]
	if leaf.Error != "" {
		return "unparsable"
	}
	name := leaf.CommonName
	if name == "" && len(leaf.DNSNames) > 0 {
		name = leaf.DNSNames[0]
	}
	exp := leaf.NotAfter
	if len(exp) >= 10 {
		exp = exp[:10]
	}
	return Safe(name) + " (exp " + exp + ")"
}

// row is the table's cells for one connection, made safe to print.
func row(c *Connection) []string {
	var sni, alpn, suite string
	if c.ClientHello != nil {
		sni = Safe(c.ClientHello.SNI)
	}
	if c.ServerHello != nil {
		suite = c.ServerHello.CipherSuite
		alpn = Safe(c.ServerHello.ALPN)
	}
	if alpn == "" && c.ClientHello != nil && len(c.ClientHello.ALPN) > 0 {
		alpn = strings.Join(SafeList(c.ClientHello.ALPN), ",") + " (offered)"
	}
	return []string{strconv.Itoa(c.Stream), c.Client, c.Server, sni, c.Version, suite, alpn, certCell(c), Safe(c.Verdict)}
}

// Summary counts outcomes.
func Summary(conns []*Connection) string {
	counts := map[string]int{}
	for _, c := range conns {
		counts[c.Outcome]++
	}
	var parts []string
	for _, o := range flows.Outcomes {
		if n := counts[string(o)]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, o))
		}
	}
	if len(parts) == 0 {
		return "0 TLS connections"
	}
	noun := "connections"
	if len(conns) == 1 {
		noun = "connection"
	}
	return fmt.Sprintf("%d TLS %s: %s", len(conns), noun, strings.Join(parts, ", "))
}

const (
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiGreen  = "\x1b[32m"
	ansiReset  = "\x1b[0m"
)

// toneColor is the terminal colour of each colour class (flows.Outcome.Tone).
var toneColor = map[flows.Tone]string{flows.ToneGood: ansiGreen, flows.ToneUnsure: ansiYellow, flows.ToneBad: ansiRed}

func colorFor(outcome string) string { return toneColor[flows.Outcome(outcome).Tone()] }

// WriteTable writes the terminal report: table, findings by severity,
// summary line; with Detail, a ladder per connection.
func WriteTable(w io.Writer, conns []*Connection, opts Options) error {
	if len(conns) > 0 {
		t := tablewriter.NewTable(w,
			tablewriter.WithRenderer(renderer.NewBlueprint()),
			tablewriter.WithRowAutoWrap(tw.WrapNone),
			tablewriter.WithHeaderAutoFormat(tw.Off),
		)
		t.Header(toAny(TableHeader)...)
		for _, c := range conns {
			cells := row(c)
			if opts.Color {
				cells[8] = colorFor(c.Outcome) + cells[8] + ansiReset
			}
			if err := t.Append(cells); err != nil {
				return err
			}
		}
		if err := t.Render(); err != nil {
			return err
		}
	}
	writeFindings(w, conns, "", opts.Color)
	if opts.Detail {
		for _, c := range conns {
			fmt.Fprintln(w)
			writeDetail(w, c, "")
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, Summary(conns))
	return nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

var severities = []Severity{SevError, SevWarning, SevInfo}

func writeFindings(w io.Writer, conns []*Connection, bullet string, color bool) {
	for _, sev := range severities {
		var lines []string
		for _, c := range conns {
			for _, f := range c.Findings {
				if f.Severity == sev {
					lines = append(lines, fmt.Sprintf("%sstream %d: %s: %s", bullet, c.Stream, f.Code, SafeText(f.Message)))
				}
			}
		}
		if len(lines) == 0 {
			continue
		}
		title := strings.ToUpper(string(sev[:1])) + string(sev[1:]) + "s"
		if color {
			title = map[Severity]string{SevError: ansiRed, SevWarning: ansiYellow, SevInfo: ""}[sev] + title + ansiReset
		}
		fmt.Fprintf(w, "\n%s (%d):\n", title, len(lines))
		for _, l := range lines {
			fmt.Fprintln(w, "  "+l)
		}
	}
}

func arrow(from string) string {
	if from == "client" {
		return "client → server"
	}
	return "server → client"
}

// Ladder is the time-ordered list of TCP events and TLS messages.
func Ladder(c *Connection) []string {
	if c.ladder != nil {
		return c.ladder
	}
	r := c.result
	type step struct {
		t    time.Duration
		line string
	}
	var steps []step
	for _, e := range r.Events {
		note := ""
		if e.Note != "" {
			note = " (" + e.Note + ")"
		}
		steps = append(steps, step{e.Time.Sub(r.Start), fmt.Sprintf("%s  TCP %s%s", arrow(e.From.String()), e.Kind, note)})
	}
	for _, m := range c.Messages {
		line := fmt.Sprintf("%s  %s", arrow(m.From), m.Type)
		if m.Encrypted && m.Type != "ApplicationData" {
			line += " (encrypted)"
		}
		if m.Note != "" {
			line += " " + Safe(m.Note)
		}
		if m.Length > 0 {
			line += fmt.Sprintf(" [%d bytes]", m.Length)
		}
		steps = append(steps, step{time.Duration(m.TMS * float64(time.Millisecond)), line})
	}
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].t < steps[j].t })
	out := make([]string, 0, len(steps)+1)
	for _, s := range steps {
		out = append(out, fmt.Sprintf("%+10.1f ms  %s", float64(s.t.Microseconds())/1000, s.line))
	}
	if r.HS.MessagesDropped > 0 {
		out = append(out, fmt.Sprintf("(%d more records not listed)", r.HS.MessagesDropped))
	}
	return out
}

// DisplayFilter is the Wireshark display filter that shows the connection.
func DisplayFilter(c *Connection) string {
	return fmt.Sprintf("tcp.stream eq %d", c.Stream)
}

func writeDetail(w io.Writer, c *Connection, indent string) {
	fmt.Fprintf(w, "%s── stream %d: %s → %s: %s\n", indent, c.Stream, c.Client, c.Server, Safe(c.Verdict))
	for _, l := range Ladder(c) {
		fmt.Fprintln(w, indent+"  "+l)
	}
	kv := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%s  %-22s %s\n", indent, k+":", v)
		}
	}
	if ch := c.ClientHello; ch != nil {
		kv("offered versions", strings.Join(ch.SupportedVersions, ", "))
		kv("hello version", ch.Version)
		kv("SNI", Safe(ch.SNI))
		kv("ALPN offered", strings.Join(SafeList(ch.ALPN), ", "))
		kv("suites offered", fmt.Sprintf("%d: %s", len(ch.CipherSuites), strings.Join(ch.CipherSuites, ", ")))
		kv("groups", strings.Join(ch.Groups, ", "))
		kv("key shares", strings.Join(ch.KeyShareGroups, ", "))
		kv("extensions", strings.Join(ch.Extensions, ", "))
		kv("JA3", ch.JA3)
		kv("JA4", ch.JA4)
	}
	if sh := c.ServerHello; sh != nil {
		kv("version chosen", c.Version)
		kv("suite chosen", sh.CipherSuite)
		kv("ALPN chosen", Safe(sh.ALPN))
		kv("key share chosen", sh.KeyShareGroup)
		kv("server extensions", strings.Join(sh.Extensions, ", "))
		kv("JA3S", sh.JA3S)
	}
	for i, cert := range c.Certificates {
		kv(fmt.Sprintf("certificate %d", i), certLine(cert))
	}
	for i, cert := range c.ClientCertificates {
		kv(fmt.Sprintf("client certificate %d", i), certLine(cert))
	}
	if c.SessionTicket != nil {
		kv("session ticket", fmt.Sprintf("lifetime %d s, %d bytes", c.SessionTicket.LifetimeS, c.SessionTicket.TicketLength))
	}
	for _, f := range c.Findings {
		kv(string(f.Severity), f.Code+": "+SafeText(f.Message))
	}
	kv("Wireshark filter", DisplayFilter(c))
}

func certLine(c Certificate) string {
	if c.Error != "" {
		return fmt.Sprintf("unparsable (%s), sha256 %s", Safe(c.Error), c.SHA256)
	}
	s := fmt.Sprintf("subject %s; issuer %s; %s; valid %s to %s", Safe(c.Subject), Safe(c.Issuer), c.PublicKey, c.NotBefore, c.NotAfter)
	if len(c.DNSNames) > 0 {
		names := c.DNSNames
		more := ""
		if len(names) > 6 {
			more = fmt.Sprintf(" and %d more", len(names)-6)
			names = names[:6]
		}
		s += "; names " + strings.Join(SafeList(names), ", ") + more
	}
	return s
}

// WriteMarkdown writes a document to paste into an issue tracker.
func WriteMarkdown(w io.Writer, conns []*Connection, opts Options) error {
	fmt.Fprintln(w, "## tlsscope report")
	fmt.Fprintln(w)
	if len(opts.Inputs) > 0 {
		fmt.Fprintf(w, "Input: %s\n\n", markdownCell(Safe(strings.Join(opts.Inputs, ", "))))
	}
	fmt.Fprintf(w, "**%s**\n\n", Summary(conns))
	if len(conns) > 0 {
		fmt.Fprintln(w, "| "+strings.Join(TableHeader, " | ")+" |")
		fmt.Fprintln(w, "|"+strings.Repeat(" --- |", len(TableHeader)))
		for _, c := range conns {
			cells := row(c)
			for i := range cells {
				cells[i] = markdownCell(cells[i])
			}
			fmt.Fprintln(w, "| "+strings.Join(cells, " | ")+" |")
		}
	}
	for _, c := range conns {
		if flows.Outcome(c.Outcome).Good() && !opts.Detail {
			continue
		}
		fmt.Fprintf(w, "\n### Stream %d: %s\n\n", c.Stream, markdownCell(Safe(c.Verdict)))
		fmt.Fprintf(w, "`%s` → `%s`, Wireshark filter `%s`\n\n", c.Client, c.Server, DisplayFilter(c))
		fmt.Fprintln(w, "```")
		for _, l := range Ladder(c) {
			fmt.Fprintln(w, strings.ReplaceAll(l, "```", "'''"))
		}
		fmt.Fprintln(w, "```")
		if len(c.Findings) > 0 {
			fmt.Fprintln(w)
			for _, f := range c.Findings {
				fmt.Fprintf(w, "- **%s** `%s`: %s\n", f.Severity, f.Code, markdownCell(SafeText(f.Message)))
			}
		}
	}
	return nil
}

// CSVWriter writes one line per connection: the table's columns and the
// outcome, after a header line.
type CSVWriter struct {
	w      *csv.Writer
	header bool
}

// NewCSVWriter starts CSV output.
func NewCSVWriter(w io.Writer) *CSVWriter { return &CSVWriter{w: csv.NewWriter(w)} }

// Write adds a connection.
func (cw *CSVWriter) Write(c *Connection) error {
	if err := cw.writeHeader(); err != nil {
		return err
	}
	cells := row(c)
	for i, s := range cells {
		// Spreadsheets run cells that start with these as formulas.
		if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
			cells[i] = "'" + s
		}
	}
	return cw.w.Write(append(cells, c.Outcome))
}

func (cw *CSVWriter) writeHeader() error {
	if cw.header {
		return nil
	}
	cw.header = true
	return cw.w.Write(append(append([]string{}, TableHeader...), "Outcome"))
}

// Flush writes what is buffered (and the header when there was no row).
func (cw *CSVWriter) Flush() error {
	if err := cw.writeHeader(); err != nil {
		return err
	}
	cw.w.Flush()
	return cw.w.Error()
}

// WriteCSV writes the connections as CSV.
func WriteCSV(w io.Writer, conns []*Connection) error {
	cw := NewCSVWriter(w)
	for _, c := range conns {
		if err := cw.Write(c); err != nil {
			return err
		}
	}
	return cw.Flush()
}

// Line is one connection on one line, for live output: the table's
// cells that are set, and the verdict.
func Line(c *Connection, color bool) string {
	cells := row(c)
	verdict := cells[8]
	if color {
		verdict = colorFor(c.Outcome) + verdict + ansiReset
	}
	parts := []string{"stream " + cells[0], cells[1] + " → " + cells[2]}
	for _, x := range cells[3:8] {
		if x != "" {
			parts = append(parts, x)
		}
	}
	prefix := ""
	if c.Update {
		prefix = "update: "
	}
	return prefix + strings.Join(parts, "  ") + "  " + verdict
}
