package report

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxField bounds any one string taken from a capture.
const maxField = 200

// Safe makes a string taken from a capture fit to print: control
// characters (ESC and the rest of C0, DEL, C1), invalid UTF-8 and the
// Unicode bidirectional overrides are shown as visible escapes, and very
// long strings are cut with a note of their length.
func Safe(s string) string { return safe(s, maxField) }

// SafeText is Safe without the length limit, for our own sentences that
// quote capture strings already made safe.
func SafeText(s string) string { return safe(s, 1<<20) }

func safe(s string, limit int) string {
	clean := true
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 || unsafeRune(r) {
			clean = false
			break
		}
		i += n
	}
	if clean && len(s) <= limit {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if b.Len() >= limit {
			fmt.Fprintf(&b, "…(%d bytes)", len(s))
			break
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafeRune(r):
			if r < 0x100 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
		return true
	}
	switch {
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f:
		return true // bidirectional controls can reorder what a terminal shows
	}
	return r == '\\' || unicode.Is(unicode.Cf, r) && r != 0x200d
}

// SafeList applies Safe to each element.
func SafeList(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = Safe(s)
	}
	return out
}

// clip bounds a capture string quoted inside a sentence; the sentence is
// made safe as a whole when printed.
func clip(s string) string {
	if len(s) <= maxField {
		return s
	}
	return s[:maxField] + fmt.Sprintf("…(%d bytes)", len(s))
}

func clipList(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = clip(s)
	}
	return out
}
