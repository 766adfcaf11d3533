//go:build netlab

package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The DTLS scenarios' checks (issue #26): tshark reads each capture and
// must find the fault as designed. tlsscope's verdicts are checked with
// Expect as for the other scenarios (verdicts: each outcome and its
// findings); the reason codes of the committed captures are pinned in
// report/reasons_test.go and flows/dtlsverdict_test.go (Vantage.Reason
// says them in words: "cookie exchange failed" is cookie_not_returned).
//
//	scenario                  client vantage                                   server vantage
//	dtls-openssl-listen       complete [hello_verify_request]                  complete [hello_verify_request]
//	dtls-openssl-nolisten     complete [hello_verify_request]                  complete [hello_verify_request]
//	dtls-openssl-dtls10       complete [hello_verify_request], DTLS 1.0        complete [hello_verify_request]
//	dtls-openssl-mtu          complete [hello_verify_request], fragments       complete [hello_verify_request]
//	dtls-gnutls               complete [hello_verify_request]                  complete [hello_verify_request]
//	dtls-pion-srtp            complete, no cookie, use_srtp 0x0007              complete
//	dtls-pion-dtls13          complete (DTLS 1.3, HRR with a cookie)           complete
//	dtls-no-answer            stalled [client_hello_retransmitted]:            stalled: cookie exchange failed
//	                          4 ClientHellos in 7 s, server owes HVR/SH        [hello_verify_request, client_hello_retransmitted]
//	dtls-drop-flight-once     complete [hello_verify_request,                  complete [..., server_flight_retransmitted]
//	                          client_hello_retransmitted]
//	dtls-mtu-blackhole        stalled [path_mtu_blackhole,                     stalled [path_mtu_blackhole,
//	                          client_hello_retransmitted]                      server_flight_retransmitted]
//	dtls-mtu-icmp             complete [client_hello_retransmitted]            complete [path_mtu, server_flight_retransmitted]
//	dtls-cookie-lost          stalled: server owes ServerHello                 stalled: cookie exchange failed
//	dtls-client-rejects-cert  failed: client's fatal unknown_ca               failed: client's fatal unknown_ca
//
// (The authoritative copy is each scenario's Expect in scenarios_dtls.go,
// printed in MANIFEST.md; TestDTLSExpectations keeps the two in step.)
func init() {
	for name, check := range dtlsChecks {
		checks[name] = check
	}
}

// dtlsVerdictTable is the table above as data: scenario → the client's
// and the server's expected outcome.
var dtlsVerdictTable = map[string][2]string{
	"dtls-openssl-listen":      {"complete", "complete"},
	"dtls-openssl-nolisten":    {"complete", "complete"},
	"dtls-openssl-dtls10":      {"complete", "complete"},
	"dtls-openssl-mtu":         {"complete", "complete"},
	"dtls-gnutls":              {"complete", "complete"},
	"dtls-pion-srtp":           {"complete", "complete"},
	"dtls-pion-dtls13":         {"complete", "complete"},
	"dtls-no-answer":           {"stalled", "stalled"},
	"dtls-drop-flight-once":    {"complete", "complete"},
	"dtls-mtu-blackhole":       {"stalled", "stalled"},
	"dtls-mtu-icmp":            {"complete", "complete"},
	"dtls-cookie-lost":         {"stalled", "stalled"},
	"dtls-client-rejects-cert": {"failed", "failed"},
}

// TestDTLSExpectations: every DTLS scenario has one connection with an
// expected outcome and reason from each vantage, the same as the table.
func TestDTLSExpectations(t *testing.T) {
	n := 0
	for _, s := range Scenarios {
		if !isDTLS(s.Name) {
			continue
		}
		n++
		want, ok := dtlsVerdictTable[s.Name]
		if !ok {
			t.Errorf("%s: not in dtlsVerdictTable", s.Name)
			continue
		}
		x, ok := s.Expect["main"]
		if !ok || len(s.Expect) != 1 {
			t.Errorf("%s: Expect %v, want one connection, main", s.Name, s.Expect)
			continue
		}
		for i, v := range []Vantage{x.Client, x.Server} {
			if v.Outcome != want[i] || v.Reason == "" {
				t.Errorf("%s: vantage %d: %q (reason %q), want %q with a reason", s.Name, i, v.Outcome, v.Reason, want[i])
			}
		}
	}
	if n != len(dtlsVerdictTable) {
		t.Errorf("%d DTLS scenarios, %d in the table", n, len(dtlsVerdictTable))
	}
}

var (
	fromServerD = fmt.Sprintf("ip.src == %s && udp.srcport == %d", serverAddr, dtlsPort)
	fromClientD = fmt.Sprintf("ip.src == %s && udp.dstport == %d", clientAddr, dtlsPort)
)

// hs matches DTLS handshake messages of type ty.
func hs(ty int) string { return fmt.Sprintf("dtls.handshake.type == %d", ty) }

// DTLS handshake types (RFC 6347 §4.3.2).
const (
	hsClientHello       = 1
	hsServerHello       = 2
	hsHelloVerify       = 3
	hsCertificate       = 11
	hsServerHelloDone   = 14
	hsClientKeyExchange = 16
	hsFinished          = 20
)

// withCookie matches a ClientHello that returns a cookie.
var withCookie = hs(hsClientHello) + " && dtls.handshake.cookie_length > 0"

// dtls12Complete: a complete DTLS 1.2 (or 1.0) handshake in both
// captures, without loss: one ClientHello with a cookie after one
// HelloVerifyRequest (hvr) or none of either, one ServerHello, both
// Finished messages read with the key log and not without, the client's
// data, and no alert but close_notify.
func dtls12Complete(hvr bool) func(c, s *capt) {
	return func(c, s *capt) {
		for _, x := range []*capt{c, s} {
			if hvr {
				x.want(fromClientD+" && "+hs(hsClientHello), 2, 2)
				x.want(fromServerD+" && "+hs(hsHelloVerify), 1, 1)
				x.want(fromClientD+" && "+withCookie, 1, 1)
			} else {
				x.want(fromClientD+" && "+hs(hsClientHello), 1, 1)
				x.want(hs(hsHelloVerify), 0, 0)
				x.want(withCookie, 0, 0)
			}
			x.want(fromServerD+" && "+hs(hsServerHello), 1, 1)
			x.want(fromServerD+" && "+hs(hsServerHelloDone), 1, 1)
			x.want(fromClientD+" && "+hs(hsClientKeyExchange), 1, 1)
			for _, from := range []string{fromClientD, fromServerD} {
				f := from + " && " + hs(hsFinished)
				x.wantKeys(f, 1, 1)
				x.want(f, 0, 0)
			}
			x.want(fromClientD+" && dtls.record.content_type == 23", 1, -1)
			x.want("dtls.alert_message.desc != 0", 0, 0)
			x.want("dtls.alert_message.level == 2", 0, 0)
		}
	}
}

// times are the capture times of the frames matching filter.
func (c *capt) times(filter string) []float64 {
	var ts []float64
	for _, r := range c.rows(filter, "frame.time_relative") {
		f, _ := strconv.ParseFloat(r[1], 64)
		ts = append(ts, f)
	}
	return ts
}

// backoff checks that the gaps between the frames matching filter double
// from first (OpenSSL's and pion's retransmission timers: 1 s, 2 s, 4 s),
// each within 0.3 s.
func (c *capt) backoff(filter string, first float64) {
	c.t.Helper()
	ts := c.times(filter)
	gap := first
	for i := 1; i < len(ts); i++ {
		if d := ts[i] - ts[i-1]; d < gap-0.3 || d > gap+0.3 {
			c.t.Errorf("%s: %q: gap %d is %.3f s, want about %.0f s (times %v)", filepath.Base(c.file), filter, i, d, gap, ts)
		}
		gap *= 2
	}
}

// keyLogRandoms are the client randoms of a key log's lines, by label.
func keyLogRandoms(t *testing.T, file string) map[string][]string {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) == 3 {
			m[fs[0]] = append(m[fs[0]], fs[1])
		}
	}
	return m
}

// hrrRandom is the ServerHello.random of a HelloRetryRequest (RFC 8446
// §4.1.3), which DTLS 1.3 keeps (RFC 9147 §5.3).
const hrrRandom = "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"

var dtlsChecks = map[string]func(c, s *capt){
	"dtls-openssl-listen": func(c, s *capt) {
		dtls12Complete(true)(c, s)
		// With -listen the socket is connected and OpenSSL knows the path
		// MTU: the whole flight in one datagram.
		for _, x := range []*capt{c, s} {
			x.want(fromServerD+" && "+hs(hsServerHello)+" && "+hs(hsCertificate)+" && "+hs(hsServerHelloDone), 1, 1)
		}
	},
	"dtls-openssl-nolisten": func(c, s *capt) {
		dtls12Complete(true)(c, s)
		// Without -listen s_server's socket is not connected, its MTU
		// query fails, and OpenSSL falls back to its minimum (256 bytes of
		// IP): the Certificate goes in fragments.
		for _, x := range []*capt{c, s} {
			x.want(fromServerD+" && "+hs(hsCertificate), 3, -1)
			x.want(fromServerD+" && dtls && ip.len > 256", 0, 0)
			x.want(fromServerD+" && "+hs(hsCertificate)+" && dtls.handshake.fragment_offset > 0", 3, -1)
		}
	},
	"dtls-openssl-dtls10": func(c, s *capt) {
		dtls12Complete(true)(c, s)
		for _, x := range []*capt{c, s} {
			x.want("dtls.record.version == 0xfefd", 0, 0)
			x.want("dtls.record.version == 0xfeff", 8, -1)
			// ECDHE-ECDSA-AES256-SHA: a CBC suite, explicit IVs.
			x.want(fromServerD+" && dtls.handshake.version == 0xfeff && dtls.handshake.ciphersuite == 0xc00a", 1, 1)
		}
	},
	"dtls-openssl-mtu": func(c, s *capt) {
		dtls12Complete(true)(c, s)
		for _, x := range []*capt{c, s} {
			x.want("dtls && ip.len > 500", 0, 0)
			x.want(fromServerD+" && "+hs(hsCertificate), 3, -1)
			x.want(fromServerD+" && "+hs(hsCertificate)+" && dtls.handshake.fragment_offset > 0", 2, -1)
		}
	},
	"dtls-gnutls": func(c, s *capt) {
		dtls12Complete(true)(c, s)
		for _, x := range []*capt{c, s} {
			// GnuTLS's ClientHello record says DTLS 1.0, the handshake 1.2.
			x.want(fromClientD+" && "+hs(hsClientHello)+" && dtls.record.version == 0xfeff && dtls.handshake.version == 0xfefd", 2, 2)
			x.want(fromServerD+" && "+hs(hsServerHello)+" && dtls.handshake.version == 0xfefd", 1, 1)
			x.wantKeys(fromServerD+" && dtls.record.content_type == 23", 1, -1)
		}
	},
	"dtls-pion-srtp": func(c, s *capt) {
		dtls12Complete(false)(c, s)
		for _, x := range []*capt{c, s} {
			r := x.rows(fromClientD+" && "+hs(hsClientHello), "dtls.use_srtp.protection_profile")
			if len(r) != 1 || r[0][1] != "0x0007,0x0008,0x0001,0x0002" {
				x.t.Errorf("%s: the client's use_srtp profiles %v, want 0x0007,0x0008,0x0001,0x0002", x.file, r)
			}
			x.want(fromServerD+" && "+hs(hsServerHello)+" && dtls.use_srtp.protection_profile == 0x0007", 1, 1)
		}
	},
	"dtls-pion-dtls13": func(c, s *capt) {
		keys := keyLogRandoms(c.t, c.keys)
		for _, x := range []*capt{c, s} {
			// A HelloRetryRequest (pion asks for X25519MLKEM768, 0x11ec,
			// with a cookie), the second ClientHello with the cookie, then
			// the ServerHello; all DTLS 1.3.
			x.want(fromClientD+" && "+hs(hsClientHello)+" && dtls.handshake.extensions.supported_version == 0xfefc", 2, 2)
			x.want(fromServerD+" && "+hs(hsServerHello)+" && dtls.handshake.random == "+hrrRandom, 1, 1)
			x.want(fromServerD+" && "+hs(hsServerHello)+" && dtls.handshake.extensions.supported_version == 0xfefc", 2, 2)
			x.want(fromClientD+" && "+hs(hsClientHello)+" && dtls.handshake.extensions.cookie_len > 0", 1, 1)
			x.want(fromServerD+" && "+hs(hsServerHello)+" && dtls.handshake.extensions_key_share_group == 0x11ec", 2, 2)
			// tshark 4.0 cannot read DTLS 1.3's unified header (RFC 9147
			// §4): the encrypted records are bare UDP to it, both ways.
			x.want(fromServerD+" && !dtls && !icmp", 2, -1)
			x.want(fromClientD+" && !dtls && !icmp", 2, -1)
			// Both ClientHellos carry the same random; the key log's
			// secrets are this connection's.
			r := x.rows(fromClientD+" && "+hs(hsClientHello)+" && dtls.handshake.random", "dtls.handshake.random")
			if len(r) == 0 {
				x.t.Fatalf("%s: no ClientHello random", x.file)
			}
			for _, label := range []string{"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"} {
				if !slices.Contains(keys[label], r[0][1]) {
					x.t.Errorf("%s: no %s for client random %s in %s", x.file, label, r[0][1], c.keys)
				}
			}
		}
	},
	"dtls-no-answer": func(c, s *capt) {
		// The client's capture: its ClientHello again and again on its
		// doubling timer, and nothing from the server.
		c.want(fromClientD+" && "+hs(hsClientHello), 4, 4)
		c.want(withCookie, 0, 0)
		c.want("ip.src == "+serverAddr, 0, 0)
		c.want("icmp", 0, 0)
		c.backoff(fromClientD+" && "+hs(hsClientHello), 1)
		// The server's: each answered by a HelloVerifyRequest that the
		// router drops.
		s.want(fromClientD+" && "+hs(hsClientHello), 4, 4)
		s.want(fromServerD+" && "+hs(hsHelloVerify), 4, 4)
		s.want(hs(hsServerHello), 0, 0)
	},
	"dtls-drop-flight-once": func(c, s *capt) {
		for _, x := range []*capt{c, s} {
			x.want(fromServerD+" && "+hs(hsHelloVerify), 1, 1)
			// The client resent its ClientHello with the cookie when its
			// timer fired, about a second after the first.
			x.want(fromClientD+" && "+withCookie, 2, 2)
			x.backoff(fromClientD+" && "+withCookie, 1)
			x.want(fromClientD+" && "+hs(hsClientKeyExchange), 1, 1)
			for _, from := range []string{fromClientD, fromServerD} {
				x.wantKeys(from+" && "+hs(hsFinished), 1, 1)
			}
			x.want("dtls.alert_message.level == 2", 0, 0)
		}
		// The flight twice at the server (first in one datagram, then
		// resent message by message), once at the client.
		s.want(fromServerD+" && "+hs(hsServerHello), 2, 2)
		s.want(fromServerD+" && "+hs(hsServerHello)+" && "+hs(hsServerHelloDone)+" && ip.len >= 500", 1, 1)
		c.want(fromServerD+" && "+hs(hsServerHello), 1, 1)
		c.want(fromServerD+" && ip.len >= 500", 1, 1) // the resent Certificate alone
	},
	"dtls-mtu-blackhole": func(c, s *capt) {
		// The server sends (and resends) its flight with datagrams of
		// 1000 bytes and more; the client gets only the smaller ones.
		s.want(fromServerD+" && "+hs(hsCertificate)+" && ip.len >= 1000", 6, -1)
		s.want(fromServerD+" && "+hs(hsServerHello), 3, -1)
		c.want("ip.len >= 1000", 0, 0)
		c.want(fromServerD+" && "+hs(hsServerHello), 3, -1)
		c.want(fromServerD+" && "+hs(hsCertificate), 3, -1)
		c.want(fromServerD+" && "+hs(hsServerHelloDone), 3, -1)
		for _, x := range []*capt{c, s} {
			x.want(fromClientD+" && "+hs(hsClientHello), 3, -1)
			x.backoff(fromClientD+" && "+hs(hsClientHello), 1)
			x.want(hs(hsClientKeyExchange), 0, 0)
			x.want("icmp", 0, 0)
			x.want(hs(hsHelloVerify), 0, 0)
		}
	},
	"dtls-mtu-icmp": func(c, s *capt) {
		// The router's fragmentation-needed reaches the server, which
		// then fragments its datagrams at the IP layer.
		s.want(fmt.Sprintf("icmp.type == 3 && icmp.code == 4 && icmp.mtu == 1000 && udp.srcport == %d", dtlsPort), 1, -1)
		c.want("icmp.type == 3 && icmp.code == 4", 0, 0)
		for _, x := range []*capt{c, s} {
			// First IP fragments: tshark reads their UDP header only in
			// the frame that completes the datagram.
			x.want("ip.src == "+serverAddr+" && ip.flags.mf == 1", 2, -1)
			x.want(fromClientD+" && "+hs(hsClientHello), 2, 2)
			x.want(fromServerD+" && "+hs(hsServerHello), 2, 2)
			x.want(fromClientD+" && "+hs(hsClientKeyExchange), 1, 1)
			for _, from := range []string{fromClientD, fromServerD} {
				x.wantKeys(from+" && "+hs(hsFinished), 1, 1)
			}
		}
		c.want("ip.len > 1000", 0, 0)
	},
	"dtls-cookie-lost": func(c, s *capt) {
		c.want(fromClientD+" && "+hs(hsClientHello)+" && dtls.handshake.cookie_length == 0", 1, 1)
		c.want(fromServerD+" && "+hs(hsHelloVerify), 1, 1)
		c.want(fromClientD+" && "+withCookie, 3, -1)
		c.backoff(fromClientD+" && "+withCookie, 1)
		s.want(fromClientD+" && "+hs(hsClientHello), 1, 1)
		s.want(withCookie, 0, 0)
		s.want(fromServerD+" && "+hs(hsHelloVerify), 1, 1)
		for _, x := range []*capt{c, s} {
			x.want(hs(hsServerHello), 0, 0)
		}
	},
	"dtls-client-rejects-cert": func(c, s *capt) {
		for _, x := range []*capt{c, s} {
			x.want(fromServerD+" && "+hs(hsHelloVerify), 1, 1)
			x.want(fromServerD+" && "+hs(hsCertificate), 1, 1)
			// The fatal unknown_ca in the clear, epoch 0, as the whole
			// answer to the server's flight.
			x.want(fromClientD+" && dtls.record.epoch == 0 && dtls.alert_message.level == 2 && dtls.alert_message.desc == 48", 1, 1)
			x.want(fromClientD+" && "+hs(hsClientKeyExchange), 0, 0)
			x.want("dtls.record.epoch == 1", 0, 0)
		}
	},
}
