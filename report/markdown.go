package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/tlsscope/tlsscope/flows"
)

// WriteMarkdown writes a document to paste into an issue tracker.
func WriteMarkdown(w io.Writer, conns []*Connection, opts Options) error {
	mw := newMarkdownWriter(w, opts).(*markdownWriter)
	for _, c := range conns {
		mw.d.add(c)
	}
	return mw.Close()
}

// markdownWriter holds a summary of each connection (with the ladder of
// those that did not go well; all of it with Detail) and writes the
// document at Close.
type markdownWriter struct {
	w    io.Writer
	opts Options
	d    *digest
}

func newMarkdownWriter(w io.Writer, opts Options) Writer {
	return &markdownWriter{w: w, opts: opts, d: newDigest(opts.RowLimit)}
}

func (mw *markdownWriter) Write(c *Connection) error {
	mw.d.add(held(c, !flows.Outcome(c.Outcome).Good(), mw.opts))
	return nil
}

// Close writes the document: summary, table, and the ladder and findings
// of every connection that did not go well.
func (mw *markdownWriter) Close() error {
	w, opts, d := &stickyWriter{w: mw.w}, mw.opts, mw.d
	conns := d.shown()
	fmt.Fprintln(w, "## tlsscope report")
	fmt.Fprintln(w)
	if len(opts.Inputs) > 0 {
		fmt.Fprintf(w, "Input: %s\n\n", markdownCell(Safe(strings.Join(opts.Inputs, ", "))))
	}
	fmt.Fprintf(w, "**%s**\n\n", d.line())
	if more := d.more(); more != "" {
		fmt.Fprintf(w, "%s\n\n", more)
	}
	for _, n := range notes(opts) {
		fmt.Fprintf(w, "%s\n\n", markdownCell(SafeText(n)))
	}
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
	if d.summary || d.tcpOnly.n > tcpOnlyRows {
		var b strings.Builder
		d.groupedFindings(&b, "- ", false)
		for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
			fmt.Fprintln(w, markdownCell(strings.TrimLeft(l, " ")))
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
	return w.err
}
