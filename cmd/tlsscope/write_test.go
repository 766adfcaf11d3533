package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlsscope/tlsscope/flows/capture"
	"github.com/tlsscope/tlsscope/internal/capgen"
)

func devFull(t *testing.T) *os.File {
	t.Helper()
	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full:", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestWriteErrorsAreOneLine: -w, --write-failed and stdout on a full disk
// each end the run with exit status 2 and one line naming what could not
// be written.
func TestWriteErrorsAreOneLine(t *testing.T) {
	full := devFull(t)
	for _, tc := range []struct {
		args   []string
		stdout io.Writer
		want   string
	}{
		{[]string{"-w", "/dev/full", demo}, io.Discard, "tlsscope: writing /dev/full: no space left on device\n"},
		{[]string{"--write-failed", "/dev/full", demo}, io.Discard, "tlsscope: writing /dev/full: no space left on device\n"},
		{[]string{"--format", "csv", demo}, full, "tlsscope: writing stdout: no space left on device\n"},
		{[]string{demo}, full, "tlsscope: writing stdout: no space left on device\n"},
	} {
		var stderr bytes.Buffer
		code := run(tc.args, strings.NewReader(""), tc.stdout, &stderr)
		if code != exitUsage || stderr.String() != tc.want {
			t.Errorf("tlsscope %v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), exitUsage, tc.want)
		}
	}
}

// feed is an endless capture on a pipe: real crypto/tls connections made
// by capgen as they are read, for as long as anyone reads.
type feed struct {
	r    *io.PipeReader
	read atomic.Int64
	done chan struct{}
}

func newFeed(t *testing.T) *feed {
	pr, pw := io.Pipe()
	f := &feed{r: pr, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		// No size and no count: it ends when the reader goes away.
		_, err := capgen.WriteLoad(pw, capgen.LoadOptions{Data: 4096})
		pw.CloseWithError(err)
	}()
	t.Cleanup(func() {
		pr.CloseWithError(errors.New("test over"))
		<-f.done
	})
	return f
}

func (f *feed) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	f.read.Add(int64(n))
	return n, err
}

// runBounded runs tlsscope in a goroutine and fails the test when it
// has not returned within the bound.
func runBounded(t *testing.T, args []string, stdin io.Reader, stdout io.Writer, before func()) (code int, stderr string) {
	t.Helper()
	var e bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(args, stdin, stdout, &e) }()
	if before != nil {
		before()
	}
	select {
	case code = <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("tlsscope %v still running after a minute", args)
	}
	return code, e.String()
}

// TestWriteErrorStopsReading: the first failed write ends the run at
// once, while input is still coming, with one line.
func TestWriteErrorStopsReading(t *testing.T) {
	full := devFull(t)
	for _, tc := range []struct {
		args   []string
		stdout io.Writer
		want   string
	}{
		{[]string{"-w", "/dev/full", "-"}, io.Discard, "tlsscope: writing /dev/full: no space left on device\n"},
		{[]string{"--write-failed", "/dev/full", "-"}, io.Discard, "tlsscope: writing /dev/full: no space left on device\n"},
		{[]string{"--format", "json", "-"}, full, "tlsscope: writing stdout: no space left on device\n"},
	} {
		in := newFeed(t)
		code, stderr := runBounded(t, tc.args, in, tc.stdout, nil)
		if code != exitUsage || stderr != tc.want {
			t.Errorf("tlsscope %v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, exitUsage, tc.want)
		}
		t.Logf("tlsscope %v: stopped after reading %d MB", tc.args, in.read.Load()>>20)
	}
}

// TestClosedPipeEndsRun: stdout closed after the first line (tlsscope
// ... | head -1) ends the run at once and quietly, while input is still
// coming; it does not read on to the end.
func TestClosedPipeEndsRun(t *testing.T) {
	in := newFeed(t)
	pr, pw := io.Pipe()
	var first string
	code, stderr := runBounded(t, []string{"--format", "json", "-"}, in, pw, func() {
		first, _ = bufio.NewReader(pr).ReadString('\n')
		pr.Close()
	})
	read := in.read.Load()
	if code != exitUsage || stderr != "" {
		t.Errorf("exit %d, stderr %q; want %d and nothing", code, stderr, exitUsage)
	}
	if !strings.HasPrefix(first, `{"stream":0,`) {
		t.Errorf("first line %q", first)
	}
	time.Sleep(100 * time.Millisecond)
	if n := in.read.Load(); n != read {
		t.Errorf("input read on after run returned: %d bytes, then %d", read, n)
	}
	select {
	case <-in.done:
		t.Error("the endless input ended")
	default:
	}
	t.Logf("stopped after reading %d MB", read>>20)
}

// TestStoppableKeepsBatches: the wrappers between the analyzer and a pcap
// file keep its batch path, and a stopped source ends with an empty batch.
func TestStoppableKeepsBatches(t *testing.T) {
	src, err := capture.OpenFile("../../testdata/tls13-full.pcap")
	if err != nil {
		t.Fatal(err)
	}
	m := capture.NewMerge([]capture.Source{src})
	defer m.Close()
	var pw bytes.Buffer
	s := capture.NewStoppable(&capture.Tee{Source: m, W: capture.NewPcapngWriter(&pw)})
	var bs capture.BatchSource = s
	if !bs.Bulk() {
		t.Fatal("Stoppable over Tee over a pcap file: no batch path")
	}
	b := &capture.Batch{Buf: make([]byte, 0, capture.BatchSize)}
	if err := s.Fill(b); err != nil && err != io.EOF || len(b.Packets) == 0 {
		t.Fatalf("Fill: %d packets, %v", len(b.Packets), err)
	}
	s.Stop()
	if err := s.Fill(b); !errors.Is(err, capture.ErrStopped) || len(b.Packets) != 0 {
		t.Errorf("Fill after Stop: %d packets, %v", len(b.Packets), err)
	}
	if _, err := s.Next(); !errors.Is(err, capture.ErrStopped) {
		t.Errorf("Next after Stop: %v", err)
	}
}
