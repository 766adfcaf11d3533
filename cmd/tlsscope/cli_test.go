package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestParseConfigOrder: flags and files in any order, -r as a file, --
// ending the flags; the files keep the order they were given in.
func TestParseConfigOrder(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		files  []string
		format string
		port   int
	}{
		{[]string{"f.pcap", "--format", "json"}, []string{"f.pcap"}, "json", 0},
		{[]string{"-format=csv", "a.pcap", "-port", "443", "b.pcap"}, []string{"a.pcap", "b.pcap"}, "csv", 443},
		{[]string{"-r", "a.pcap", "b.pcap", "--r", "c.pcap"}, []string{"a.pcap", "b.pcap", "c.pcap"}, "table", 0},
		{[]string{"b.pcap", "-r", "a.pcap"}, []string{"b.pcap", "a.pcap"}, "table", 0},
		{[]string{"--format", "json", "--", "-x", "--port"}, []string{"-x", "--port"}, "json", 0},
		{[]string{"-r", "-x"}, []string{"-x"}, "table", 0}, // -r takes what follows
		{[]string{"-"}, []string{"-"}, "table", 0},         // stdin
		{[]string{"--detail", "f.pcap", "--no-color"}, []string{"f.pcap"}, "table", 0},
		{[]string{"--sni", "--", "f.pcap"}, []string{"f.pcap"}, "table", 0}, // a value, not the end of flags
	} {
		cfg, err := parseConfig(tc.args, io.Discard)
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if !slices.Equal(cfg.files, tc.files) || cfg.format != tc.format || cfg.port != tc.port {
			t.Errorf("%q: files %q, format %s, port %d; want %q, %s, %d", tc.args, cfg.files, cfg.format, cfg.port, tc.files, tc.format, tc.port)
		}
	}
	cfg, _ := parseConfig([]string{"--detail", "f.pcap", "--no-color"}, io.Discard)
	if cfg == nil || !cfg.detail || !cfg.noColor {
		t.Errorf("bool flags after a file: %+v", cfg)
	}
	for _, args := range [][]string{{"-c", "3", "f.pcap"}, {"f.pcap", "--count", "3"}, {"--count=3", "f.pcap"}} {
		if cfg, err := parseConfig(args, io.Discard); err != nil || cfg.count != 3 {
			t.Errorf("%q: count %v, %v; want 3", args, cfg, err)
		}
	}
}

// TestParseConfigErrors: a bad command line is one line, with no usage.
func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-x", "f.pcap"}, "flag provided but not defined: -x"},
		{[]string{"f.pcap", "--port", "https"}, `invalid value "https" for flag -port: parse error`},
		{[]string{"f.pcap", "-r"}, "flag needs an argument: -r"},
		{[]string{}, "nothing to read: give capture files, -r FILE or -i IFACE"},
		{[]string{"-c", "-1", "f.pcap"}, "--count: want N ≥ 0"},
		{[]string{"-i", "eth0", "f.pcap"}, "give either -i IFACE or files, not both"},
	} {
		_, err := parseConfig(tc.args, io.Discard)
		var ue *usageError
		if !errors.As(err, &ue) || err.Error() != tc.want {
			t.Errorf("%q: %v; want usage error %q", tc.args, err, tc.want)
		}
	}
}

func TestUsageErrorIsOneLine(t *testing.T) {
	stdout, stderr, code := runCLI("-x", demo)
	want := "tlsscope: flag provided but not defined: -x\nsee tlsscope --help\n"
	if code != exitUsage || stderr != want || stdout != "" {
		t.Errorf("exit %d, stderr %q, stdout %q; want %d, %q and nothing", code, stderr, stdout, exitUsage, want)
	}
}

func TestHelpOnStdout(t *testing.T) {
	for _, arg := range []string{"--help", "-h", "-help"} {
		stdout, stderr, code := runCLI(demo, arg)
		if code != exitOK || stderr != "" || !strings.HasPrefix(stdout, usage) || !strings.Contains(stdout, "-count N") || !strings.Contains(stdout, "-r file") {
			t.Errorf("%s: exit %d, stderr %q, stdout:\n%s", arg, code, stderr, stdout)
		}
	}
}

// TestCountOnFiles: -c N stops a file's run after N handshakes judged:
// the results are the first N, and the summary says the run stopped.
func TestCountOnFiles(t *testing.T) {
	all, _, _ := runCLI("--format", "json", demo)
	lines := strings.Split(strings.TrimSpace(all), "\n")
	if len(lines) != 3 {
		t.Fatalf("demo: %d connections, want 3", len(lines))
	}
	out, stderr, code := runCLI("--format", "json", "-c", "2", demo)
	got := strings.Split(strings.TrimSpace(out), "\n")
	// The first two judged: the complete and the failed handshake, the
	// stall being judged only at the end of the capture.
	if len(got) != 2 || got[0] != lines[0] || got[1] != lines[1] {
		t.Errorf("-c 2: got\n%s\nwant the first two of\n%s", out, all)
	}
	if code != exitProblem || !strings.Contains(stderr, "stopped early (--count 2): the first 2 handshakes judged; 1 more, judged as the run stopped, not shown\n") {
		t.Errorf("-c 2: exit %d, stderr %q", code, stderr)
	}
	table, _, _ := runCLI(demo, "--count", "1")
	if !strings.Contains(table, "1 TLS connection: 1 complete\nstopped early (--count 1): the first 1 handshake judged; 2 more, judged as the run stopped, not shown\n") {
		t.Errorf("--count 1, the table's summary:\n%s", table)
	}
	if _, stderr, _ := runCLI("-c", "5", demo); strings.Contains(stderr, "stopped early") {
		t.Errorf("-c 5 with 3 handshakes: %q", stderr)
	}
}

// realMain runs the command's main in a process of its own, with the
// test binary (TestMain's "main" helper).
func realMain(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	b, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TLSSCOPE_HELPER=main", "TLSSCOPE_ARGS="+string(b))
	return cmd
}

func TestRealMain(t *testing.T) {
	t.Run("flags after the file", func(t *testing.T) {
		cmd := realMain(t, demo, "--format", "json")
		out, err := cmd.Output()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitProblem {
			t.Fatalf("exit: %v (%s)", err, out)
		}
		var first struct{ Stream int }
		if n := strings.Count(string(out), "\n"); n != 3 || json.Unmarshal([]byte(strings.SplitN(string(out), "\n", 2)[0]), &first) != nil {
			t.Errorf("want 3 JSON lines:\n%s", out)
		}
	})
	t.Run("-r", func(t *testing.T) {
		out, err := realMain(t, "-r", "../../testdata/tls13-full.pcap", "--format", "csv").Output()
		if err != nil || !strings.HasSuffix(string(out), ",complete\n") || strings.Count(string(out), "\n") != 2 {
			t.Errorf("%v:\n%s", err, out)
		}
	})
	t.Run("--help | head -3", func(t *testing.T) {
		cmd := realMain(t, "--help")
		stdout, _ := cmd.StdoutPipe()
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(stdout)
		var head []string
		for range 3 {
			l, _ := r.ReadString('\n')
			head = append(head, l)
		}
		stdout.Close() // as head does
		err := cmd.Wait()
		if err != nil || head[0] != "tlsscope: judge every TLS handshake in a capture.\n" || stderr.Len() > 0 {
			t.Errorf("exit %v, head %q, stderr %q", err, head, stderr.String())
		}
	})
	t.Run("a bad flag", func(t *testing.T) {
		cmd := realMain(t, demo, "--colour")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		var ee *exec.ExitError
		want := "tlsscope: flag provided but not defined: -colour\nsee tlsscope --help\n"
		if !errors.As(err, &ee) || ee.ExitCode() != exitUsage || stderr.String() != want || len(out) > 0 {
			t.Errorf("exit %v, stderr %q, stdout %q", err, stderr.String(), out)
		}
	})
	t.Run("a file named like a flag", func(t *testing.T) {
		dir := t.TempDir()
		data, _ := os.ReadFile("../../testdata/tls13-full.pcap")
		os.WriteFile(filepath.Join(dir, "-x.pcap"), data, 0o644)
		cmd := realMain(t, "--format", "csv", "--", "-x.pcap")
		cmd.Dir = dir
		cmd.Env = append(cmd.Env, "PWD="+dir)
		out, err := cmd.Output()
		if err != nil || !strings.HasSuffix(string(out), ",complete\n") {
			t.Errorf("%v:\n%s", err, out)
		}
	})
}
