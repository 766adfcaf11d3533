package report

import (
	"fmt"
	"io"
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
	return &tableWriter{w: w, opts: opts, d: newDigest(opts.RowLimit)}
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

// Close writes the table, the findings and the summary.
func (tb *tableWriter) Close() error {
	w, opts, d := &stickyWriter{w: tb.w}, tb.opts, tb.d
	conns := d.shown()
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
	grouped := d.summary || d.tcpOnly.n > tcpOnlyRows
	if grouped {
		d.groupedFindings(w, "", opts.Color)
	} else {
		writeFindings(w, conns, "", opts.Color)
	}
	if opts.Detail {
		for _, c := range conns {
			fmt.Fprintln(w)
			writeDetail(w, c, "")
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, d.line())
	if more := d.more(); more != "" {
		fmt.Fprintln(w, more)
	}
	for _, n := range notes(opts) {
		fmt.Fprintln(w, SafeText(n))
	}
	return w.err
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
		verdict = colorFor(c.Outcome) + verdict + ansiReset
	}
	parts := []string{"stream " + cells[0], cells[1] + " → " + cells[2]}
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
