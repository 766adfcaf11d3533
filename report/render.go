package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/tlsscope/tlsscope/flows"
)

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
	return []string{c.ID().String(), c.Client, c.Server, sni, c.Version, suite, alpn, certCell(c), Safe(c.Verdict)}
}

const (
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiGreen  = "\x1b[32m"
	ansiReset  = "\x1b[0m"
)

// toneColor is the terminal colour of each colour class (flows.Outcome.Tone).
var toneColor = map[flows.Tone]string{flows.ToneGood: ansiGreen, flows.ToneUnsure: ansiYellow, flows.ToneBad: ansiRed}

// rowColor is the colour of a connection's row (rowTone).
func rowColor(c *Connection) string { return toneColor[rowTone(c)] }

var severities = []Severity{SevError, SevWarning, SevInfo}

// writeFindings lists the findings of conns by severity, one line each,
// except that a code found on more than groupAfter connections is one
// line with a count and example streams, where it first comes.
func writeFindings(w io.Writer, conns []*Connection, bullet string, color bool) {
	groups := map[string]*findingGroup{}
	for _, c := range conns {
		for _, f := range c.Findings {
			g := groups[f.Code]
			if g == nil {
				g = &findingGroup{severity: f.Severity, code: f.Code, message: f.Message}
				groups[f.Code] = g
			}
			if g.n++; len(g.streams) < 5 {
				g.streams = append(g.streams, c.ID())
			}
		}
	}
	for _, sev := range severities {
		var lines []string
		n := 0
		for _, c := range conns {
			for _, f := range c.Findings {
				if f.Severity != sev {
					continue
				}
				n++
				switch g := groups[f.Code]; {
				case g.n <= groupAfter:
					lines = append(lines, fmt.Sprintf("%s%s: %s: %s", bullet, c.ID().Name(), f.Code, withFrames(SafeText(f.Message), f.Frames)))
				case g.streams != nil:
					lines = append(lines, bullet+g.line())
					g.streams = nil // listed
				}
			}
		}
		if len(lines) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s (%d):\n", severityTitle(sev, color), n)
		for _, l := range lines {
			fmt.Fprintln(w, "  "+l)
		}
	}
}

// severityTitle is "Errors", "Warnings" or "Infos", coloured on a
// terminal.
func severityTitle(sev Severity, color bool) string {
	title := strings.ToUpper(string(sev[:1])) + string(sev[1:]) + "s"
	if color {
		title = map[Severity]string{SevError: ansiRed, SevWarning: ansiYellow, SevInfo: ""}[sev] + title + ansiReset
	}
	return title
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
		t     time.Duration
		frame int64
		line  string
	}
	var steps []step
	for _, e := range r.Events {
		label, note := eventWords(r, e)
		if note != "" {
			note = " (" + Safe(note) + ")"
		}
		steps = append(steps, step{e.Time.Sub(r.Start), e.Frame, fmt.Sprintf("%s  %s%s", arrow(e.From.String()), label, note)})
	}
	for _, m := range c.Messages {
		line := fmt.Sprintf("%s  %s", arrow(m.From), m.Type)
		if m.Encrypted && m.Type != "ApplicationData" && !strings.HasPrefix(m.Type, "Encrypted") {
			line += " (encrypted)"
		}
		if m.Note != "" {
			line += " " + Safe(m.Note)
		}
		if m.Length > 0 {
			line += fmt.Sprintf(" [%d bytes]", m.Length)
		}
		steps = append(steps, step{time.Duration(m.TMS * float64(time.Millisecond)), m.Frame, line})
	}
	slices.SortStableFunc(steps, func(a, b step) int { return ladderOrder(a.t, b.t, a.frame, b.frame) })
	out := make([]string, 0, len(steps)+1)
	w := 0
	for _, s := range steps {
		w = max(w, len(frameLabel(s.frame)))
	}
	for _, s := range steps {
		out = append(out, fmt.Sprintf("%s%+10.1f ms  %s", padFrame(frameLabel(s.frame), w), float64(s.t.Microseconds())/1000, s.line))
	}
	if r.HS.MessagesDropped > 0 {
		out = append(out, fmt.Sprintf("(%d more records not listed)", r.HS.MessagesDropped))
	}
	return out
}

// ID is the connection's stream: what names it, links to it and filters
// it in Wireshark.
func (c *Connection) ID() flows.StreamID { return flows.NewStreamID(c.transport, c.Stream) }

func writeDetail(w io.Writer, c *Connection, indent string) {
	fmt.Fprintf(w, "%s── %s: %s → %s: %s\n", indent, c.ID().Name(), c.Client, c.Server, Safe(c.Verdict))
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
		kv("SRTP offered", strings.Join(ch.SRTPProfiles, ", "))
	}
	if sh := c.ServerHello; sh != nil {
		kv("version chosen", c.Version)
		kv("suite chosen", sh.CipherSuite)
		kv("ALPN chosen", Safe(sh.ALPN))
		kv("key share chosen", sh.KeyShareGroup)
		kv("server extensions", strings.Join(sh.Extensions, ", "))
		kv("JA3S", sh.JA3S)
		kv("SRTP chosen", sh.SRTPProfile)
	}
	for i, cert := range c.Certificates {
		kv(fmt.Sprintf("certificate %d", i), certLine(cert))
	}
	for i, cert := range c.ClientCertificates {
		kv(fmt.Sprintf("client certificate %d", i), certLine(cert))
	}
	if d := c.DTLS; d != nil {
		kv("DTLS datagrams", fmt.Sprintf("client %d, server %d (largest %d and %d bytes)", d.Datagrams[0], d.Datagrams[1], d.Largest[0], d.Largest[1]))
	}
	if c.SessionTicket != nil {
		kv("session ticket", fmt.Sprintf("lifetime %d s, %d bytes", c.SessionTicket.LifetimeS, c.SessionTicket.TicketLength))
	}
	for _, f := range c.Findings {
		kv(string(f.Severity), f.Code+": "+withFrames(SafeText(f.Message), f.Frames))
	}
	if d := c.Decryption; d != nil && d.Status != "no_keys" || d != nil && !strings.HasPrefix(d.Reason, "no key log given") {
		kv("decryption", d.Status+": "+d.Reason)
	}
	kv("Wireshark filter", c.ID().DisplayFilter())
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
