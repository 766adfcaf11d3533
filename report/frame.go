package report

import (
	"strconv"
	"strings"
)

// frameLabel is a ladder line's Wireshark frame number, "#12", or "" when
// not known.
func frameLabel(n int64) string {
	if n <= 0 {
		return ""
	}
	return "#" + strconv.FormatInt(n, 10)
}

// padFrame left-aligns a frame label in a column w wide, and a space;
// nothing when no line of the ladder has a frame number.
func padFrame(label string, w int) string {
	if w == 0 {
		return ""
	}
	return label + strings.Repeat(" ", w-len(label)+1)
}
