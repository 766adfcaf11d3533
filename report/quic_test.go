package report

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows"
)

// quicCases are the QUIC captures quic-go made (testdata/quic/MANIFEST.md),
// read with their key logs: each connection's verdict words, the findings
// it must and must not have, and facts of its quic object. Independent of
// the goldens.
var quicCases = []struct {
	file        string
	transport   string
	verdict     string
	want, never []string
	check       func(*Connection) string
}{
	{"complete.pcap", "quic", "complete in 20 ms", []string{"quic_client_hello_split"}, []string{"handshake_failed", "quic_no_response"}, func(c *Connection) string {
		if c.QUIC.Version != "0x00000001" || !c.QUIC.HandshakeDone || c.Decryption.Status != "decrypted" || len(c.Certificates) == 0 {
			return "want v1, HANDSHAKE_DONE, decrypted, certificates"
		}
		if !strings.HasPrefix(c.ClientHello.JA4, "q13d") || c.ClientHello.SNI != "quic.tlsscope.test" || c.QUIC.HelloPackets != 2 {
			return "want JA4 q13d…, SNI quic.tlsscope.test, a ClientHello over 2 Initials"
		}
		return ""
	}},
	{"complete-ipv6.pcap", "quic", "complete in 20 ms", nil, []string{"handshake_failed"}, nil},
	{"quic-v2.pcap", "quic", "complete in 20 ms", nil, []string{"handshake_failed"}, func(c *Connection) string {
		if c.QUIC.Version != "0x6b3343cf" || c.Decryption.Status != "decrypted" {
			return "want v2, decrypted"
		}
		return ""
	}},
	{"alpn-refused.pcap", "quic", "failed: server alert no_application_protocol (CONNECTION_CLOSE 0x178)", []string{"handshake_failed"}, nil, func(c *Connection) string {
		if c.QUIC.ErrorCode != "0x178" || c.QUIC.ErrorFrom != "server" || c.Outcome != "failed" {
			return "want error 0x178 from the server"
		}
		if len(c.Alerts) != 1 || c.Alerts[0].Description != "no_application_protocol" || c.Alerts[0].From != "server" {
			return "want the server's alert no_application_protocol among the alerts"
		}
		return ""
	}},
	{"client-rejects-certificate.pcap", "quic", "failed: client alert bad_certificate (CONNECTION_CLOSE 0x12a)", []string{"handshake_failed"}, nil, func(c *Connection) string {
		if len(c.Certificates) == 0 {
			return "want the server's certificates, read with the key log"
		}
		return ""
	}},
	{"udp-blocked.pcap", "quic", "stalled: no answer to 10 client Initials", []string{"quic_no_response", "handshake_stalled"}, []string{"one_sided_capture"}, nil},
	{"mtu-blackhole.pcap", "quic", "stalled: no answer to 10 client Initials", []string{"quic_no_response"}, nil, nil},
	{"retry.pcap", "quic", "complete in 40 ms", []string{"quic_retry"}, []string{"handshake_failed"}, func(c *Connection) string {
		if !c.QUIC.Retry || c.QUIC.RetryValid == nil || !*c.QUIC.RetryValid {
			return "want a valid Retry"
		}
		return ""
	}},
	{"version-negotiation.pcap", "quic", "complete", []string{"quic_version_negotiation"}, []string{"handshake_failed"}, func(c *Connection) string {
		if vn := c.QUIC.VersionNegotiation; vn == nil || vn.Offered != "0x6b3343cf" || !slices.Contains(vn.Supported, "0x00000001") || c.Decryption.Status != "decrypted" {
			return "want VN offered v2, supported v1, and the v1 handshake decrypted"
		}
		return ""
	}},
	{"version-negotiation-fails.pcap", "quic", "failed: version negotiation: the server supports 0x00000001, the client offered 0x6b3343cf", []string{"quic_version_negotiation", "handshake_failed"}, nil, nil},
	// The server's ACK frames acknowledge the first of the ClientHello's
	// two Initials and never the second: lost on the way (issue #23, case 4).
	{"split-client-hello-dropped.pcap", "quic", "stalled: server waited 3.8 s for ClientHello, only 1 of its 2 Initial packets acknowledged (the rest lost in the network)", []string{"handshake_stalled", "quic_client_hello_split"}, nil, func(c *Connection) string {
		if c.QUIC.HelloAcked != 1 || c.Stall == nil || c.Stall.WaitingFor != "client" {
			return "want 1 of the ClientHello's Initials acknowledged, the client owing it"
		}
		return ""
	}},
	// Seen at the server: half a ClientHello, acknowledged; the client owes the rest.
	{"split-client-hello-dropped-server-side.pcap", "quic", "incomplete: the capture ends 0 ms after the server got 1.2 KiB of a 1.5 KiB ClientHello (client owes the rest)", nil, []string{"missing_acks"}, nil},
	{"server-flight-lost.pcap", "quic", "stalled: server silent 3.2 s after its ServerHello (owes EncryptedExtensions)", []string{"handshake_stalled"}, nil, nil},
	{"server-initial-lost.pcap", "quic", "complete", nil, []string{"handshake_failed", "handshake_stalled"}, func(c *Connection) string {
		// Its Handshake packets came before the ServerHello that names
		// their keys: held, then opened.
		if c.Decryption.Status != "decrypted" || len(c.Certificates) == 0 {
			return "want the early Handshake packets opened once the ServerHello came"
		}
		return ""
	}},
	{"nat-rebinding.pcap", "quic", "complete in 20 ms", []string{"quic_migration"}, nil, func(c *Connection) string {
		if len(c.QUIC.UDPStreams) != 2 || c.QUIC.Rebinds != 1 {
			return "want one connection over 2 udp.streams"
		}
		return ""
	}},
	{"tcp-fallback.pcap", "quic", "no answer to 8 client Initials", []string{"quic_no_response", "quic_fallback_to_tcp"}, nil, func(c *Connection) string {
		if c.Fallback == nil || c.Fallback.Transport != "tcp" {
			return "want a fallback to TCP"
		}
		return ""
	}},
	// A transport error that is no TLS alert: the reason names QUIC's error.
	{"server-refuses.pcap", "quic", "failed: server closed with CONNECTION_REFUSED (0x2)", []string{"handshake_failed"}, []string{"handshake_stalled"}, func(c *Connection) string {
		if c.Reason != "quic_close" || c.ReasonSide != "server" || len(c.Alerts) != 0 {
			return "want reason quic_close by the server, and no alert"
		}
		return ""
	}},
	// The server's Handshake packets without its Initial: the client
	// cannot open them and waits for the ServerHello.
	{"server-initials-stripped.pcap", "quic", "stalled: client waited 5.1 s for the server's Initial (ServerHello); its 6 Handshake packets came without it", []string{"handshake_stalled"}, []string{"quic_no_response"}, func(c *Connection) string {
		if c.Reason != "server_initial_missing" || c.ReasonSide != "server" || c.Stall == nil || c.Stall.WaitingFor != "server" {
			return "want reason server_initial_missing, the server owing"
		}
		return ""
	}},
	{"tcp-fallback.pcap", "tcp", "complete in 20 ms", []string{"quic_fallback_to_tcp"}, nil, func(c *Connection) string {
		if c.Fallback == nil || c.Fallback.Transport != "quic" || c.QUIC != nil {
			return "want the QUIC attempt it followed"
		}
		return ""
	}},
}

func TestQUICVerdicts(t *testing.T) {
	for _, tc := range quicCases {
		var c *Connection
		n := 0
		for _, x := range connections(t, filepath.Join(testdata, "quic", tc.file)) {
			if x.Transport == tc.transport {
				c = x
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: %d %s connections, want 1", tc.file, n, tc.transport)
			continue
		}
		checkVerdict(t, tc.file+" "+tc.transport, c, tc.want, tc.never, tc.verdict)
		if tc.check != nil {
			if msg := tc.check(c); msg != "" {
				t.Errorf("%s %s: %s (quic %+v)", tc.file, tc.transport, msg, c.QUIC)
			}
		}
	}
}

// TestQUICStallWords: stalls QUIC tells apart from a silent server say
// so, in the verdict and in their finding: the server's Handshake packets
// without its Initial, and a Retry loop.
func TestQUICStallWords(t *testing.T) {
	for _, tc := range []struct {
		facts         flows.QUICFacts
		reason        flows.ReasonKind
		verdict       string
		code, message string
		sev           Severity
	}{
		{flows.QUICFacts{Packets: [2][3]int{{4, 0, 0}, {0, 2, 0}}, NClientInitials: 4}, flows.ReasonServerInitialMissing,
			"stalled: client waited 4.0 s for the server's Initial (ServerHello); its 2 Handshake packets came without it",
			"handshake_stalled", "its Initial, with the ServerHello that gives their keys, never did", SevError},
		{flows.QUICFacts{Packets: [2][3]int{{5, 0, 0}, {}}, NClientInitials: 5, Retry: true, RetryValid: true, Retries: 4}, flows.ReasonRetryLoop,
			"stalled: the server answered with Retry 4 times and never with a ServerHello (Retry loop)",
			"quic_retry_loop", "a Retry loop", SevError},
	} {
		r := &flows.Result{Transport: flows.TransportQUIC, Outcome: flows.Stalled, Reason: flows.Reason{Kind: tc.reason, Side: decoder.Server}, HS: &decoder.Handshake{}, QUIC: &tc.facts,
			Stall: &flows.Stall{Waiting: decoder.Server, Next: flows.OwedMsg(decoder.MsgServerHello), Silent: 4 * time.Second}}
		c := Build(r)
		if c.Verdict != tc.verdict {
			t.Errorf("verdict %q, want %q", c.Verdict, tc.verdict)
		}
		found := false
		for _, f := range c.Findings {
			found = found || f.Code == tc.code && f.Severity == tc.sev && strings.Contains(f.Message, tc.message)
		}
		if !found {
			t.Errorf("%s: no %s %s saying %q among %v", tc.verdict, tc.sev, tc.code, tc.message, c.Findings)
		}
	}
}
