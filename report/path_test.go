package report

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/internal/testenv"
)

// pathCases are issue #14's captures: those made by capgen (testdata/) and
// those of real stacks across a router with faults (testdata/netlab/, see
// its MANIFEST.md), each with the findings its connection must have, must
// not have, and words its verdict must hold. Independent of the goldens.
var pathCases = []struct {
	file        string
	stream      int
	want, never []string
	verdict     string
}{
	// Mid-stream teardown: not a failed handshake.
	{"midstream-teardown-tls12.pcap", 0, []string{"midstream"}, []string{"handshake_failed", "alert_reaction"}, "not observed"},
	// TLS 1.3 without keys: OpenSSL's 23-byte EncryptedExtensions is no alert.
	{"tls13-no-alpn.pcap", 0, nil, []string{"handshake_failed"}, "complete in 20 ms"},
	{"netlab/openssl-tls13.client.pcap", 0, nil, []string{"handshake_failed"}, "complete in 3 ms"},
	{"netlab/python-tls13.server.pcap", 0, nil, []string{"handshake_failed"}, "complete in"},
	{"tls13-server-alert-after-client-finished.pcap", 0, []string{"handshake_failed"}, nil, "failed: probable encrypted alert from server"},
	// A client giving up before the stall timeout keeps its stall facts.
	{"client-gives-up.pcap", 0, []string{"connection_closed"}, nil, "closed: client gave up after 520 ms waiting for ServerHello"},
	{"netlab/python-gives-up.client.pcap", 0, []string{"connection_closed"}, nil, "closed: client gave up after 500 ms waiting for ServerHello"},
	{"netlab/python-gives-up.server.pcap", 0, []string{"connection_closed"}, nil, "closed: client gave up after 500 ms waiting for ServerHello"},
	// One-sided captures: the absent side's silence is not judged.
	{"one-sided-client-only.pcap", 1, []string{"one_sided_capture"}, []string{"handshake_stalled"}, "unknown: no packet from the server"},
	{"netlab/one-sided.client.pcap", 0, []string{"one_sided_capture"}, []string{"handshake_stalled"}, "unknown: no packet from the server"},
	{"netlab/one-sided.server.pcap", 0, []string{"one_sided_capture"}, []string{"handshake_stalled"}, "unknown: no packet from the client"},
	// Capture loss versus network loss.
	{"capture-gap-certificate.pcap", 0, []string{"capture_gap"}, []string{"network_loss", "handshake_failed"}, "complete in 40 ms"},
	{"mtu-blackhole-client-side.pcap", 0, []string{"network_loss", "path_mtu_blackhole"}, []string{"capture_gap"}, "client waited 5.0 s for ServerHello"},
	{"mtu-blackhole-server-side.pcap", 0, []string{"network_loss", "path_mtu_blackhole"}, []string{"capture_gap"}, "client waited 5.0 s for ServerHello"},
	{"netlab/mtu-blackhole.client.pcap", 0, []string{"network_loss", "path_mtu_blackhole"}, []string{"capture_gap"}, "client waited 3.0 s for ServerHello"},
	{"netlab/mtu-blackhole.server.pcap", 0, []string{"network_loss", "path_mtu_blackhole"}, []string{"capture_gap"}, "client waited 3.0 s for ServerHello"},
	// The ClientHello's first segment lost: the server has its tail only.
	// Its full-size segment lost with every retransmission, the short tail
	// through: from either side, what a black hole looks like (the router
	// of the netlab one drops packets of 500 bytes and more).
	{"client-hello-tail-server-side.pcap", 0, []string{"network_loss", "path_mtu_blackhole"}, []string{"capture_gap"}, "server waited 5.0 s for ClientHello"},
	{"netlab/drop-client-hello-first-segment.server.pcap", 0, []string{"network_loss", "path_mtu_blackhole"}, []string{"capture_gap"}, "server waiting for ClientHello"},
	{"netlab/drop-client-hello-first-segment.client.pcap", 0, []string{"network_loss", "client_hello_retransmitted", "path_mtu_blackhole"}, []string{"capture_gap"}, "server waited"},
	// One full-size segment of the server's flight lost, its tail SACKed.
	{"netlab/mtu-blackhole-one-segment.client.pcap", 0, []string{"network_loss", "path_mtu_blackhole"}, []string{"capture_gap"}, "client waited 3.0 s for ServerHello"},
	{"netlab/mtu-blackhole-one-segment.server.pcap", 0, []string{"network_loss", "path_mtu_blackhole"}, []string{"capture_gap"}, "client waited 3.0 s for ServerHello"},
	{"client-hello-lost-client-side.pcap", 0, []string{"network_loss", "client_hello_retransmitted"}, []string{"capture_gap"}, "never acknowledged"},
	{"netlab/drop-client-hello.client.pcap", 0, []string{"network_loss", "client_hello_retransmitted"}, []string{"capture_gap"}, "never acknowledged"},
	// A reaction is not the cause.
	{"server-fin-client-alert.pcap", 0, []string{"connection_closed", "alert_reaction"}, []string{"handshake_failed"}, "closed by server after ClientHello"},
	{"netlab/server-fin-after-hello.client.pcap", 0, []string{"connection_closed", "alert_reaction"}, []string{"handshake_failed"}, "closed by server after ClientHello"},
	// Faults on the path.
	{"reset-injected-ttl.pcap", 0, []string{"connection_reset", "reset_injected"}, nil, "reset by server"},
	{"reset-injected-server-goes-on.pcap", 0, []string{"reset_injected"}, nil, "reset: a RST in the server's name, injected on the path (the server sent data"},
	{"netlab/rst-inject.client.pcap", 0, []string{"reset_injected"}, nil, "reset by server after ClientHello"},
	{"server-not-tls.pcap", 0, []string{"server_not_tls"}, nil, `"HTTP/1.1 400 Bad Request" (not TLS)`},
	{"netlab/server-not-tls.client.pcap", 0, []string{"server_not_tls"}, nil, `"HTTP/1.1 400 Bad Request" (not TLS)`},
	{"netlab/server-not-tls.server.pcap", 0, []string{"server_not_tls"}, nil, `"HTTP/1.1 400 Bad Request" (not TLS)`},
	{"mtu-icmp-frag-needed.pcap", 0, []string{"path_mtu"}, []string{"path_mtu_blackhole"}, "complete"},
	{"ipv6-packet-too-big.pcap", 0, []string{"path_mtu"}, nil, "complete"},
	{"netlab/mtu-icmp.server.pcap", 0, []string{"path_mtu"}, []string{"path_mtu_blackhole", "network_loss"}, "complete"},
	{"icmp-port-unreachable.pcap", 0, []string{"icmp_unreachable"}, []string{"handshake_stalled"}, "reset by ICMP port unreachable from 198.51.100.20"},
	{"icmp-admin-prohibited.pcap", 0, []string{"icmp_unreachable"}, nil, "reset by ICMP administratively prohibited from 203.0.113.1"},
	{"netlab/reject-icmp.client.pcap", 0, []string{"icmp_unreachable"}, nil, "reset by ICMP port unreachable from 10.81.1.1"},
	{"netlab/reject-icmp.client.pcap", 1, []string{"icmp_unreachable"}, nil, "reset by ICMP administratively prohibited from 10.81.1.1"},
}

func TestPathFindings(t *testing.T) {
	for _, tc := range pathCases {
		conns := connections(t, filepath.Join(testdata, tc.file))
		var c *Connection
		for _, x := range conns {
			if x.Stream == tc.stream {
				c = x
			}
		}
		if c == nil {
			t.Errorf("%s: no stream %d", tc.file, tc.stream)
			continue
		}
		checkVerdict(t, fmt.Sprintf("%s stream %d", tc.file, tc.stream), c, tc.want, tc.never, tc.verdict)
	}
}

// checkVerdict: the connection has every finding of want and none of
// never, and its verdict says verdict.
func checkVerdict(t *testing.T, what string, c *Connection, want, never []string, verdict string) {
	t.Helper()
	var codes []string
	for _, f := range c.Findings {
		codes = append(codes, f.Code)
	}
	for _, w := range want {
		if !slices.Contains(codes, w) {
			t.Errorf("%s: no %s among %v", what, w, codes)
		}
	}
	for _, n := range never {
		if slices.Contains(codes, n) {
			t.Errorf("%s: %s, which it must not have (%v)", what, n, codes)
		}
	}
	if !strings.Contains(c.Verdict, verdict) {
		t.Errorf("%s: verdict %q, want it to say %q", what, c.Verdict, verdict)
	}
}

// TestPathEvidence: the heuristic findings say their evidence.
func TestPathEvidence(t *testing.T) {
	cases := []struct{ file, code, says string }{
		{"reset-injected-ttl.pcap", "reset_injected", "its IP TTL is 64 while every other packet of the server's has 52"},
		{"reset-injected-ttl.pcap", "reset_injected", "route change or a load balancer"},
		{"reset-injected-server-goes-on.pcap", "reset_injected", "the server went on sending after it"},
		{"netlab/rst-inject.client.pcap", "reset_injected", "its IP TTL is 64 while every other packet of the server's has 63"},
		{"mtu-blackhole-server-side.pcap", "path_mtu_blackhole", "acknowledged (SACK) a 707-byte segment after it"},
		{"mtu-blackhole-client-side.pcap", "path_mtu_blackhole", "though the client announced MSS 1448"},
		{"netlab/mtu-blackhole-one-segment.client.pcap", "path_mtu_blackhole", "No segment larger than 186 bytes arrived from the server, though the client announced MSS 1460, and the 1.4 KiB before them never did"},
		{"netlab/mtu-blackhole-one-segment.server.pcap", "path_mtu_blackhole", "segment of 1448 bytes was sent 6 times and never acknowledged, while the client acknowledged (SACK) a 186-byte segment after it"},
		{"netlab/drop-client-hello-first-segment.server.pcap", "path_mtu_blackhole", "No segment larger than 365 bytes arrived from the client, though its MSS is 536"},
		{"mtu-icmp-frag-needed.pcap", "path_mtu", "from 203.0.113.1 reported a path MTU of 1000"},
		{"netlab/mtu-icmp.server.pcap", "path_mtu", "from 10.81.2.1 reported a path MTU of 1000"},
		{"one-sided-client-only.pcap", "one_sided_capture", "no packet from the server"},
		{"client-hello-tail-server-side.pcap", "network_loss", "later segments arrived (up to 74 bytes each)"},
	}
	for _, tc := range cases {
		found := false
		for _, c := range connections(t, filepath.Join(testdata, tc.file)) {
			for _, f := range c.Findings {
				if f.Code == tc.code && strings.Contains(f.Message, tc.says) {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("%s: no %s saying %q", tc.file, tc.code, tc.says)
		}
	}
}

// TestResetAfterEndNotInjected: real captures whose connections end with
// resets from another TTL than the server's (a stack or middlebox
// answering segments for a connection that has ended) raise no
// reset_injected. In tls_sgt.pcap the server answers the client's data
// after its FIN with a RST (an abortive close), and TTL-255 resets then
// answer each later segment; in test_decrypt.pcap the first reset, with
// TTL 255, comes after both FINs.
func TestResetAfterEndNotInjected(t *testing.T) {
	dir := testenv.NeedShared(t, "..")
	for _, tc := range []struct {
		file         string
		complete     int // at least, with a reset
		ttlDiffering int // of them, whose first server RST has another TTL (-1: any number)
	}{
		// The first RST is the server's own (TTL 61), the TTL-255 ones follow.
		{"mercury/unit_tests/pcaps/tls_sgt.pcap", 45, 0},
		{"mercury/test/data/test_decrypt.pcap", 3, -1},
	} {
		var complete, differing int
		for _, c := range connections(t, filepath.Join(dir, tc.file)) {
			r := c.Result()
			if c.Outcome != "complete" || r.TCP == nil {
				continue
			}
			s := &r.TCP.Side[decoder.Server]
			if s.RST.IsZero() && r.TCP.Side[decoder.Client].RST.IsZero() {
				continue
			}
			complete++
			if !s.RST.IsZero() && s.RSTTTL != s.TTL {
				differing++
			}
			checkVerdict(t, fmt.Sprintf("%s stream %d", tc.file, c.Stream), c, nil, []string{"reset_injected"}, "complete")
		}
		// The premises: without them the test would prove nothing.
		if complete < tc.complete {
			t.Errorf("%s: %d complete connections with a reset, want ≥ %d", tc.file, complete, tc.complete)
		}
		if tc.ttlDiffering < 0 && differing == 0 || tc.ttlDiffering >= 0 && differing != tc.ttlDiffering {
			t.Errorf("%s: %d whose first server RST has another TTL than the server's packets, want %d (-1: some)", tc.file, differing, tc.ttlDiffering)
		}
	}
}
