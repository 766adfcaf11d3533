package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tlsscope/tlsscope/internal/testenv"
)

func runCLI(args ...string) (stdout, stderr string, code int) {
	var o, e bytes.Buffer
	code = run(args, strings.NewReader(""), &o, &e)
	return o.String(), e.String(), code
}

const demo = "../../testdata/demo.pcapng"

func TestExitStatus(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{demo}, exitProblem},                        // a failed and a stalled handshake
		{[]string{"--exit-zero", demo}, exitOK},              // unless told otherwise
		{[]string{"--only", "complete", demo}, exitOK},       // the filter decides what counts
		{[]string{"../../testdata/tls13-full.pcap"}, exitOK}, // all fine
		{[]string{"--format", "yaml", demo}, exitUsage},      // bad flag value
		{[]string{"--only", "great", demo}, exitUsage},       // unknown outcome
		{[]string{}, exitUsage},                              // nothing to read
		{[]string{"no-such-file.pcap"}, exitUsage},           // unreadable input
		{[]string{"--version"}, exitOK},
	} {
		if _, stderr, code := runCLI(tc.args...); code != tc.code {
			t.Errorf("tlsscope %v: exit %d, want %d (stderr %q)", tc.args, code, tc.code, stderr)
		}
	}
}

func TestInputErrorsAreOneLine(t *testing.T) {
	dir := t.TempDir()
	html := filepath.Join(dir, "page.html")
	os.WriteFile(html, []byte("<html><body>not a capture</body></html>"), 0o644)
	empty := filepath.Join(dir, "empty.pcap")
	os.WriteFile(empty, nil, 0o644)
	// A pcap header and the first bytes of a packet record: cut short.
	cut := filepath.Join(dir, "cut.pcap")
	full, _ := os.ReadFile(demo)
	_ = full
	pcap, _ := os.ReadFile("../../testdata/tls13-full.pcap")
	os.WriteFile(cut, pcap[:len(pcap)-100], 0o644)
	for _, tc := range []struct {
		file, want string
		code       int
	}{
		{html, "page.html: not a pcap or pcapng file (starts with 3c 68 74 6d)", exitUsage},
		{empty, "empty.pcap: empty file", exitUsage},
		{filepath.Join(dir, "missing.pcap"), "missing.pcap: no such file or directory", exitUsage},
		{cut, "cut.pcap: truncated: the last packet is cut short", exitOK},
	} {
		stdout, stderr, code := runCLI("--exit-zero", tc.file)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", tc.file, code, stderr, tc.code, tc.want)
		}
		if strings.Count(strings.TrimSpace(stderr), "\n") > 0 || strings.Contains(stderr, "goroutine") {
			t.Errorf("%s: stderr is not one line: %q", tc.file, stderr)
		}
		if tc.code == exitUsage && stdout != "" {
			t.Errorf("%s: results on stdout despite the error: %q", tc.file, stdout)
		}
	}
}

func TestFilters(t *testing.T) {
	out, _, _ := runCLI("--format", "csv", "--only", "stalled,failed", demo)
	if n := strings.Count(out, "\n"); n != 3 {
		t.Errorf("--only stalled,failed: %d lines, want header and 2:\n%s", n, out)
	}
	out, _, _ = runCLI("--format", "csv", "--stream", "2", demo)
	if !strings.Contains(out, "stalled") || strings.Count(out, "\n") != 2 {
		t.Errorf("--stream 2:\n%s", out)
	}
	out, _, _ = runCLI("--format", "csv", "--sni", "*.example", demo)
	if strings.Count(out, "\n") != 4 {
		t.Errorf("--sni '*.example':\n%s", out)
	}
	out, _, _ = runCLI("--format", "csv", "--sni", "nothing.here", demo)
	if strings.Count(out, "\n") != 1 {
		t.Errorf("--sni nothing.here:\n%s", out)
	}
	out, _, _ = runCLI("--format", "csv", "--port", "41107", demo)
	if strings.Count(out, "\n") != 2 || !strings.Contains(out, "failed") {
		t.Errorf("--port 41107:\n%s", out)
	}
}

// TestNoColorOffTerminal: colour codes never reach a pipe or file.
func TestNoColorOffTerminal(t *testing.T) {
	out, _, _ := runCLI(demo)
	if strings.Contains(out, "\x1b[") {
		t.Error("ANSI colour in output that is not a terminal")
	}
}

func TestMergeFiles(t *testing.T) {
	out, _, _ := runCLI("--format", "csv", "../../testdata/tls13-full.pcap", "../../testdata/stall-server-silent.pcap")
	if strings.Count(out, "\n") != 3 {
		t.Errorf("two files: want two connections:\n%s", out)
	}
}

// TestStreamedOutputEqualsGolden: every format takes results as
// connections end (the table and Markdown keep a summary of each); the
// output must equal the golden files, which are made from the whole result
// set at once, in stream order. JSON Lines and CSV are written as
// connections end, so their lines are compared in stream order.
func TestStreamedOutputEqualsGolden(t *testing.T) {
	t.Setenv("COLUMNS", "120") // the golden tables' width (report.DefaultWidth)
	files, _ := filepath.Glob("../../testdata/*.pcap*")
	netlab, _ := filepath.Glob("../../testdata/netlab/*.pcap")
	for _, f := range append(files, netlab...) {
		for format, ext := range map[string]string{"json": "json", "csv": "csv", "table": "table", "markdown": "md"} {
			// The golden files judge chains against capgen's root only.
			args := []string{"--format", format, "--trust", "none", "--ca-file", "../../testdata/capgen-ca.pem"}
			if format == "table" {
				args = append(args, "--detail") // as the golden file
			}
			k := testenv.KeyLogOf(f)
			if k != "" {
				args = append(args, "--keylog", k) // as the golden file
			}
			out, _, _ := runCLI(append(args, f)...)
			// The golden Markdown names its input "capture".
			out = strings.Replace(out, "- **Input:** `"+f+"`\n", "- **Input:** `capture`\n", 1)
			want, err := os.ReadFile(filepath.Join("../../testdata/golden", filepath.Base(f)+"."+ext))
			if err != nil {
				t.Fatal(err)
			}
			if format == "json" || format == "csv" {
				out = inStreamOrder(t, format, out)
			}
			// The summary's key log lines are the command's, not the
			// report's (TestKeyLogSummary checks them).
			out = regexp.MustCompile(`\n\nkey log: [^\n]*`).ReplaceAllString(out, "")
			out = regexp.MustCompile(`(?m)^key log: .*\n`).ReplaceAllString(out, "")
			if out != string(want) {
				t.Errorf("%s --format %s differs from its golden file", filepath.Base(f), format)
			}
		}
	}
}

// TestWriteFailed: --write-failed keeps the packets of the connections
// that did not complete, and the file reads back with the same verdicts
// (and with tshark, when installed).
func TestWriteFailed(t *testing.T) {
	out := filepath.Join(t.TempDir(), "failed.pcapng")
	if _, stderr, code := runCLI("--format", "csv", "--write-failed", out, demo); code != exitProblem {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	csv, _, _ := runCLI("--format", "csv", out)
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	if len(lines) != 3 || !strings.HasSuffix(lines[1], ",failed") || !strings.HasSuffix(lines[2], ",stalled") {
		t.Fatalf("read back:\n%s", csv)
	}
	t.Run("tshark", func(t *testing.T) {
		b, err := testenv.TSharkOutput(t, out, "-n", "-r", out, "-Y", "tls.handshake.type == 1", "-T", "fields", "-e", "tcp.stream")
		if f := strings.Fields(string(b)); err != nil || len(f) != 2 || f[0] != "0" {
			t.Errorf("tshark reads %q (%v), want ClientHellos on streams 0 and 1", b, err)
		}
	})
}

func TestUnknownInterface(t *testing.T) {
	_, stderr, code := runCLI("-i", "no-such-if0")
	if code != exitUsage || !strings.Contains(stderr, "no such interface (there are: ") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestWriteAll: -w writes every packet read; the copy gives the same verdicts.
func TestWriteAll(t *testing.T) {
	out := filepath.Join(t.TempDir(), "all.pcapng")
	first, _, _ := runCLI("--format", "csv", "-w", out, demo)
	again, _, _ := runCLI("--format", "csv", out)
	if first != again || strings.Count(first, "\n") != 4 {
		t.Errorf("verdicts differ:\n%s\n---\n%s", first, again)
	}
}

// inStreamOrder sorts JSON Lines by their "stream", CSV rows (after the
// header) by their first column.
func inStreamOrder(t *testing.T, format, out string) string {
	lines := strings.SplitAfter(out, "\n")
	if n := len(lines); n > 0 && lines[n-1] == "" {
		lines = lines[:n-1]
	}
	body := lines
	if format == "csv" && len(lines) > 0 {
		body = lines[1:]
	}
	stream := func(l string) int {
		if format == "csv" {
			n, _ := strconv.Atoi(strings.SplitN(l, ",", 2)[0])
			return n
		}
		var v struct {
			Stream int
			Type   string
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		if v.Type == "drops" {
			return math.MaxInt // the record after the connections
		}
		return v.Stream
	}
	slices.SortStableFunc(body, func(a, b string) int { return stream(a) - stream(b) })
	return strings.Join(lines, "")
}

// TestKeyLogSummary: a run with a key log says on stderr, and in the
// table's summary, what the key log held and matched; and the likely causes
// when nothing matched.
func TestKeyLogSummary(t *testing.T) {
	out, errOut, _ := runCLI("--keylog", "../../testdata/keys-tls13-tickets.keys", "../../testdata/keys-tls13-tickets.pcap")
	want := "key log: 8 lines, 2 of 2 ClientHellos matched, 0 entries not seen in this capture (2 decrypted)"
	if !strings.Contains(errOut, "tlsscope: "+want) || !strings.Contains(out, want) {
		t.Errorf("no %q in\nstdout:\n%s\nstderr:\n%s", want, out, errOut)
	}
	_, errOut, _ = runCLI("--format", "json", "--keylog", "../../testdata/keys-tls13-aes128.other.keys", "../../testdata/keys-tls13-aes128.pcap")
	for _, w := range []string{"0 of 1 ClientHellos matched, 1 entries not seen", "another capture or another host, or on the other leg of a TLS proxy"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("other connections' keys: no %q in stderr:\n%s", w, errOut)
		}
	}
	_, errOut, code := runCLI("--keylog", "/nonexistent/keys.txt", "../../testdata/keys-tls13-aes128.pcap")
	if code != 2 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, "--keylog /nonexistent/keys.txt") {
		t.Errorf("a missing key log: exit %d, stderr %q; want exit 2 and one line", code, errOut)
	}
}

// TestCAFileRefused: a --ca-file that holds no certificate is a usage
// error in one line, before any capture is read.
func TestCAFileRefused(t *testing.T) {
	f := filepath.Join(t.TempDir(), "notes.pem")
	if err := os.WriteFile(f, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runCLI("--ca-file", f, demo)
	if code != exitUsage || stdout != "" || stderr != "tlsscope: "+f+": no PEM certificate in it\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
