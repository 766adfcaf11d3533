package flows

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tlsscope/tlsscope/flows/capture"
	"github.com/tlsscope/tlsscope/internal/capgen"
)

// withStats writes a testdata capture's packets as pcapng with the
// Interface Statistics Blocks isbs among them, into a temporary file.
func withStats(t testing.TB, name string, isbs ...capgen.ISB) string {
	t.Helper()
	src, err := capture.OpenFile(filepath.Join(testdata, name))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	pkts, err := capture.ReadAll(src)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := capgen.WritePcapngStats(&b, pkts, isbs); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), filepath.Base(name)+"ng")
	if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// verdictOf is "outcome reason" of a result.
func verdictOf(r *Result) string { return string(r.Outcome) + " " + r.Reason.Kind.String() }

// TestCaptureDropped: a connection open while the capturing tool's drop
// counters rose is not judged on silence that may be those drops; what
// was seen (both Finished, an alert, a refusal) still decides. Each case
// is a testdata capture whose verdict without drops is known
// (report/reasons_test.go), its packets written to pcapng with ISBs.
func TestCaptureDropped(t *testing.T) {
	for _, tc := range []struct {
		file string
		isbs []capgen.ISB
		want string // outcome reason
		// drops: what the connection lived through (0: nothing marked).
		drops uint64
		// frames the reason cites, when the drops decide it.
		frames []int64
	}{
		// Stalled silent server (frame 5 the ClientHello); 3 dropped by
		// frame 6: the server's silence may be them. Frames: the
		// ClientHello, frame 6 (the latest when told), the client's FIN.
		{"stall-server-silent.pcap", []capgen.ISB{{After: 6, Received: 6, OSDrop: 3}}, "incomplete capture_dropped", 3, []int64{5, 6, 7}},
		// The same said at the end of the file, as dumpcap does: the
		// connection, closed by the client's FIN, was open all along.
		{"stall-server-silent.pcap", []capgen.ISB{{After: 7, Received: 7, OSDrop: 2, IfDrop: 1}}, "incomplete capture_dropped", 3, []int64{5, 7}},
		// Two rises sum; a block that repeats the counts adds nothing.
		{"stall-server-silent.pcap", []capgen.ISB{{After: 5, OSDrop: 1}, {After: 6, OSDrop: 4}, {After: 6, OSDrop: 4}}, "incomplete capture_dropped", 4, nil},
		// A tool that says it dropped nothing changes nothing.
		{"stall-server-silent.pcap", []capgen.ISB{{After: 6, Received: 6}, {After: 7, Received: 7}}, "stalled silent", 0, nil},
		// Drops before the connection's first packet are not its own.
		{"stall-server-silent.pcap", []capgen.ISB{{After: 0, OSDrop: 9}}, "stalled silent", 0, nil},
		// Both Finished seen: complete whatever was dropped.
		{"tls13-full.pcap", []capgen.ISB{{After: 6, OSDrop: 2}}, "complete finished", 2, nil},
		// An alert read: failed.
		{"alert-server-refuses.pcap", []capgen.ISB{{After: 4, OSDrop: 2}}, "failed alert", 2, nil},
		// The server's RST answering the SYN: refused, whatever else.
		{"tcp-refused.pcap", []capgen.ISB{{After: 1, OSDrop: 2}}, "reset refused", 2, nil},
		// A RST after the ClientHello proves the end, not why: an alert
		// before it may be among the drops. Frames: the ClientHello, the
		// server's ACK (latest when told) and the RST.
		{"reset-after-client-hello.pcap", []capgen.ISB{{After: 6, OSDrop: 1}}, "incomplete capture_dropped", 1, []int64{5, 6, 7}},
		// The client gave up waiting (FIN): its peer's answer may have
		// been dropped.
		{"client-gives-up.pcap", []capgen.ISB{{After: 6, OSDrop: 1}}, "incomplete capture_dropped", 1, nil},
		// Drops told since a report made after the FIN that ended the
		// wait came too late to matter.
		{"client-gives-up.pcap", []capgen.ISB{{After: 7, Received: 7}, {After: 7, Received: 7, OSDrop: 2}}, "closed gave_up", 0, nil},
		// Without that report, they may have come before it.
		{"client-gives-up.pcap", []capgen.ISB{{After: 7, Received: 7, OSDrop: 2}}, "incomplete capture_dropped", 2, nil},
		// Encrypted records from the capture's first packet: its
		// handshake came before the capture, drops or not.
		{"after-handshake.pcap", []capgen.ISB{{After: 3, OSDrop: 5}}, "not_observed before_capture", 5, nil},
		// QUIC: the server's flight never seen (stalled silent server).
		{"quic/server-flight-lost.pcap", []capgen.ISB{{After: 5, OSDrop: 7}}, "incomplete capture_dropped", 7, nil},
		{"quic/complete.pcap", []capgen.ISB{{After: 5, OSDrop: 7}}, "complete finished", 7, nil},
		// DTLS: a server that never answered (4 ClientHellos, frames 3 to
		// 6) may be drops; a handshake seen to complete stands.
		{"netlab/dtls-no-answer.client.pcap", []capgen.ISB{{After: 4, OSDrop: 3}}, "incomplete capture_dropped", 3, nil},
		{"netlab/dtls-openssl-listen.client.pcap", []capgen.ISB{{After: 5, OSDrop: 3}}, "complete finished", 3, nil},
	} {
		rs, a := analyze(t, withStats(t, tc.file, tc.isbs...))
		if len(rs) != 1 {
			t.Fatalf("%s %v: %d results", tc.file, tc.isbs, len(rs))
		}
		r := rs[0]
		if got := verdictOf(r); got != tc.want {
			t.Errorf("%s %v: %s, want %s", tc.file, tc.isbs, got, tc.want)
		}
		var got uint64
		if r.Drops != nil {
			got = r.Drops.Count
		}
		if got != tc.drops {
			t.Errorf("%s %v: lived through %d drops, want %d", tc.file, tc.isbs, got, tc.drops)
		}
		if tc.frames != nil && !equalFrames(r.Reason.Frames, tc.frames) {
			t.Errorf("%s %v: reason frames %v, want %v", tc.file, tc.isbs, r.Reason.Frames, tc.frames)
		}
		last := tc.isbs[len(tc.isbs)-1]
		// Received is what the capture saw: isb_ifrecv counts isb_osdrop.
		if d := a.Stats.Drops; d.Kernel != last.OSDrop || d.Interface != last.IfDrop || d.Received != last.Received-min(last.Received, last.OSDrop) {
			t.Errorf("%s %v: Stats.Drops %+v", tc.file, tc.isbs, d)
		}
	}
}

func equalFrames(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestCaptureDropsCorpus: the corpus's pcapng files with Interface
// Statistics Blocks (ja4's, written by dumpcap at the end) say they
// dropped nothing, so no verdict changes; where the tool wrote every
// packet it received, isb_ifrecv is capinfos's packet count.
func TestCaptureDropsCorpus(t *testing.T) {
	dir := filepath.Join(testdata, "..", "..", "shared", "captures", "ja4", "pcap")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("no corpus")
	}
	capinfos, err := exec.LookPath("capinfos")
	if err != nil {
		t.Skip("no capinfos")
	}
	for _, name := range []string{"tls3.pcapng", "latest.pcapng"} {
		f := filepath.Join(dir, name)
		rs, a := analyze(t, f)
		out, err := exec.Command(capinfos, "-c", "-M", f).Output()
		if err != nil {
			t.Fatal(err)
		}
		fields := strings.Fields(string(out))
		n, _ := strconv.ParseUint(fields[len(fields)-1], 10, 64)
		if d := a.Stats.Drops; d.Dropped() != 0 || d.Received != n || n == 0 {
			t.Errorf("%s: drops %+v, capinfos counts %d packets", name, d, n)
		}
		for _, r := range rs {
			if r.Drops != nil {
				t.Errorf("%s stream %d: lived through drops %+v", name, r.Stream, r.Drops)
			}
		}
	}
}

// TestCaptureDroppedMerged: files merged are read packet by packet; the
// drops one file's statistics tell mid-file are told between the packets
// around them (a batch of the merge ends there), not when the batch is
// full, long after the connection ended; and they mark only that file's
// connections. client-gives-up.pcap's connection ends at 0.54 s;
// stall-idle-timeout.pcap, at the same times, runs to 311 s.
func TestCaptureDroppedMerged(t *testing.T) {
	dropping := withStats(t, "client-gives-up.pcap", capgen.ISB{After: 6, Received: 6, OSDrop: 2})
	rs, a := analyze(t, dropping, filepath.Join(testdata, "stall-idle-timeout.pcap"))
	var got []string
	for _, r := range rs {
		var n uint64
		if r.Drops != nil {
			n = r.Drops.Count
		}
		got = append(got, fmt.Sprintf("input %d: %s (%d)", r.Input, verdictOf(r), n))
	}
	want := []string{"input 0: incomplete capture_dropped (2)", "input 1: stalled silent (0)", "input 1: complete finished (0)"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("merged: %q, want %q", got, want)
	}
	if a.Stats.Drops.Kernel != 2 {
		t.Errorf("Stats.Drops %+v", a.Stats.Drops)
	}
}
