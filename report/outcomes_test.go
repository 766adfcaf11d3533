package report

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/tlsscope/tlsscope/flows"
)

// TCP-only rows (no TLS byte, TLS expected on the port), by what TCP did.
const (
	tcpRefused       = "tcp_refused"        // SYN answered by RST
	tcpSYNUnanswered = "tcp_syn_unanswered" // SYN never answered
	tcpICMP          = "tcp_icmp_refused"   // SYN answered by an ICMP error
)

// outcomes is what each generated capture is, connection by connection in
// tcp.stream order (SOCKS tunnels skip a number, as in Wireshark): independent of the goldens, so that a verdict rewritten in
// the analyzer and accepted with -update still fails here.
var outcomes = map[string][]string{
	"after-handshake.pcap":           {"not_observed"},
	"alert-client-rejects-cert.pcap": {"failed"},
	"alert-server-refuses.pcap":      {"failed"},
	// A full chain, eight refused chains, one expiring soon (accepted),
	// one refused, and a client closing on an untrusted chain.
	"cert-problems.pcap":                   {"complete", "failed", "failed", "failed", "failed", "failed", "failed", "failed", "complete", "failed", "closed"},
	"alert-tls13-client-rejects-cert.pcap": {"failed"},
	"closed-after-client-hello.pcap":       {"closed"},
	"demo.pcapng":                          {"complete", "failed", "stalled"},
	"expired-cert.pcap":                    {"complete"},
	"incomplete-capture-ends.pcap":         {"incomplete", "complete"},
	"ipv6.pcap":                            {"complete"},
	"midstream.pcap":                       {"complete"},
	"reset-after-client-hello.pcap":        {"reset"},
	"server-flight-shuffled.pcap":          {"complete"},
	"sll2.pcap":                            {"complete"},
	"sni-mismatch.pcap":                    {"complete"},
	"split-client-hello.pcap":              {"complete"},
	"stall-after-server-flight.pcap":       {"stalled"},
	"stall-server-silent.pcap":             {"stalled"},
	"tcp-refused.pcap":                     {tcpRefused},
	"tcp-syn-unanswered.pcap":              {tcpSYNUnanswered},
	"tls12-client-cert.pcap":               {"complete"},
	"tls12-ecdhe-ticket.pcap":              {"complete"},
	"tls12-resume-ticket.pcap":             {"complete", "resumed"},
	"tls12-rsa-kex.pcap":                   {"complete"},
	"tls13-full.pcap":                      {"complete"},
	"tls13-hrr.pcap":                       {"complete"},
	"tls13-psk-resume.pcap":                {"complete", "resumed"},
	"two-interfaces.pcapng":                {"complete", "complete"},
	"vlan.pcap":                            {"complete"},
	// Issue #14 (see path_test.go for their findings).
	"capture-gap-certificate.pcap":                  {"complete"},
	"client-gives-up.pcap":                          {"closed"},
	"client-hello-lost-client-side.pcap":            {"stalled"},
	"client-hello-lost-long-wait.pcap":              {"stalled"},
	"client-hello-tail-server-side.pcap":            {"stalled"},
	"client-hello-head-server-side.pcap":            {"stalled", "complete"},
	"stall-idle-timeout.pcap":                       {"stalled", "complete"},
	"icmp-admin-prohibited.pcap":                    {tcpICMP},
	"icmp-port-unreachable.pcap":                    {tcpICMP},
	"ipv6-packet-too-big.pcap":                      {"complete"},
	"midstream-teardown-tls12.pcap":                 {"not_observed"},
	"mtu-blackhole-client-side.pcap":                {"stalled"},
	"mtu-blackhole-server-side.pcap":                {"stalled"},
	"mtu-icmp-frag-needed.pcap":                     {"complete"},
	"one-sided-client-only.pcap":                    {"incomplete", "incomplete"},
	"reset-injected-server-goes-on.pcap":            {"reset"},
	"reset-injected-ttl.pcap":                       {"reset"},
	"server-fin-client-alert.pcap":                  {"closed"},
	"server-not-tls.pcap":                           {"closed"},
	"socks5-interleaved.pcap":                       {"complete", "complete", "complete", "complete"},
	"socks5-two.pcap":                               {"complete", "complete"},
	"tls13-no-alpn.pcap":                            {"complete"},
	"tls13-server-alert-after-client-finished.pcap": {"failed"},
	// Issue #24: the capturing tool dropped packets while the first was
	// silent (stalled without the drops) and the second under way.
	"capture-dropped.pcapng": {"incomplete", "complete", "complete"},
	// Issue #15, read with their key logs (decrypt_test.go).
	"keys-tls12-aes256gcm.pcap":           {"complete"},
	"keys-tls12-alert.pcap":               {"complete"},
	"keys-tls12-cbc-sha256.pcap":          {"complete"},
	"keys-tls12-cbc.pcap":                 {"complete"},
	"keys-tls12-chacha.pcap":              {"complete"},
	"keys-tls12-gcm.pcap":                 {"complete"},
	"keys-tls12-resume-ticket.pcap":       {"complete", "resumed"},
	"keys-tls12-rsa.pcap":                 {"complete"},
	"keys-tls13-aes128.pcap":              {"complete"},
	"keys-tls13-aes256.pcap":              {"complete"},
	"keys-tls13-chacha.pcap":              {"complete"},
	"keys-tls13-client-rejects-cert.pcap": {"failed"},
	"keys-tls13-dsb.pcapng":               {"complete"},
	"keys-tls13-hrr.pcap":                 {"complete"},
	"keys-tls13-mtls.pcap":                {"complete"},
	"keys-tls13-tickets.pcap":             {"complete", "resumed"},
	"keys-tls13-wrong-keys.pcap":          {"complete"},
}

// outcomeOf is a connection's outcome, or the kind of a TCP-only row.
func outcomeOf(c *Connection) string {
	r := c.result
	if !r.TCPOnly() {
		return c.Outcome
	}
	switch {
	case r.EndedBy == flows.EndedICMP:
		return tcpICMP
	case r.Outcome == flows.Reset && r.TCP.SYNACK.IsZero():
		return tcpRefused
	case r.Outcome == flows.Stalled && r.TCP.SYNACK.IsZero():
		return tcpSYNUnanswered
	}
	return "tcp_only " + c.Outcome
}

// TestOutcomes checks the outcome of every stream of every generated
// capture, and that the captures cover every outcome and both TCP-only
// kinds.
func TestOutcomes(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testdata, "*.pcap*"))
	seen := map[string]bool{}
	for _, f := range files {
		base := filepath.Base(f)
		want, ok := outcomes[base]
		if !ok {
			t.Errorf("%s: not in the outcomes table; add what each stream is", base)
			continue
		}
		var got []string
		prev := -1
		for i, c := range connections(t, f) {
			if c.Stream <= prev {
				t.Errorf("%s: row %d is stream %d, after stream %d", base, i, c.Stream, prev)
			}
			prev = c.Stream
			if c.Outcome != string(c.result.Outcome) {
				t.Errorf("%s stream %d: outcome %q, result says %q", base, c.Stream, c.Outcome, c.result.Outcome)
			}
			got = append(got, outcomeOf(c))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: outcomes %q, want %q", base, got, want)
		}
		for _, o := range got {
			seen[o] = true
		}
	}
	for name := range outcomes {
		if !slices.Contains(files, filepath.Join(testdata, name)) {
			t.Errorf("%s: in the outcomes table but not in testdata", name)
		}
	}
	var all []string
	for _, o := range flows.Outcomes {
		all = append(all, string(o))
	}
	for _, o := range append(all, tcpRefused, tcpSYNUnanswered) {
		if !seen[o] {
			t.Errorf("no capture in testdata gives %s", o)
		}
	}
}

// TestProbableEncryptedAlert: a TLS 1.3 client that rejects the
// certificate sends its alert encrypted; it is reported as probable.
func TestProbableEncryptedAlert(t *testing.T) {
	conns := connections(t, filepath.Join(testdata, "alert-tls13-client-rejects-cert.pcap"))
	if len(conns) != 1 {
		t.Fatalf("%d connections, want 1", len(conns))
	}
	a := conns[0].result.Alert
	if a == nil || !a.Encrypted || !a.Probable || a.From.String() != "client" {
		t.Errorf("alert %+v, want a probable encrypted alert from the client", a)
	}
	if conns[0].Verdict != "failed: probable encrypted alert from client" {
		t.Errorf("verdict %q", conns[0].Verdict)
	}
}
