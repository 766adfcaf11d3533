package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFilterOnFiles: -f applies to files and stdin as to an interface:
// demo.pcapng's three connections are TCP, each from its own client port.
func TestFilterOnFiles(t *testing.T) {
	data, err := os.ReadFile(demo)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		expr string
		rows int
		want string // in the one row, when rows is 1
	}{
		{"", 3, ""},
		{"udp", 0, ""},
		{"tcp", 3, ""},
		{"tcp port 41107", 1, ":41107,"},
		{"tcp src port 41114 or tcp dst port 41114", 1, ":41114,"},
	} {
		for _, in := range []string{demo, "-"} {
			args := []string{"--format", "csv", in}
			if tc.expr != "" {
				args = append(args, "-f", tc.expr)
			}
			var o, e strings.Builder
			code := run(args, strings.NewReader(string(data)), &o, &e)
			out := o.String()
			if code == exitUsage || strings.Count(out, "\n") != 1+tc.rows || tc.rows == 1 && !strings.Contains(out, tc.want) {
				t.Errorf("-f %q on %s: exit %d, stderr %q, want %d rows:\n%s", tc.expr, in, code, e.String(), tc.rows, out)
			}
		}
	}
}

// TestBadSelection: what cannot select anything is a usage error, said
// in one line: a filter libpcap cannot compile (with its message), an
// address or a port that cannot exist.
func TestBadSelection(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-f", "this is not bpf", demo}, "tlsscope: -f 'this is not bpf': can't parse filter expression: syntax error\n"},
		{[]string{"-f", "tcp port 99999", demo}, "tlsscope: -f 'tcp port 99999': illegal port number 99999 > 65535\n"},
		{[]string{"--host", "10.0.0.999", demo}, "tlsscope: --host: \"10.0.0.999\" is not an IPv4 or IPv6 address\n"},
		{[]string{"--host", "shop.example", demo}, "tlsscope: --host: \"shop.example\" is not an IPv4 or IPv6 address\n"},
		{[]string{"--port", "99999", demo}, "tlsscope: --port: 99999 is not a port (1 to 65535)\n"},
		{[]string{"--port", "0", demo}, "tlsscope: --port: 0 is not a port (1 to 65535)\n"},
		{[]string{"--port", "-443", demo}, "tlsscope: --port: -443 is not a port (1 to 65535)\n"},
	} {
		stdout, stderr, code := runCLI(tc.args...)
		if code != exitUsage || stderr != tc.want+"see tlsscope --help\n" || stdout != "" {
			t.Errorf("%q: exit %d, stderr %q, stdout %q; want %d and %q", tc.args, code, stderr, stdout, exitUsage, tc.want)
		}
	}
	// Good ones select: an IPv6 address in any of its spellings.
	for _, host := range []string{"192.0.2.10", "198.51.100.20"} {
		if out, stderr, _ := runCLI("--format", "csv", "--host", host, demo); strings.Count(out, "\n") != 4 {
			t.Errorf("--host %s: %s\n%s", host, stderr, out)
		}
	}
	if out, stderr, _ := runCLI("--format", "csv", "--host", "2001:DB8:0::10", "../../testdata/ipv6.pcap"); strings.Count(out, "\n") < 2 {
		t.Errorf("--host 2001:DB8:0::10 on ipv6.pcap: %s\n%s", stderr, out)
	}
}

// TestFilterHint: a filter given where a file goes (tcpdump's place for
// it) is not a file; the error says how to filter.
func TestFilterHint(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-r", demo, "tcp port 443"}, "tcp port 443: no such file or directory (to filter, use -f 'tcp port 443')\n"},
		{[]string{"-r", demo, "tcp", "port", "443"}, "tcp: no such file or directory (to filter, use -f 'tcp port 443')\n"},
		{[]string{demo, "host 192.0.2.10 and not port 22"}, "host 192.0.2.10 and not port 22: no such file or directory (to filter, use -f 'host 192.0.2.10 and not port 22')\n"},
		{[]string{demo, "no-such.pcap"}, "no-such.pcap: no such file or directory\n"},
	} {
		_, stderr, code := runCLI(tc.args...)
		if code != exitUsage || stderr != tc.want {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, exitUsage, tc.want)
		}
	}
}

// pcapRecords splits a classic pcap file into its header and records.
func pcapRecords(t *testing.T, name string) (header []byte, records [][]byte) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	header, b = b[:24], b[24:]
	for len(b) >= 16 {
		n := 16 + int(binary.LittleEndian.Uint32(b[8:12]))
		records, b = append(records, b[:n]), b[n:]
	}
	return header, records
}

// TestPipeStreams: a capture written into tlsscope's standard input
// packet by packet, the pipe kept open and silent (tcpdump -U -w - |
// tlsscope --format json -), gives each connection's line within a
// second of its last packet, not when the pipe closes.
func TestPipeStreams(t *testing.T) {
	for _, tc := range []struct{ file, outcome string }{
		{"../../testdata/tls13-full.pcap", "complete"},
		{"../../testdata/alert-server-refuses.pcap", "failed"},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			inR, inW, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			outR, outW := io.Pipe()
			var stderr strings.Builder
			done := make(chan int, 1)
			go func() {
				done <- run([]string{"--format", "json", "-"}, inR, outW, &stderr)
				outW.Close()
			}()
			type stamped struct {
				text string
				at   time.Time
			}
			lines := make(chan stamped, 16)
			go func() {
				defer close(lines)
				sc := bufio.NewScanner(outR)
				sc.Buffer(make([]byte, 1<<20), 1<<20)
				for sc.Scan() {
					lines <- stamped{sc.Text(), time.Now()}
				}
			}()
			header, records := pcapRecords(t, tc.file)
			inW.Write(header)
			var wrote []time.Time // when each packet went into the pipe
			for _, r := range records {
				time.Sleep(5 * time.Millisecond)
				if _, err := inW.Write(r); err != nil {
					t.Fatal(err)
				}
				wrote = append(wrote, time.Now())
			}
			select {
			case line := <-lines:
				var m map[string]any
				if err := json.Unmarshal([]byte(line.text), &m); err != nil || m["outcome"] != tc.outcome {
					t.Errorf("line %q (%v), want outcome %s", line.text, err, tc.outcome)
				}
				// From the packet that decided it: the last written before.
				n := 0
				for n < len(wrote) && !wrote[n].After(line.at) {
					n++
				}
				if n > 0 {
					t.Logf("%s: the line came %v after packet %d of %d, the pipe open", filepath.Base(tc.file), line.at.Sub(wrote[n-1]).Round(time.Microsecond), n, len(records))
				}
			case <-time.After(time.Second):
				t.Errorf("no line within a second of the last packet, the pipe open (stderr %q)", stderr.String())
			}
			inW.Close()
			var rest []string
			for l := range lines {
				rest = append(rest, l.text)
			}
			if code := <-done; code == exitUsage || len(rest) != 0 {
				t.Errorf("after the pipe closed: exit %d, more lines %q, stderr %q", code, rest, stderr.String())
			}
		})
	}
}

// TestNewLineAfterInterrupt: after Ctrl-C the terminal shows "^C" after
// the last verdict line; what follows starts on a line of its own, on
// whichever of stderr and stdout is the terminal, and nothing is added
// when no signal stopped the run or neither is a terminal.
func TestNewLineAfterInterrupt(t *testing.T) {
	for _, tc := range []struct {
		interrupted, stderrTTY, stdoutTTY bool
		stderr, stdout                    string
	}{
		{true, true, true, "\n", ""},
		{true, false, true, "", "\n"},
		{true, false, false, "", ""},
		{false, true, true, "", ""},
	} {
		var e, o strings.Builder
		s := &session{stderr: &e, stdout: bufio.NewWriter(&o), stderrTTY: tc.stderrTTY, stdoutTTY: tc.stdoutTTY}
		s.interrupted.Store(tc.interrupted)
		s.newLineAfterInterrupt()
		s.stdout.Flush()
		if e.String() != tc.stderr || o.String() != tc.stdout {
			t.Errorf("%+v: stderr %q, stdout %q", tc, e.String(), o.String())
		}
	}
}
