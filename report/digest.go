package report

import (
	"cmp"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/tlsscope/tlsscope/flows"
)

// DefaultRowLimit is how many connections the table and Markdown list one
// by one; beyond it they keep counts, findings grouped by code, the worst
// connections up to the limit, and the TCP-only attempts aggregated, so
// that what they hold does not grow with the capture.
const DefaultRowLimit = 50

// tcpOnlyRows is how many TCP-only rows (a SYN unanswered, a connection
// refused) are listed before they are aggregated: a SYN flood or a port
// scan is one finding, not a million rows.
const tcpOnlyRows = 20

// digest is what the table and Markdown writers keep.
type digest struct {
	limit    int
	total    int
	counts   map[string]int
	rows     []*Connection // every row while total <= limit; after, the worst
	summary  bool          // over the limit: rows are the worst only
	findings map[string]*findingGroup
	tcpOnly  tcpOnlyAggregate
	byServer map[serverKey]*serverStats // see summary.go
	times    sample                     // every complete handshake's time
	read     func() int                 // connections read before the filters (Options.Total)
}

// findingGroup is one finding code over many connections.
type findingGroup struct {
	severity Severity
	code     string
	n        int
	message  string           // the first connection's
	streams  []flows.StreamID // the first few
}

// tcpOnlyAggregate counts TCP-only attempts beyond tcpOnlyRows.
type tcpOnlyAggregate struct {
	n        int
	verdicts map[string]int
	ports    topCounter
	sources  topCounter
}

func newDigest(limit int) *digest {
	if limit <= 0 {
		limit = DefaultRowLimit
	}
	return &digest{limit: limit, counts: map[string]int{}, findings: map[string]*findingGroup{}, byServer: map[serverKey]*serverStats{},
		tcpOnly: tcpOnlyAggregate{verdicts: map[string]int{}, ports: newTopCounter(16), sources: newTopCounter(16)}}
}

// add takes one connection (already summarized by the writer).
func (d *digest) add(c *Connection) {
	d.total++
	d.counts[c.Outcome]++
	d.count(c)
	for _, f := range c.Findings {
		g := d.findings[f.Code]
		if g == nil {
			g = &findingGroup{severity: f.Severity, code: f.Code, message: f.Message}
			d.findings[f.Code] = g
		}
		g.n++
		if len(g.streams) < 5 {
			g.streams = append(g.streams, c.ID())
		}
	}
	if c.tcpOnly {
		if d.tcpOnly.n++; d.tcpOnly.n > tcpOnlyRows {
			d.tcpOnly.verdicts[tcpOnlyKind(c)]++
			if ap, err := netip.ParseAddrPort(c.Server); err == nil {
				d.tcpOnly.ports.add(strconv.Itoa(int(ap.Port())))
			}
			if ap, err := netip.ParseAddrPort(c.Client); err == nil {
				d.tcpOnly.sources.add(ap.Addr().String())
			}
			return
		}
	}
	d.rows = append(d.rows, c)
	if len(d.rows) > d.limit {
		d.summary = true
	}
	if d.summary && len(d.rows) >= 2*d.limit {
		d.keepWorst()
	}
}

// keepWorst keeps the limit worst rows; among equals, the outcomes in
// turn (a failure of each kind rather than 50 of one), each the earliest
// first.
func (d *digest) keepWorst() {
	turn := make(map[*Connection]int, len(d.rows))
	seen := map[[2]any]int{}
	for _, c := range d.rows {
		k := [2]any{rank(c), c.Outcome}
		turn[c] = seen[k]
		seen[k]++
	}
	slices.SortStableFunc(d.rows, func(a, b *Connection) int {
		return cmp.Or(cmp.Compare(rank(b), rank(a)), cmp.Compare(turn[a], turn[b]))
	})
	clear(d.rows[d.limit:])
	d.rows = d.rows[:d.limit]
}

// rank orders connections from the worst: broken, then unsure, then by
// their worst finding.
func rank(c *Connection) int {
	worst := 0
	for _, f := range c.Findings {
		worst = max(worst, severityRank[f.Severity])
	}
	return toneRank[flows.Outcome(c.Outcome).Tone()] + worst
}

// The ranks of outcomes' colour classes and of findings' severities, built
// once: rank runs in every sort of the kept rows.
var (
	toneRank     = map[flows.Tone]int{flows.ToneBad: 30, flows.ToneUnsure: 20, flows.ToneGood: 10}
	severityRank = map[Severity]int{SevError: 3, SevWarning: 2, SevInfo: 1}
)

// shown is the rows to print, in stream order.
func (d *digest) shown() []*Connection {
	if d.summary {
		d.keepWorst()
	}
	byStream(d.rows)
	return d.rows
}

// line is the totals: "787 TLS connections: …", or "787 of 20000 TLS
// connections: …" when filters kept 787 of the 20000 read.
func (d *digest) line() string {
	var parts []string
	for _, o := range flows.Outcomes {
		if n := d.counts[string(o)]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, o))
		}
	}
	of := ""
	if d.read != nil {
		if n := d.read(); n > d.total {
			of = " of " + strconv.Itoa(n)
		}
	}
	if len(parts) == 0 {
		return "0" + of + " TLS connections"
	}
	noun := "connections"
	if d.total == 1 && of == "" {
		noun = "connection"
	}
	return fmt.Sprintf("%d%s TLS %s: %s", d.total, of, noun, strings.Join(parts, ", "))
}

// more says what the rows listed left out.
func (d *digest) more() string {
	return d.moreThan(len(d.rows))
}

func (d *digest) moreThan(listed int) string {
	if d.total == listed {
		return ""
	}
	return fmt.Sprintf("%d of %d connections listed (the worst first chosen); %d more: --format json lists every one", listed, d.total, d.total-listed)
}

// groupedFindings writes findings grouped by code, severities in order.
func (d *digest) groupedFindings(w io.Writer, bullet string, color bool) {
	for _, sev := range severities {
		gs := d.groups(sev)
		if len(gs) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s (by code):\n", severityTitle(sev, color))
		for _, g := range gs {
			fmt.Fprintf(w, "  %s%s\n", bullet, g.line())
		}
	}
	if a := d.tcpOnly; a.n > tcpOnlyRows {
		var vs []string
		for v, n := range a.verdicts {
			vs = append(vs, fmt.Sprintf("%d %s", n, v))
		}
		slices.Sort(vs)
		fmt.Fprintf(w, "\nTCP connection attempts that never reached TLS: %d (%d listed, %s more: %s); server ports: %s; top sources: %s\n",
			a.n, tcpOnlyRows, strconv.Itoa(a.n-tcpOnlyRows), strings.Join(vs, ", "), a.ports.String(), a.sources.String())
	}
}

// tcpOnlyKind names a TCP-only attempt.
func tcpOnlyKind(c *Connection) string {
	switch {
	case c.Outcome == string(flows.Reset):
		return "refused"
	case c.Stall != nil && c.Stall.Next == "SYN-ACK":
		return "unanswered"
	}
	return c.Outcome
}

// topCounter keeps the most frequent keys of a stream in bounded memory
// (the space-saving algorithm of Metwally et al.): counts of the top keys
// are over-estimated by at most the smallest count kept.
type topCounter struct {
	k      int
	counts map[string]int
}

func newTopCounter(k int) topCounter { return topCounter{k: k, counts: map[string]int{}} }

func (t *topCounter) add(key string) {
	if _, ok := t.counts[key]; ok || len(t.counts) < t.k {
		t.counts[key]++
		return
	}
	minKey, minN := "", 0
	for k, n := range t.counts {
		if minKey == "" || n < minN || n == minN && k < minKey {
			minKey, minN = k, n
		}
	}
	delete(t.counts, minKey)
	t.counts[key] = minN + 1
}

// top is the most frequent key, or "".
func (t *topCounter) top() string {
	k, n := "", 0
	for key, m := range t.counts {
		if m > n || m == n && key < k {
			k, n = key, m
		}
	}
	return k
}

func (t *topCounter) String() string {
	type kv struct {
		k string
		n int
	}
	var kvs []kv
	for k, n := range t.counts {
		kvs = append(kvs, kv{k, n})
	}
	slices.SortFunc(kvs, func(a, b kv) int { return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.k, b.k)) })
	var out []string
	for _, x := range kvs[:min(5, len(kvs))] {
		out = append(out, fmt.Sprintf("%s (%d)", Safe(x.k), x.n))
	}
	return strings.Join(out, ", ")
}
