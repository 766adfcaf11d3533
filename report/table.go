package report

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// WriteTable writes the terminal report: table, findings by severity,
// summary line; with Detail, a ladder per connection.
func WriteTable(w io.Writer, conns []*Connection, opts Options) error {
	tb := newTableWriter(w, opts).(*tableWriter)
	for _, c := range conns {
		tb.d.add(c)
	}
	return tb.Close()
}

// tableWriter holds a summary of each connection (all of it with Detail)
// and writes the table at Close. Live, it also writes each verdict as a
// line as it comes (Line).
type tableWriter struct {
	w    io.Writer
	opts Options
	d    *digest
}

func newTableWriter(w io.Writer, opts Options) Writer {
	return &tableWriter{w: w, opts: opts, d: newDigestFor(opts)}
}

func (tb *tableWriter) Write(c *Connection) error {
	if tb.opts.Live {
		if _, err := fmt.Fprintln(tb.w, Line(c, tb.opts.Color)); err != nil {
			return err
		}
		if provisional(c) {
			return nil // a row comes with its final record
		}
	}
	tb.d.add(held(c, false, tb.opts))
	return nil
}

// Close writes the table, the findings and the totals; over the row
// limit, the summary by server and SNI, the findings grouped, and the
// connections that did not go well.
func (tb *tableWriter) Close() error {
	w, opts, d := &stickyWriter{w: tb.w}, tb.opts, tb.d
	conns := d.shown()
	if d.summary {
		if err := tb.writeServers(w); err != nil {
			return err
		}
		conns = d.failing()
		if len(conns) > 0 {
			fmt.Fprintf(w, "\nConnections that did not go well (the worst %d):\n", len(conns))
		}
	}
	if err := tb.writeRows(w, conns); err != nil {
		return err
	}
	var f strings.Builder
	if d.summary || d.tcpOnly.n > tcpOnlyRows {
		d.groupedFindings(&f, "", opts.Color)
	} else {
		writeFindings(&f, conns, "", opts.Color)
	}
	tb.writeProse(w, f.String())
	if opts.Detail {
		for _, c := range conns {
			fmt.Fprintln(w)
			writeDetail(w, c, "")
		}
	}
	end := "\n" + d.line() + "\n"
	if more := d.moreThan(len(conns)); more != "" {
		end += more + "\n"
	}
	if d, ok := drops(opts); ok {
		end += d.Line() + "\n"
	}
	for _, n := range notes(opts) {
		end += SafeText(n) + "\n"
	}
	tb.writeProse(w, end)
	return w.err
}

// writeProse writes lines of text, each too long for the width broken at
// spaces, its continuation indented under the text: a terminal would
// break it mid-word.
func (tb *tableWriter) writeProse(w io.Writer, text string) {
	width := tb.width()
	for _, line := range strings.SplitAfter(text, "\n") {
		body := strings.TrimSuffix(line, "\n")
		if width <= 0 || displayWidth(body) <= width {
			io.WriteString(w, line)
			continue
		}
		indent := len(body) - len(strings.TrimLeft(body, " ")) + 4
		pad := strings.Repeat(" ", indent)
		for i, l := range wrapWords(body, width-indent) {
			if i == 0 {
				l = body[:indent-4] + l
			} else {
				l = pad + l
			}
			fmt.Fprintln(w, l)
		}
	}
}

// width is the table's width limit: <= 0 none.
func (tb *tableWriter) width() int {
	switch {
	case tb.opts.Wide:
		return -1
	case tb.opts.Width == 0:
		return DefaultWidth
	}
	return tb.opts.Width
}

// writeRows writes the connections' table, fitted to the width, each row
// coloured by its worst (rowTone).
func (tb *tableWriter) writeRows(w io.Writer, conns []*Connection) error {
	if len(conns) == 0 {
		return nil
	}
	rows := make([][]string, len(conns))
	for i, c := range conns {
		rows[i] = row(c)
	}
	l := fitColumns(rows, tb.width())
	t := newTable(w)
	t.Header(toAny(l.header())...)
	for i, c := range conns {
		cells := l.cells(rows[i])
		if tb.opts.Color {
			color := rowColor(c)
			for j := range cells {
				cells[j] = color + cells[j] + ansiReset
			}
		}
		if err := t.Append(cells); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	if cut := l.cut(); len(l.dropped) > 0 || cut {
		var what []string
		if len(l.dropped) > 0 {
			what = append(what, strings.Join(l.dropped, ", ")+" left out")
		}
		if cut {
			what = append(what, "long cells cut (…)")
		}
		note := fmt.Sprintf("Fitted to %d columns: %s; --wide shows every column whole.", tb.width(), strings.Join(what, "; "))
		for _, line := range wrapWords(note, max(tb.width(), 40)) {
			fmt.Fprintln(w, line)
		}
	}
	return nil
}

// writeServers writes the outcomes by server and SNI and the handshake
// times, for the summary.
func (tb *tableWriter) writeServers(w io.Writer) error {
	const shownPairs = 20
	rows, pairs := tb.d.servers(shownPairs)
	if len(rows) == 0 {
		return nil
	}
	fmt.Fprintln(w, "Outcomes by server and SNI:")
	cells := make([][]string, len(rows))
	for i, r := range rows {
		failed := strconv.Itoa(r.Failed)
		if r.Failed > 0 && r.TopAlert != "" {
			failed += " (" + r.TopAlert + ")"
		}
		cells[i] = []string{r.Server, r.SNI, strconv.Itoa(r.Connections), strconv.Itoa(r.Complete), failed,
			strconv.Itoa(r.Stalled), strconv.Itoa(r.Other), r.Times.String()}
	}
	header := []string{"Server", "SNI", "Total", "Complete", "Failed", "Stalled", "Other", "p50 / p95"}
	header, cells = dropBlank(header, cells, 3) // a column of zeros says nothing the totals do not
	// The names are cut, the SNI first; the counts never.
	widths := fitPlain(header, cells, tb.width(), []int{1, slices.Index(header, "Failed"), 0})
	t := newTable(w)
	t.Header(toAny(clipRow(header, widths))...)
	for _, c := range cells {
		if err := t.Append(clipRow(c, widths)); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	var notes strings.Builder
	if pairs > len(rows) {
		fmt.Fprintf(&notes, "%d more server and SNI pairs: --format json lists every connection\n", pairs-len(rows))
	}
	if p := tb.d.handshakeTimes(); p.N > 0 {
		fmt.Fprintf(&notes, "Handshake time (ClientHello to the last Finished) of the %d complete: p50 %s, p95 %s\n", p.N, msWords(p.P50), msWords(p.P95))
	}
	tb.writeProse(w, notes.String())
	return nil
}

// dropBlank leaves out the columns from the first'th on whose every cell
// is "0" or "".
func dropBlank(header []string, rows [][]string, first int) ([]string, [][]string) {
	keep := make([]bool, len(header))
	for i := range header {
		keep[i] = i < first
		for _, r := range rows {
			keep[i] = keep[i] || r[i] != "0" && r[i] != ""
		}
	}
	pick := func(cells []string) []string {
		var out []string
		for i, c := range cells {
			if keep[i] {
				out = append(out, c)
			}
		}
		return out
	}
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = pick(r)
	}
	return pick(header), out
}

func newTable(w io.Writer) *tablewriter.Table {
	return tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewBlueprint()),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoFormat(tw.Off),
	)
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// Line is one connection on one line, for live output: the table's
// cells that are set, and the verdict.
func Line(c *Connection, color bool) string {
	cells := row(c)
	verdict := cells[8]
	if color {
		verdict = rowColor(c) + verdict + ansiReset
	}
	parts := []string{c.ID().Name(), cells[1] + " → " + cells[2]}
	for _, x := range cells[3:8] {
		if x != "" {
			parts = append(parts, x)
		}
	}
	prefix := liveTime(c)
	if c.Update {
		prefix += "update: "
	}
	return prefix + strings.Join(parts, "  ") + "  " + verdict
}
