package capgen

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlsscope/tlsscope/internal/testenv"
)

// lossFields are what TestTSharkSeesLoss asks tshark about every packet.
var lossFields = []string{
	"ip.src", "ipv6.src", "ip.ttl", "ipv6.hlim", "tcp.srcport", "tcp.dstport", "tcp.flags.syn", "tcp.flags.reset", "tcp.len",
	"tcp.options.sack_le", "tcp.analysis.lost_segment", "tcp.analysis.ack_lost_segment", "tcp.analysis.duplicate_ack",
	"tcp.analysis.retransmission", "icmp.type", "icmp.code", "icmp.mtu", "icmpv6.type", "icmpv6.code", "icmpv6.mtu",
}

// tsharkPackets reads every packet of file with lossFields (cached).
func tsharkPackets(t *testing.T, file string) []testenv.Frame {
	t.Helper()
	args := append(testenv.TSharkArgs(file), "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|")
	for _, f := range lossFields {
		args = append(args, "-e", f)
	}
	out, err := testenv.TSharkOutput(t, file, args...)
	if err != nil {
		t.Fatalf("tshark %s: %v", filepath.Base(file), err)
	}
	var frames []testenv.Frame
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		f := testenv.Frame{}
		for i, v := range strings.Split(line, "\t") {
			if v != "" && i < len(lossFields) {
				f[lossFields[i]] = strings.Split(v, "|")
			}
		}
		frames = append(frames, f)
	}
	return frames
}

type lossCheck struct {
	what string
	n    func(int) bool // on the number of packets that match
	is   func(testenv.Frame) bool
}

func has(field string) func(testenv.Frame) bool {
	return func(f testenv.Frame) bool { return len(f[field]) > 0 }
}
func is(field, v string) func(testenv.Frame) bool {
	return func(f testenv.Frame) bool { return f.Has(field, v) }
}
func all(ps ...func(testenv.Frame) bool) func(testenv.Frame) bool {
	return func(f testenv.Frame) bool {
		for _, p := range ps {
			if !p(f) {
				return false
			}
		}
		return true
	}
}
func not(p func(testenv.Frame) bool) func(testenv.Frame) bool {
	return func(f testenv.Frame) bool { return !p(f) }
}
func exactly(n int) func(int) bool { return func(k int) bool { return k == n } }

var (
	fromServer = is("tcp.srcport", "443")
	fromClient = is("tcp.dstport", "443")
	notICMP    = all(not(has("icmp.type")), not(has("icmpv6.type")))
	dupACK     = all(has("tcp.analysis.duplicate_ack"), has("tcp.options.sack_le"))
	rst        = all(is("tcp.flags.reset", "1"), notICMP)
	synACK     = all(is("tcp.flags.syn", "1"), fromServer)
)

// lossChecks: what tshark must flag in each loss capture.
var lossChecks = map[string][]lossCheck{
	"mtu-blackhole-client-side.pcap": {
		{"previous segment not captured (the lost full-size segments)", exactly(1), all(has("tcp.analysis.lost_segment"), fromServer)},
		{"a duplicate ACK with SACK from the client", exactly(1), all(dupACK, fromClient)},
		{"no retransmission (lost on the way here)", exactly(0), has("tcp.analysis.retransmission")},
		{"the client's RST", exactly(1), all(rst, fromClient)},
	},
	"mtu-blackhole-server-side.pcap": {
		{"retransmissions of the first full-size segment", exactly(4), all(has("tcp.analysis.retransmission"), fromServer, is("tcp.len", "1448"))},
		{"a duplicate ACK with SACK from the client", exactly(1), all(dupACK, fromClient)},
		{"nothing flagged lost: the capture saw all", exactly(0), has("tcp.analysis.lost_segment")},
	},
	"mtu-icmp-frag-needed.pcap": {
		{"ICMP fragmentation needed, MTU 1000, from the router, quoting port 443", exactly(1),
			all(is("icmp.type", "3"), is("icmp.code", "4"), is("icmp.mtu", "1000"), is("ip.src", "203.0.113.1"), fromServer)},
		{"a duplicate ACK with SACK for the small last segment", exactly(1), all(dupACK, fromClient)},
		{"the full-size segments resent, and the response later, cut to 960 bytes", exactly(4), all(fromServer, notICMP, is("tcp.len", "960"))},
	},
	"capture-gap-certificate.pcap": {
		{"previous segment not captured", exactly(1), has("tcp.analysis.lost_segment")},
		{"ACKed segment that wasn't captured", exactly(1), all(has("tcp.analysis.ack_lost_segment"), fromClient)},
		{"no retransmission, no duplicate ACK: the network lost nothing", exactly(0),
			func(f testenv.Frame) bool {
				return has("tcp.analysis.retransmission")(f) || has("tcp.analysis.duplicate_ack")(f)
			}},
	},
	"client-hello-tail-server-side.pcap": {
		{"previous segment not captured (the ClientHello's first segment)", exactly(1), all(has("tcp.analysis.lost_segment"), fromClient)},
		{"duplicate ACKs with SACK from the server (the tail, the FIN)", exactly(2), all(dupACK, fromServer)},
	},
	"client-hello-lost-client-side.pcap": {
		{"retransmissions of the ClientHello", exactly(5), all(has("tcp.analysis.retransmission"), fromClient, is("tcp.len", "246"))},
		{"the server's duplicate ACK SACKing only the FIN", exactly(1), all(dupACK, fromServer)},
	},
	"client-hello-lost-long-wait.pcap": {
		{"retransmissions of the ClientHello", exactly(8), all(has("tcp.analysis.retransmission"), fromClient, is("tcp.len", "246"))},
		{"the server's duplicate ACK SACKing only the FIN", exactly(1), all(dupACK, fromServer)},
	},
	"reset-injected-ttl.pcap": {
		{"the SYN-ACK with TTL 52", exactly(1), all(synACK, is("ip.ttl", "52"))},
		{"the RST from the server's address with TTL 64", exactly(1), all(rst, fromServer, is("ip.ttl", "64"))},
	},
	"reset-injected-server-goes-on.pcap": {
		{"the RST from the server's address with the server's TTL 52", exactly(1), all(rst, fromServer, is("ip.ttl", "52"))},
		{"the server's data after it, TTL 52", exactly(4), all(fromServer, notICMP, not(is("tcp.len", "0")), is("ip.ttl", "52"))},
		{"the client's RSTs answering it", exactly(4), all(rst, fromClient)},
	},
	"icmp-port-unreachable.pcap": {
		{"ICMP port unreachable from the server's address, quoting the SYN to 443", exactly(3),
			all(is("icmp.type", "3"), is("icmp.code", "3"), is("ip.src", "198.51.100.20"), fromClient, is("ip.ttl", "52"))},
		{"the SYN sent again", exactly(2), all(has("tcp.analysis.retransmission"), is("tcp.flags.syn", "1"), notICMP)},
	},
	"icmp-admin-prohibited.pcap": {
		{"ICMP administratively prohibited from the router, quoting the SYN to 443", exactly(3),
			all(is("icmp.type", "3"), is("icmp.code", "13"), is("ip.src", "203.0.113.1"), fromClient)},
		{"the SYN sent again", exactly(2), all(has("tcp.analysis.retransmission"), is("tcp.flags.syn", "1"), notICMP)},
	},
	"ipv6-packet-too-big.pcap": {
		{"ICMPv6 packet too big, MTU 1280, from the router, quoting port 443", exactly(1),
			all(is("icmpv6.type", "2"), is("icmpv6.mtu", "1280"), is("ipv6.src", "2001:db8:ff::1"), fromServer)},
		{"the full-size segments resent cut to 1220 bytes", exactly(3), all(fromServer, notICMP, is("tcp.len", "1220"))},
	},
}

// TestTSharkSeesLoss checks that tshark reads the loss captures as a
// real capture of those faults: its TCP analysis flags, TTLs and ICMP.
func TestTSharkSeesLoss(t *testing.T) {
	p := newPKI()
	for _, s := range append(lossScenarios(p), laterLossScenarios(p)...) {
		t.Run(s.Name, func(t *testing.T) {
			checks, ok := lossChecks[s.Name]
			if !ok {
				t.Fatal("no tshark checks for this scenario")
			}
			frames := tsharkPackets(t, filepath.Join(testdata, s.Name))
			for _, c := range checks {
				n := 0
				for _, f := range frames {
					if c.is(f) {
						n++
					}
				}
				if !c.n(n) {
					t.Errorf("%s: %d packets", c.what, n)
				}
			}
		})
	}
}
