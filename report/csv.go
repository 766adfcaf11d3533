package report

import (
	"encoding/csv"
	"io"
	"strings"
)

// CSVWriter writes one line per connection: the table's columns and the
// outcome, after a header line.
type CSVWriter struct {
	w      *csv.Writer
	header bool
	live   bool // each line written through at once
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
	if err := cw.w.Write(append(cells, c.Outcome)); err != nil || !cw.live {
		return err
	}
	cw.w.Flush()
	return cw.w.Error()
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

// Close writes what is buffered, as Flush.
func (cw *CSVWriter) Close() error { return cw.Flush() }

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
