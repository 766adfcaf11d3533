package report

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/tlsscope/tlsscope/flows"
)

// The summary model the table, Markdown and HTML writers share: what a
// digest knows of every connection it was given, in bounded memory. Each
// writer prints it its own way; these are the calls:
//
//	newDigestFor(opts)   a digest with the row limit and the total read
//	d.add(c)             one connection (summarized or not)
//	d.line()             "787 of 20000 TLS connections: 700 complete, …"
//	d.more()             what the listed rows left out, or ""
//	d.shown()            the rows to list, in stream order
//	d.failing()          of those, the ones that did not go well
//	d.servers(n)         outcomes by server and SNI, the busiest n first
//	d.handshakeTimes()   p50 and p95 of every complete handshake
//	d.groups(sev)        findings of one severity grouped by code
//	d.groupedFindings()  those groups as text (table and Markdown)
//
// A summary replaces the rows one by one when the connections are more
// than the row limit (d.summary).

// maxServers bounds the server and SNI pairs counted one by one; the
// pairs beyond it are counted together as "other".
const maxServers = 1000

// timeSample bounds the handshake times kept per pair: percentiles are
// exact up to this many handshakes and estimated from a uniform sample
// beyond.
const timeSample = 128

// groupAfter: a finding code on more connections than this is listed
// once, with a count and example streams, even under the row limit.
const groupAfter = 3

// serverKey is a server (address and port) and the SNI asked of it.
type serverKey struct{ server, sni string }

// serverRow is the outcomes of the connections to one server and SNI.
type serverRow struct {
	Server, SNI string // made safe; "other" for the pairs beyond maxServers
	Connections int
	Complete    int // complete or resumed
	Failed      int
	TopAlert    string // the most frequent alert of the failed: "server handshake_failure"
	Stalled     int
	Other       int // reset, closed, incomplete, not observed
	Times       percentiles
}

// percentiles of handshake times, in milliseconds; N is how many.
type percentiles struct {
	N        int
	P50, P95 float64
}

func (p percentiles) String() string {
	if p.N == 0 {
		return ""
	}
	return msWords(p.P50) + " / " + msWords(p.P95)
}

func msWords(v float64) string {
	if v >= 1000 {
		return strconv.FormatFloat(v/1000, 'f', 1, 64) + " s"
	}
	if v >= 10 {
		return strconv.FormatFloat(v, 'f', 0, 64) + " ms"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
}

// serverStats is a serverRow being counted.
type serverStats struct {
	row    serverRow
	alerts topCounter
	times  sample
}

// sample is a uniform sample of at most timeSample values (reservoir
// sampling, Vitter's algorithm R), seeded for reproducible reports.
type sample struct {
	n    int
	vals []float64
	rng  *rand.Rand
}

func (s *sample) add(v float64) {
	s.n++
	if len(s.vals) < timeSample {
		s.vals = append(s.vals, v)
		return
	}
	if s.rng == nil {
		s.rng = rand.New(rand.NewPCG(1, 2))
	}
	if i := s.rng.IntN(s.n); i < timeSample {
		s.vals[i] = v
	}
}

// percentiles by nearest rank.
func (s *sample) percentiles() percentiles {
	if len(s.vals) == 0 {
		return percentiles{}
	}
	v := slices.Clone(s.vals)
	slices.Sort(v)
	at := func(p int) float64 { return v[max(0, (p*len(v)+99)/100-1)] }
	return percentiles{N: s.n, P50: at(50), P95: at(95)}
}

// newDigestFor is a digest for a writer's options: the row limit and the
// count of connections read before the filters.
func newDigestFor(opts Options) *digest {
	d := newDigest(opts.RowLimit)
	d.read = opts.Total
	return d
}

// count adds c to the per-server counts and the handshake times.
func (d *digest) count(c *Connection) {
	sni := ""
	if c.ClientHello != nil {
		sni = c.ClientHello.SNI
	}
	k := serverKey{c.Server, sni}
	s := d.byServer[k]
	if s == nil {
		if len(d.byServer) >= maxServers {
			k = serverKey{"other", ""}
			s = d.byServer[k]
		}
		if s == nil {
			s = &serverStats{row: serverRow{Server: Safe(k.server), SNI: Safe(k.sni)}, alerts: newTopCounter(8)}
			d.byServer[k] = s // the "other" pair may make it maxServers+1
		}
	}
	s.row.Connections++
	switch o := flows.Outcome(c.Outcome); {
	case o.Established():
		s.row.Complete++
	case o == flows.Failed:
		s.row.Failed++
		s.alerts.add(alertWords(c))
	case o == flows.Stalled:
		s.row.Stalled++
	default:
		s.row.Other++
	}
	if t := c.Timing; t != nil && t.HandshakeMS != nil {
		s.times.add(*t.HandshakeMS)
		d.times.add(*t.HandshakeMS)
	}
}

// alertWords names the alert a failed handshake ended with.
func alertWords(c *Connection) string {
	for _, a := range c.Alerts {
		if a.Level == "fatal" && !a.Reaction || a.Probable {
			switch {
			case a.Probable:
				return "probable encrypted alert from " + a.From
			case a.Encrypted:
				return "encrypted alert from " + a.From
			}
			return a.From + " " + a.Description
		}
	}
	return "no alert"
}

// servers is the outcomes by server and SNI, the pairs with the most
// connections first, at most n of them, and how many pairs there are.
func (d *digest) servers(n int) (rows []serverRow, pairs int) {
	for _, s := range d.byServer {
		r := s.row
		if top := s.alerts.top(); top != "" {
			r.TopAlert = top
		}
		r.Times = s.times.percentiles()
		rows = append(rows, r)
	}
	slices.SortFunc(rows, func(a, b serverRow) int {
		return cmp.Or(cmp.Compare(b.Connections, a.Connections), cmp.Compare(a.Server, b.Server), cmp.Compare(a.SNI, b.SNI))
	})
	return rows[:min(n, len(rows))], len(rows)
}

// handshakeTimes is the percentiles of every complete handshake's time.
func (d *digest) handshakeTimes() percentiles { return d.times.percentiles() }

// failing is the rows shown that did not go well: a verdict that is not
// good, or a warning or error finding.
func (d *digest) failing() []*Connection {
	var out []*Connection
	for _, c := range d.shown() {
		if rowTone(c) != flows.ToneGood {
			out = append(out, c)
		}
	}
	return out
}

// groups is the findings of one severity grouped by code, the most
// frequent first.
func (d *digest) groups(sev Severity) []*findingGroup {
	var gs []*findingGroup
	for _, g := range d.findings {
		if g.severity == sev {
			gs = append(gs, g)
		}
	}
	slices.SortFunc(gs, func(a, b *findingGroup) int { return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.code, b.code)) })
	return gs
}

// rowTone is how a connection's row is coloured: the worse of its
// outcome's tone and its worst finding's (an error is bad, a warning
// unsure), so that an expired certificate on a complete handshake is not
// green.
func rowTone(c *Connection) flows.Tone {
	tone := flows.Outcome(c.Outcome).Tone()
	for _, f := range c.Findings {
		switch {
		case f.Severity == SevError:
			tone = flows.ToneBad
		case f.Severity == SevWarning && tone == flows.ToneGood:
			tone = flows.ToneUnsure
		}
	}
	return tone
}

// groupLine is one grouped finding as text.
func (g *findingGroup) line() string {
	var ss []string
	for _, s := range g.streams {
		ss = append(ss, s.String())
	}
	if g.n > len(g.streams) {
		ss = append(ss, "…")
	}
	which := "streams " + strings.Join(ss, ", ")
	if len(ss) == 1 {
		which = g.streams[0].Name()
	}
	return fmt.Sprintf("%s: %d connections (%s), e.g. %s", g.code, g.n, which, SafeText(g.message))
}
