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
	return (&tableWriter{w: w, opts: opts, conns: conns}).Close()
}

// tableWriter holds a summary of each connection (all of it with Detail)
// and writes the table at Close. Live, it also writes each verdict as a
// line as it comes (Line).
type tableWriter struct {
	w     io.Writer
	opts  Options
	conns []*Connection
}

func newTableWriter(w io.Writer, opts Options) Writer { return &tableWriter{w: w, opts: opts} }

func (tb *tableWriter) Write(c *Connection) error {
	if tb.opts.Live {
		if _, err := fmt.Fprintln(tb.w, Line(c, tb.opts.Color)); err != nil {
			return err
		}
		if provisional(c) {
			return nil // a row comes with its final record
		}
	}
	tb.conns = append(tb.conns, held(c, false, tb.opts))
	return nil
}

// Close writes the table, the findings and the summary.
func (tb *tableWriter) Close() error {
	w, conns, opts := &stickyWriter{w: tb.w}, tb.conns, tb.opts
	byStream(conns)
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
	prefix := ""
	if c.Update {
		prefix = "update: "
	}
	return prefix + strings.Join(parts, "  ") + "  " + verdict
}
