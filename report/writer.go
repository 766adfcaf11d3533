package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/tlsscope/tlsscope/flows"
)

// Writer writes connections in one output format, as they end.
type Writer interface {
	// Write takes one connection. JSON Lines and CSV write it at once;
	// the table and Markdown keep what they print of it for Close.
	Write(*Connection) error
	// Close writes what the format prints at the end (the table's rows,
	// findings and summary; the Markdown document; CSV's buffered lines).
	// It does not close the io.Writer underneath.
	Close() error
}

// Options shape the formats.
type Options struct {
	Color  bool // ANSI colour (terminals only)
	Detail bool // a ladder and all fields per connection
	// Inputs names what was read, for the report's heading.
	Inputs []string
	// Live: results come from a live capture and are shown as they come:
	// the table writes a line per verdict (Line) before its rows at the
	// end, CSV writes each line through.
	Live bool
	// RowLimit: the table and Markdown list at most this many connections
	// one by one (0: DefaultRowLimit), then summarise.
	RowLimit int
	// Notes, when set, says at Close what to add after the summary line:
	// what the limits of the run changed.
	Notes func() []string
	// Version (tlsscope's) and StallTimeout, for the Markdown header: the
	// verdicts depend on them.
	Version      string
	StallTimeout time.Duration
	// TrustStore names the store chains were judged against
	// (decoder.TrustStore.String), for the summary; "" when not judged.
	TrustStore string
	// Span, when set, says at Close the capture's first and last packet
	// (without it, Markdown says the span of the connections).
	Span func() (first, last time.Time)
	// Attachment, when set, says at Close what --write-failed wrote.
	Attachment func() Attachment
	// Width is the terminal's width in columns, which the table fits
	// (0: not known, DefaultWidth; negative: no limit). Wide shows every
	// column whole whatever the width.
	Width int
	Wide  bool
	// Drops, when set, says at Close what the capturing side dropped:
	// the table's summary, the Markdown and HTML headers and a JSON Lines
	// record of its own say it.
	Drops func() Drops
	// Total, when set, says at Close how many connections were read
	// before the filters (--only, --sni, ...): the summary says "787 of
	// 20000".
	Total func() int
}

// formats is the registry of output formats, in the order of Formats.
var formats = []struct {
	name string
	new  func(io.Writer, Options) Writer
}{
	{"table", newTableWriter},
	{"json", func(w io.Writer, o Options) Writer { jw := NewJSONWriter(w); jw.drops = o.Drops; return jw }},
	{"ecs", newECSWriter},
	{"markdown", newMarkdownWriter},
	{"html", newHTMLWriter},
	{"csv", func(w io.Writer, o Options) Writer { cw := NewCSVWriter(w); cw.live = o.Live; return cw }},
}

// Formats names the output formats; the first is the default.
var Formats = func() []string {
	var names []string
	for _, f := range formats {
		names = append(names, f.name)
	}
	return names
}()

// FormatList is Formats in words: "table, json, markdown or csv".
func FormatList() string {
	return strings.Join(Formats[:len(Formats)-1], ", ") + " or " + Formats[len(Formats)-1]
}

// NewWriter starts output in the named format.
func NewWriter(name string, w io.Writer, opts Options) (Writer, error) {
	for _, f := range formats {
		if f.name == name {
			return f.new(w, opts), nil
		}
	}
	return nil, fmt.Errorf("unknown format %q (%s)", name, FormatList())
}

// held is what a format that prints at the end keeps of a connection:
// its summary (with the ladder when keepLadder), or all of it with Detail.
func held(c *Connection, keepLadder bool, opts Options) *Connection {
	if !opts.Detail {
		c.Summarize(keepLadder)
	}
	return c
}

// provisional reports whether c is a live verdict that a final record of
// the same stream will follow: a stall said while the connection is open.
func provisional(c *Connection) bool {
	return c.Open && flows.Outcome(c.Outcome) == flows.Stalled
}

// stickyWriter keeps the first error of a run of writes whose errors are
// not checked one by one.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	s.err = err
	return n, err
}

// Attachment is what --write-failed wrote: the packets of the
// connections that did not complete.
type Attachment struct {
	Name string
	// Conns are the connections written; Unkept those that did not
	// complete whose packets were not kept (over the caps on kept
	// packets), so not written.
	Conns, Unkept int
}

// NotWritten says why no file was written (Conns is 0), naming it as
// name (Markdown puts it in code).
func (a Attachment) NotWritten(name string) string {
	switch a.Unkept {
	case 0:
		return "every handshake seen completed: " + name + " not written"
	case 1:
		return "1 connection did not complete, but none of its packets were kept: " + name + " not written"
	}
	return fmt.Sprintf("%s connections did not complete, but none of their packets were kept: %s not written", thousands(a.Unkept), name)
}

// byStream orders the connections a report holds to the end by stream
// number: they come as connections end.
func byStream(conns []*Connection) {
	slices.SortStableFunc(conns, func(a, b *Connection) int { return a.ID().Compare(b.ID()) })
}

// notes are what the summary says after its counts: the run's notes,
// then the trust store the chains were judged against.
func notes(opts Options) []string {
	var out []string
	if opts.Notes != nil {
		out = opts.Notes()
	}
	if opts.TrustStore != "" {
		out = append(out, "certificate chains judged against the trust store "+opts.TrustStore+" at each handshake's time")
	}
	return out
}
