package main

import (
	"bytes"
	"encoding/json"
	"github.com/tlsscope/tlsscope/decoder"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsscope/tlsscope/flows/capture"
)

// fakeLive is a live source that hands out a capture's packets and says
// the kernel dropped packets: rise[i] is what Drops says from packet i
// (from 1) on.
type fakeLive struct {
	pkts  []capture.Packet
	n     int
	rise  map[int]capture.Drops
	drops capture.Drops
	tick  bool
}

// Next gives the packets, and after each one whose drops rose a tick (as
// libpcap's block timeout hands over what came), so that each rise is
// read with its own batch.
func (f *fakeLive) Next() (capture.Packet, error) {
	if f.tick {
		f.tick = false
		return capture.Packet{}, capture.ErrTick
	}
	if f.n == len(f.pkts) {
		return capture.Packet{}, io.EOF
	}
	p := f.pkts[f.n]
	f.n++
	if d, ok := f.rise[f.n]; ok {
		f.drops, f.tick = d, true
	}
	return p, nil
}
func (f *fakeLive) Close() error         { return nil }
func (f *fakeLive) Name() string         { return "fake0" }
func (f *fakeLive) Live() bool           { return true }
func (f *fakeLive) Drops() capture.Drops { return f.drops }

// TestLiveDropsSaid: live, the kernel's drops are said on stderr when
// they rise (once within a second: the second rise waits for the end),
// and at the end with the connections that lived through them; the
// connection the drops overlapped is incomplete, not stalled, and the
// JSON Lines output ends with the drops record.
func TestLiveDropsSaid(t *testing.T) {
	src, err := capture.OpenFile(filepath.Join("..", "..", "testdata", "stall-server-silent.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := capture.ReadAll(src)
	src.Close()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := parseConfig([]string{"--format", "json", "unused.pcap"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	s := &session{cfg: cfg, stderr: &stderr, live: true, inputs: []string{"fake0"}}
	s.keys, _ = openKeyLogs(nil)
	trust, err := decoder.LoadTrustStore(decoder.TrustNone, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.validator = decoder.NewValidator(trust)
	s.in = &fakeLive{pkts: pkts, rise: map[int]capture.Drops{
		6: {Received: 6, Kernel: 5},
		7: {Received: 7, Kernel: 9},
	}}
	if err := s.openOutputs(&stdout); err != nil {
		t.Fatal(err)
	}
	s.analyze()
	s.report()
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	var said []string
	for _, l := range lines {
		if strings.Contains(l, "dropped") {
			said = append(said, l)
		}
	}
	want := []string{
		"tlsscope: 5 packets dropped by the kernel (45.5%) so far",
		"tlsscope: 9 packets dropped by the kernel (56.2%); 1 connection open meanwhile carries capture_drops",
	}
	if strings.Join(said, "\n") != strings.Join(want, "\n") {
		t.Errorf("stderr says\n%s\nwant\n%s", strings.Join(said, "\n"), strings.Join(want, "\n"))
	}
	out := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(out) != 2 {
		t.Fatalf("stdout: %q", out)
	}
	var conn struct{ Outcome, Reason string }
	var rec struct {
		Type, By        string
		Kernel, Dropped uint64
	}
	if json.Unmarshal([]byte(out[0]), &conn) != nil || conn.Outcome != "incomplete" || conn.Reason != "capture_dropped" {
		t.Errorf("connection: %s", out[0])
	}
	if json.Unmarshal([]byte(out[1]), &rec) != nil || rec.Type != "drops" || rec.By != "kernel" || rec.Kernel != 9 || rec.Dropped != 9 {
		t.Errorf("drops record: %s", out[1])
	}
}

// TestFileDropsSaid: a pcapng whose tool dropped packets says so on
// stderr, the same way, at the end; a pcap that cannot say says nothing.
func TestFileDropsSaid(t *testing.T) {
	bin := filepath.Join("..", "..", "testdata")
	for _, tc := range []struct {
		file, want string
	}{
		{"capture-dropped.pcapng", "tlsscope: 3 packets dropped by the capturing tool's kernel (6.2%); 2 connections open meanwhile carry capture_drops\n"},
		{"stall-server-silent.pcap", ""},
	} {
		var stdout, stderr bytes.Buffer
		run([]string{"--exit-zero", filepath.Join(bin, tc.file)}, nil, &stdout, &stderr)
		var said string
		for _, l := range strings.SplitAfter(stderr.String(), "\n") {
			if strings.Contains(l, "dropped") {
				said += l
			}
		}
		if said != tc.want {
			t.Errorf("%s: stderr says %q, want %q", tc.file, said, tc.want)
		}
		if tc.want != "" && !strings.Contains(stdout.String(), "3 packets dropped by the capturing tool's kernel (6.2%)\n") {
			t.Errorf("%s: the table's summary does not say the drops:\n%s", tc.file, stdout.String())
		}
	}
}
