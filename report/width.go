package report

import (
	"strings"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
)

// Fitting the table to the terminal. Widths are display columns as the
// table writer counts them (twwidth: ANSI escapes excluded, East Asian
// wide runes counted 2), so that what is measured here is what it draws.

// DefaultWidth is the width a table is fitted to when the terminal's is
// not known (Options.Width 0).
const DefaultWidth = 120

// displayWidth is the columns s takes on a terminal.
func displayWidth(s string) int { return twwidth.Width(s) }

// clipWidth cuts s to at most n display columns, ending in "…" when cut.
func clipWidth(s string, n int) string {
	if displayWidth(s) <= n {
		return s
	}
	if n <= 1 {
		return "…"
	}
	out := twwidth.Truncate(s, n, "…")
	for displayWidth(out) > n && out != "" { // never trust a cut by one
		r := []rune(strings.TrimSuffix(out, "…"))
		out = string(r[:len(r)-1]) + "…"
	}
	return out
}

// column is one column of the table: its cell in row and how it gives
// way on a narrow terminal.
type column struct {
	name string
	cell int // index in row's cells
	// min is the narrowest the column is cut to before columns are left
	// out; 0: never cut.
	min int
	// comfy is the width below which the column is better left out than
	// cut further while a column can still go (0: min).
	comfy int
	// shrink orders which columns are cut first (lower first; those of
	// one order evenly); drop, which is left out first while the
	// comfortable widths do not fit (0: never).
	shrink, drop int
}

// tableColumns is the table's columns in order: the verdict right after
// the stream, the long names (SNI, certificate, suite) cut first; the
// ALPN, the client and the suite left out first, the certificate (its
// expiry) last.
var tableColumns = []column{
	{name: "Stream", cell: 0},
	{name: "Verdict", cell: 8, min: 30, comfy: 40, shrink: 5},
	{name: "Client", cell: 1, min: 21, shrink: 3, drop: 2}, // 255.255.255.255:65535
	{name: "Server", cell: 2, min: 21, shrink: 4},
	{name: "SNI", cell: 3, min: 12, shrink: 1},
	{name: "Version", cell: 4, drop: 4},
	{name: "Cipher suite", cell: 5, min: 16, shrink: 1, drop: 3},
	{name: "ALPN", cell: 6, min: 8, shrink: 2, drop: 1},
	{name: "Certificate", cell: 7, min: 22, shrink: 1, drop: 5},
}

// frame is the columns a table of n columns spends on borders and
// padding: "│ " before each cell, " " after it, and the last "│".
func frame(n int) int { return 3*n + 1 }

// layout is the columns shown and the width of each.
type layout struct {
	cols    []column
	widths  []int
	dropped []string // the names of the columns left out
	anyCut  bool     // a column is narrower than its widest cell
}

// fitColumns chooses the columns and their widths for rows of cells so
// that the table is at most width columns wide (width <= 0: unlimited).
// Columns are first left out, in their drop order, while their
// comfortable widths do not fit; then cut, in their shrink order, each to
// its narrowest before the next.
func fitColumns(rows [][]string, width int) layout {
	natural := make([]int, len(tableColumns))
	empty := make([]bool, len(tableColumns)) // no row has a value
	for i, c := range tableColumns {
		natural[i], empty[i] = displayWidth(c.name), true
		for _, r := range rows {
			natural[i] = max(natural[i], displayWidth(r[c.cell]))
			empty[i] = empty[i] && r[c.cell] == ""
		}
	}
	narrowest := func(i int) int {
		if m := tableColumns[i].min; m > 0 {
			return min(natural[i], m)
		}
		return natural[i]
	}
	comfortable := func(i int) int {
		if m := tableColumns[i].comfy; m > 0 {
			return min(natural[i], m)
		}
		return narrowest(i)
	}
	// On a width, a column with nothing in it goes first, unsaid.
	shown := make([]bool, len(tableColumns))
	for i, c := range tableColumns {
		shown[i] = width <= 0 || !empty[i] || c.drop == 0 && c.shrink == 0
	}
	sum := func(w func(int) int) (total, n int) {
		for i := range tableColumns {
			if shown[i] {
				total += w(i)
				n++
			}
		}
		return total + frame(n), n
	}
	if width > 0 {
		for drop := 1; ; drop++ {
			if total, _ := sum(comfortable); total <= width {
				break
			}
			found := false
			for i, c := range tableColumns {
				if c.drop == drop {
					shown[i], found = false, true
				}
			}
			if !found {
				break // every column that can go is gone
			}
		}
	}
	widths := append([]int(nil), natural...)
	if width > 0 {
		total, _ := sum(func(i int) int { return widths[i] })
		// Cut in shrink order, the columns of one order evenly (the one
		// with the most to spare first), each to its narrowest; then, on
		// a terminal too narrow even for those, the verdict to 8.
		for pass := 0; pass < 2 && total > width; pass++ {
			for order := 1; order <= 5 && total > width; order++ {
				for total > width {
					best, spare := -1, 0
					for i, c := range tableColumns {
						floor := narrowest(i)
						if pass == 1 {
							floor = min(widths[i], 8)
						}
						if shown[i] && c.shrink == order && widths[i]-floor > spare {
							best, spare = i, widths[i]-floor
						}
					}
					if best < 0 {
						break
					}
					widths[best]--
					total--
				}
			}
		}
	}
	var l layout
	for i, c := range tableColumns {
		if shown[i] {
			l.cols = append(l.cols, c)
			l.widths = append(l.widths, widths[i])
			l.anyCut = l.anyCut || widths[i] < natural[i]
		} else if !empty[i] {
			l.dropped = append(l.dropped, c.name)
		}
	}
	return l
}

// cells is one row's cells in the layout's columns, cut to their widths.
func (l layout) cells(row []string) []string {
	out := make([]string, len(l.cols))
	for i, c := range l.cols {
		if c.cell == 7 {
			out[i] = clipName(row[c.cell], l.widths[i])
		} else {
			out[i] = clipWidth(row[c.cell], l.widths[i])
		}
	}
	return out
}

// clipName cuts a certificate cell, "name (exp 2025-12-31)", in its name:
// the expiry date is what the column is for.
func clipName(s string, n int) string {
	i := strings.LastIndex(s, " (exp ")
	if i < 0 || displayWidth(s) <= n {
		return clipWidth(s, n)
	}
	date := s[i:]
	if room := n - displayWidth(date); room >= 4 {
		return clipWidth(s[:i], room) + date
	}
	return clipWidth(s, n)
}

func (l layout) header() []string { return l.cells(TableHeader) }

// cut reports whether any column is narrower than its widest cell.
func (l layout) cut() bool { return l.anyCut }

// fitPlain fits a plain table to width by cutting the columns of cut,
// in that order, none to less than 8 columns or its header, then to 4;
// it returns each column's width.
func fitPlain(header []string, rows [][]string, width int, cut []int) []int {
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = displayWidth(h)
		for _, r := range rows {
			widths[i] = max(widths[i], displayWidth(r[i]))
		}
	}
	if width <= 0 {
		return widths
	}
	total := frame(len(widths))
	for _, w := range widths {
		total += w
	}
	// To 8 columns or the header first; then, still too wide, to 4.
	for _, least := range []int{8, 4} {
		for _, i := range cut {
			if total <= width || i < 0 {
				continue
			}
			floor := min(widths[i], max(least, displayWidth(header[i])))
			if least == 4 {
				floor = min(widths[i], least)
			}
			n := min(total-width, widths[i]-floor)
			widths[i] -= n
			total -= n
		}
	}
	return widths
}

// wrapWords breaks prose into lines of at most width columns, at spaces.
func wrapWords(s string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		switch {
		case line == "":
			line = word
		case displayWidth(line)+1+displayWidth(word) <= width:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

func clipRow(cells []string, widths []int) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = clipWidth(c, widths[i])
	}
	return out
}
