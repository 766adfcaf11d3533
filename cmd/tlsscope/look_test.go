package main

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestColorFlag: --color always colours a pipe (for less -R), never and
// --no-color do not, auto follows the terminal; a bad value is a usage
// error.
func TestColorFlag(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	for _, tc := range []struct {
		args  []string
		color bool
	}{
		{[]string{"--color", "always"}, true},
		{[]string{"--color=always", "--exit-zero"}, true},
		{[]string{"--color", "never"}, false},
		{[]string{"--color", "auto"}, false}, // a buffer is no terminal
		{[]string{"--no-color"}, false},
	} {
		out, stderr, _ := runCLI(append(tc.args, demo)...)
		if got := strings.Contains(out, "\x1b[3"); got != tc.color {
			t.Errorf("tlsscope %v: colour %v, want %v (stderr %q)", tc.args, got, tc.color, stderr)
		}
	}
	if _, _, code := runCLI("--color", "sometimes", demo); code != exitUsage {
		t.Errorf("--color sometimes: exit %d", code)
	}
}

var column = regexp.MustCompile(`│ +Client +│`)

// TestTableWidth: into a pipe the table is whole (every column, as
// --wide), unless $COLUMNS says a width, which it then fits.
func TestTableWidth(t *testing.T) {
	t.Setenv("COLUMNS", "")
	out, _, _ := runCLI(demo)
	if !column.MatchString(out) || !strings.Contains(out, " ALPN ") || strings.Contains(out, "…") {
		t.Errorf("a pipe got a cut table:\n%s", out)
	}
	t.Setenv("COLUMNS", "80")
	out, _, _ = runCLI(demo)
	if !strings.Contains(out, "Fitted to 80 columns") {
		t.Errorf("COLUMNS=80 not followed:\n%s", out)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "│") || strings.HasPrefix(l, "┌") {
			if n := utf8.RuneCountInString(l); n > 80 {
				t.Errorf("a row of %d columns at 80:\n%s", n, l)
			}
		}
	}
	out, _, _ = runCLI("--wide", demo)
	if strings.Contains(out, "Fitted") || !column.MatchString(out) {
		t.Errorf("--wide with COLUMNS=80:\n%s", out)
	}
}

// TestPolicyFlag: FIPS findings only with --policy fips; an unknown
// policy is a usage error.
func TestPolicyFlag(t *testing.T) {
	const capture = "../../testdata/expired-cert.pcap" // x25519
	if out, _, _ := runCLI("--format", "json", capture); strings.Contains(out, "not_fips_approved") {
		t.Error("not_fips_approved without --policy fips")
	}
	for _, format := range []string{"json", "csv", "ecs", "table"} {
		if out, _, _ := runCLI("--format", format, "--policy", "fips", capture); format != "csv" && !strings.Contains(out, "not_fips_approved") {
			t.Errorf("--format %s --policy fips: no not_fips_approved:\n%s", format, out)
		}
	}
	if _, _, code := runCLI("--policy", "pci", capture); code != exitUsage {
		t.Errorf("--policy pci: exit %d", code)
	}
}

// TestTotalOfTheRead: with a filter, the summary says how many of all.
func TestTotalOfTheRead(t *testing.T) {
	out, _, _ := runCLI("--only", "failed,stalled", demo)
	if !strings.Contains(out, "\n2 of 3 TLS connections: 1 failed, 1 stalled\n") {
		t.Errorf("no total of the read:\n%s", out)
	}
	out, _, _ = runCLI(demo)
	if !strings.Contains(out, "\n3 TLS connections: 1 complete, 1 failed, 1 stalled\n") {
		t.Errorf("unfiltered:\n%s", out)
	}
}
