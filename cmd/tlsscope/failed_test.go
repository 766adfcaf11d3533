package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tlsscope/tlsscope/internal/testenv"
)

// Five captures merged: five connections of seven fail, and their streams
// interleave in time, so that the file --write-failed writes numbers them
// in another order than the report.
var mergedFailing = []string{demo, "../../testdata/stall-server-silent.pcap", "../../testdata/alert-server-refuses.pcap",
	"../../testdata/tls13-full.pcap", "../../testdata/client-gives-up.pcap"}

// TestWriteFailedStreamMapping: the Markdown and the table's closing lines
// say which stream of the written file each failed connection is, and
// tshark, reading the file, numbers them so.
func TestWriteFailedStreamMapping(t *testing.T) {
	out := filepath.Join(t.TempDir(), "failed.pcapng")
	md, stderr, code := runCLI(append([]string{"--format", "markdown", "--write-failed", out}, mergedFailing...)...)
	if code != exitProblem {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(md, "- **Attachment:** `"+out+"` holds the packets of the 5 connections that did not complete.") {
		t.Errorf("the Markdown does not name the attachment:\n%s", md)
	}
	mapping := map[int]int{} // stream in the report -> stream in the file
	for _, m := range regexp.MustCompile("stream ([0-9]+) here is stream ([0-9]+) in `").FindAllStringSubmatch(md, -1) {
		a, _ := strconv.Atoi(m[1])
		b, _ := strconv.Atoi(m[2])
		mapping[a] = b
	}
	if len(mapping) != 5 {
		t.Fatalf("%d streams mapped, want 5: %v", len(mapping), mapping)
	}
	table, _, _ := runCLI(append([]string{"--write-failed", out}, mergedFailing...)...)
	for a, b := range mapping {
		if s := "stream " + strconv.Itoa(a) + " here is stream " + strconv.Itoa(b) + " there"; !strings.Contains(table, s) {
			t.Errorf("the table's closing lines lack %q", s)
		}
	}
	// The client port of each stream of the report, and tshark's stream
	// of each client port in the file.
	js, _, _ := runCLI(append([]string{"--format", "json"}, mergedFailing...)...)
	port := map[int]int{}
	dec := json.NewDecoder(strings.NewReader(js))
	for dec.More() {
		var c struct {
			Stream     int `json:"stream"`
			ClientPort int `json:"client_port"`
		}
		if err := dec.Decode(&c); err != nil {
			t.Fatal(err)
		}
		port[c.Stream] = c.ClientPort
	}
	b, err := testenv.TSharkOutput(t, out, "-n", "-r", out, "-Y", "tls.handshake.type == 1", "-T", "fields", "-e", "tcp.stream", "-e", "tcp.srcport")
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	inFile := map[int]int{} // client port -> tshark's stream
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		s, _ := strconv.Atoi(f[0])
		p, _ := strconv.Atoi(f[1])
		inFile[p] = s
	}
	for a, want := range mapping {
		if got, ok := inFile[port[a]]; !ok || got != want {
			t.Errorf("stream %d (client port %d) is stream %d in the file by tshark (found %v), the report says %d", a, port[a], got, ok, want)
		}
	}
}

// TestWriteFailedNothingFailed: when every handshake completed, no file is
// written (a pcapng of no bytes is not a capture), one that was there is
// left as it was, and stderr says so.
func TestWriteFailedNothingFailed(t *testing.T) {
	full := "../../testdata/tls13-full.pcap"
	out := filepath.Join(t.TempDir(), "failed.pcapng")
	for _, format := range []string{"table", "markdown"} {
		stdout, stderr, code := runCLI("--format", format, "--write-failed", out, full)
		if code != exitOK || stderr != "tlsscope: every handshake seen completed: "+out+" not written\n" {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
		if _, err := os.Lstat(out); !os.IsNotExist(err) {
			t.Errorf("%s: %s exists (%v)", format, out, err)
		}
		if format == "markdown" && !strings.Contains(stdout, "- **Attachment:** every handshake seen completed: `"+out+"` not written\n") {
			t.Errorf("the Markdown does not say the attachment was not written:\n%s", stdout)
		}
	}
	// An older file stays as it was.
	if err := os.WriteFile(out, []byte("an older capture"), 0o644); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(out)
	if _, stderr, _ := runCLI("--write-failed", out, full); !strings.Contains(stderr, "not written") {
		t.Errorf("stderr %q", stderr)
	}
	after, _ := os.Stat(out)
	if b, _ := os.ReadFile(out); string(b) != "an older capture" || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("the older file was touched: %q", b)
	}
	// A connection that failed empties it and writes the capture.
	if _, _, code := runCLI("--write-failed", out, demo); code != exitProblem {
		t.Fatalf("exit %d", code)
	}
	csv, _, _ := runCLI("--format", "csv", out)
	if n := strings.Count(csv, "\n"); n != 3 {
		t.Errorf("the rewritten file reads as %d lines:\n%s", n, csv)
	}
}

// TestWriteFailedUnwritable: a path that cannot be written is said at
// the start, before anything is read.
func TestWriteFailedUnwritable(t *testing.T) {
	out := filepath.Join(t.TempDir(), "no-such-dir", "failed.pcapng")
	stdout, stderr, code := runCLI("--write-failed", out, demo)
	if code != exitUsage || stdout != "" || !strings.Contains(stderr, "no such file or directory") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
