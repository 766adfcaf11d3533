package flows

import (
	"strings"
	"testing"

	"github.com/tlsscope/tlsscope/flows/capture"
)

// TestStreamIDRendering: TCP 7 and UDP 7 are two streams, and every way
// of naming one says which.
func TestStreamIDRendering(t *testing.T) {
	tcp, udp := StreamID{TransportTCP, 7}, StreamID{TransportQUIC, 7}
	for _, tc := range []struct {
		id                        StreamID
		str, name, filter, anchor string
	}{
		{tcp, "7", "stream 7", "tcp.stream eq 7", "stream-7"},
		{udp, "udp 7", "udp 7", "udp.stream eq 7", "stream-udp-7"},
	} {
		if got := tc.id.String(); got != tc.str {
			t.Errorf("%+v: String %q, want %q", tc.id, got, tc.str)
		}
		if got := tc.id.Name(); got != tc.name {
			t.Errorf("%+v: Name %q, want %q", tc.id, got, tc.name)
		}
		if got := tc.id.DisplayFilter(); got != tc.filter {
			t.Errorf("%+v: DisplayFilter %q, want %q", tc.id, got, tc.filter)
		}
		if got := tc.id.Anchor(); got != tc.anchor || strings.ContainsAny(got, " #") {
			t.Errorf("%+v: Anchor %q, want %q", tc.id, got, tc.anchor)
		}
	}
	if tcp.Compare(udp) >= 0 || udp.Compare(tcp) <= 0 || tcp.Compare(StreamID{TransportTCP, 8}) >= 0 || udp.Compare(udp) != 0 {
		t.Error("Compare does not order TCP before QUIC, each by number")
	}
}

// TestParseStreamID: the command line's --stream.
func TestParseStreamID(t *testing.T) {
	for in, want := range map[string]StreamID{
		"7": {TransportTCP, 7}, "tcp:7": {TransportTCP, 7}, "TCP:0": {TransportTCP, 0},
		"udp:7": {TransportQUIC, 7}, "udp 7": {TransportQUIC, 7}, " udp: 12 ": {TransportQUIC, 12},
	} {
		got, err := ParseStreamID(in)
		if err != nil || got != want {
			t.Errorf("%q: %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "+3", "x", "quic:1", "udp:", "udp:-2", "7:udp", "1e3", "udp:7x"} {
		if got, err := ParseStreamID(in); err == nil {
			t.Errorf("%q: %+v, want an error", in, got)
		}
	}
	// What String writes, ParseStreamID reads.
	for _, id := range []StreamID{{TransportTCP, 3}, {TransportQUIC, 3}} {
		if got, err := ParseStreamID(id.String()); err != nil || got != id {
			t.Errorf("%q: %+v, %v", id.String(), got, err)
		}
	}
}

// TestStreamNumbering: TCP connections and UDP conversations are numbered
// apart, from one allocator, and the fallback links name the other
// connection's stream with its transport.
func TestStreamNumbering(t *testing.T) {
	// alert-server-refuses' TCP connection comes first (tcp.stream 0);
	// tcp-fallback holds a QUIC attempt (udp.stream 0) and its fallback
	// (tcp.stream 1).
	rs, a := analyze(t, testdata+"/alert-server-refuses.pcap", testdata+"/quic/tcp-fallback.pcap")
	var ids []StreamID
	byID := map[StreamID]*Result{}
	for _, r := range rs {
		ids = append(ids, r.ID())
		byID[r.ID()] = r
	}
	want := []StreamID{{TransportTCP, 0}, {TransportTCP, 1}, {TransportQUIC, 0}}
	if len(ids) != len(want) || ids[0] != want[0] || ids[1] != want[1] || ids[2] != want[2] {
		t.Fatalf("streams %v, want %v", ids, want)
	}
	if a.Stats.TCPStreams != 2 {
		t.Errorf("Stats.TCPStreams %d, want 2", a.Stats.TCPStreams)
	}
	tcp, quic := byID[want[1]], byID[want[2]]
	if tcp.Fallback == nil || tcp.Fallback.ID() != quic.ID() || quic.Fallback == nil || quic.Fallback.ID() != tcp.ID() {
		t.Errorf("fallback links %+v, %+v; want each the other's stream", tcp.Fallback, quic.Fallback)
	}
}

// TestQUICKeepPackets: with KeepPackets a QUIC connection that did not
// complete carries its datagrams (for --write-failed), one that completed
// none.
func TestQUICKeepPackets(t *testing.T) {
	for file, wantKept := range map[string]bool{"quic/alpn-refused.pcap": true, "quic/udp-blocked.pcap": true, "quic/complete.pcap": false} {
		src, err := capture.OpenFile(testdata + "/" + file)
		if err != nil {
			t.Fatal(err)
		}
		frames := 0
		for {
			if _, err := src.Next(); err != nil {
				break
			}
			frames++
		}
		src.Close()
		src, err = capture.OpenFile(testdata + "/" + file)
		if err != nil {
			t.Fatal(err)
		}
		opts := DefaultOptions
		opts.KeepPackets = true
		a := NewAnalyzer(opts)
		if err := a.Run(src); err != nil {
			t.Fatal(err)
		}
		rs := a.Finish()
		src.Close()
		if len(rs) != 1 || rs[0].Transport != TransportQUIC {
			t.Fatalf("%s: %d results", file, len(rs))
		}
		r := rs[0]
		switch {
		case wantKept && (len(r.Packets) != frames || r.PacketsCut):
			t.Errorf("%s (%s): %d packets kept (cut %v), want all %d", file, r.Outcome, len(r.Packets), r.PacketsCut, frames)
		case !wantKept && len(r.Packets) != 0:
			t.Errorf("%s (%s): %d packets kept, want none", file, r.Outcome, len(r.Packets))
		}
		if a.kept != 0 {
			t.Errorf("%s: %d bytes still counted as kept after Finish", file, a.kept)
		}
	}
}
