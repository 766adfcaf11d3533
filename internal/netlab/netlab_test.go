//go:build netlab

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows"
	capfile "github.com/tlsscope/tlsscope/flows/capture"
	"github.com/tlsscope/tlsscope/report"
)

// TestNetlab makes every scenario again into a temp dir and checks with
// tshark that each fault happened as designed: these checks are about the
// packets, not about tlsscope's verdicts (the Expect fields are for that).
// It needs root and the lab's tools; without them it skips, unless CI=true.
func TestNetlab(t *testing.T) {
	need := func(why string) {
		if os.Getenv("CI") == "true" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	if os.Geteuid() != 0 {
		need("the lab needs root (network namespaces, iptables, capture)")
	}
	for _, tool := range Tools {
		if _, err := exec.LookPath(tool); err != nil {
			need(tool + " is missing: apt-get install iproute2 iptables ethtool tcpdump tshark openssl gnutls-bin curl python3 nginx")
		}
	}
	dir := t.TempDir()
	if err := generate(dir, "", os.Stderr); err != nil {
		t.Fatal(err)
	}
	checkDir(t, dir)
}

// TestCommittedCaptures runs the same checks on testdata/netlab, so that
// the captures committed are the faults they claim to be; it needs only
// tshark.
func TestCommittedCaptures(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tshark is missing")
		}
		t.Skip("tshark is missing")
	}
	checkDir(t, filepath.Join("..", "..", "testdata", "netlab"))
}

func checkDir(t *testing.T, dir string) {
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST.md")); err != nil {
		t.Fatal(err)
	}
	for _, s := range Scenarios {
		t.Run(s.Name, func(t *testing.T) {
			// The checks are tshark runs, about a hundred per scenario:
			// in parallel they take half the time on two cores.
			t.Parallel()
			c := &capt{t: t, file: filepath.Join(dir, s.Name+".client.pcap")}
			srv := &capt{t: t, file: filepath.Join(dir, s.Name+".server.pcap")}
			if s.KeyLog {
				keys := filepath.Join(dir, s.Name+".keys")
				if _, err := os.Stat(keys); err != nil {
					t.Fatal(err)
				}
				c.keys, srv.keys = keys, keys
			}
			for _, x := range []*capt{c, srv} {
				st, err := os.Stat(x.file)
				if err != nil {
					t.Fatal(err)
				}
				if st.Size() > 60<<10 {
					t.Errorf("%s is %d bytes, more than 60 KB", x.file, st.Size())
				}
				// Offloads on would show frames far above the MTU.
				if n := x.count("frame.len > 1514"); n > 0 {
					t.Errorf("%s: %d frames above 1514 bytes: offloads were on", x.file, n)
				}
			}
			check, ok := checks[s.Name]
			if !ok {
				t.Fatalf("no check for scenario %s", s.Name)
			}
			check(c, srv)
			verdicts(t, s, c.file, srv.file, c.keys, validator(t, s, dir))
		})
	}
}

// capt is one capture read through tshark; keys is its key log (KeyLog
// scenarios).
type capt struct {
	t    *testing.T
	file string
	keys string
}

func (c *capt) rows(filter string, fields ...string) [][]string {
	c.t.Helper()
	rows, err := tsharkFields(c.file, filter, append([]string{"frame.number"}, fields...)...)
	if err != nil {
		c.t.Fatal(err)
	}
	return rows
}

func (c *capt) count(filter string) int {
	c.t.Helper()
	return len(c.rows(filter))
}

// want checks that filter matches a number of frames in [lo, hi] (hi < 0:
// no upper bound).
func (c *capt) want(filter string, lo, hi int) {
	c.t.Helper()
	n := c.count(filter)
	if n < lo || (hi >= 0 && n > hi) {
		c.t.Errorf("%s: %q matches %d frames, want %d..%d", filepath.Base(c.file), filter, n, lo, hi)
	}
}

var (
	fromServer = "ip.src == " + serverAddr + " && tcp.srcport == 443"
	fromClient = "ip.src == " + clientAddr + " && tcp.dstport == 443"
	serverHi   = "tls.handshake.type == 2"
	clientHi   = "tls.handshake.type == 1"
)

// completeBoth: ClientHello, ServerHello and the client's second flight
// in both captures, and no loss anywhere.
func completeBoth(c, s *capt) {
	for _, x := range []*capt{c, s} {
		x.want(clientHi, 1, 1)
		x.want(serverHi, 1, 1)
		x.want(fromClient+" && tls.record.content_type == 20", 1, 1)
		x.want("tcp.analysis.retransmission || tcp.analysis.lost_segment", 0, 0)
	}
}

// wantKeys is want with tshark decrypting by the key log.
func (c *capt) wantKeys(filter string, lo, hi int) {
	c.t.Helper()
	if c.keys == "" {
		c.t.Fatalf("%s: no key log", c.file)
	}
	rows, err := tsharkFieldsKeys(c.file, c.keys, filter, "frame.number")
	if err != nil {
		c.t.Fatal(err)
	}
	if n := len(rows); n < lo || (hi >= 0 && n > hi) {
		c.t.Errorf("%s with %s: %q matches %d frames, want %d..%d", filepath.Base(c.file), filepath.Base(c.keys), filter, n, lo, hi)
	}
}

// decrypted: with the key log tshark reads each of the handshake types
// in frames matching from (a side, a stream), without it none of them.
func (c *capt) decrypted(from string, types ...int) {
	c.t.Helper()
	for _, ty := range types {
		f := fmt.Sprintf("%s && tls.handshake.type == %d", from, ty)
		c.wantKeys(f, 1, -1)
		c.want(f, 0, 0)
	}
}

// keylog13 is a complete TLS 1.3 connection that the key log decrypts:
// the server's EncryptedExtensions, Certificate, CertificateVerify and
// Finished, the client's Finished and its request.
func keylog13(c, s *capt) {
	completeBoth(c, s)
	for _, x := range []*capt{c, s} {
		x.want(serverHi+" && tls.handshake.extensions.supported_version == 0x0304", 1, 1)
		x.decrypted(fromServer, 8, 11, 15, 20)
		x.decrypted(fromClient, 20)
		x.wantKeys(fromClient+" && http.request", 1, 1)
		x.want("http", 0, 0)
	}
}

// keylog12 is a complete TLS 1.2 connection with cipher suite suite that
// the key log decrypts: both Finished messages and the request.
func keylog12(suite string) func(c, s *capt) {
	return func(c, s *capt) {
		completeBoth(c, s)
		for _, x := range []*capt{c, s} {
			x.want("tls.handshake.type == 14", 1, 1) // ServerHelloDone: TLS 1.2
			x.want("tls.handshake.extensions.supported_version == 0x0304", 0, 0)
			x.want(serverHi+" && tls.handshake.ciphersuite == "+suite, 1, 1)
			x.decrypted(fromServer, 20)
			x.decrypted(fromClient, 20)
			x.wantKeys(fromClient+" && http.request", 1, 1)
			x.want("http", 0, 0)
		}
	}
}

// ttls are the distinct ip.ttl values of the frames matching filter.
func (c *capt) ttls(filter string) map[string]bool {
	m := map[string]bool{}
	for _, r := range c.rows(filter, "ip.ttl") {
		m[r[1]] = true
	}
	return m
}

// maxAck is the highest relative ACK number in frames matching filter.
func (c *capt) maxAck(filter string) int {
	max := 0
	for _, r := range c.rows(filter, "tcp.ack") {
		if n, _ := strconv.Atoi(r[1]); n > max {
			max = n
		}
	}
	return max
}

var checks = map[string]func(c, s *capt){
	"openssl-tls13": func(c, s *capt) {
		completeBoth(c, s)
		// OpenSSL's flight: ServerHello, CCS, then EncryptedExtensions,
		// Certificate, CertificateVerify, Finished as four records.
		for _, x := range []*capt{c, s} {
			r := x.rows(serverHi, "tls.record.length")
			if len(r) != 1 || len(strings.Split(r[0][1], ",")) < 6 {
				x.t.Errorf("%s: ServerHello frame records %v, want four encrypted records after it", x.file, r)
			}
		}
	},
	"python-tls13": completeBoth,
	"curl-gnutls": func(c, s *capt) {
		completeBoth(c, s)
		for _, x := range []*capt{c, s} {
			x.want("tls.handshake.type == 14", 1, 1) // ServerHelloDone: TLS 1.2
			x.want("tls.handshake.extensions.supported_version == 0x0304", 0, 0)
		}
	},
	"python-gives-up": func(c, s *capt) {
		for _, x := range []*capt{c, s} {
			x.want(clientHi, 1, 1)
			x.want(fromServer+" && tcp.len > 0", 0, 0)
			fin := x.rows(fromClient+" && tcp.flags.fin == 1", "frame.time_relative")
			hello := x.rows(clientHi, "frame.time_relative")
			if len(fin) != 1 || len(hello) != 1 {
				x.t.Fatalf("%s: FIN %v, ClientHello %v", x.file, fin, hello)
			}
			a, _ := strconv.ParseFloat(hello[0][1], 64)
			b, _ := strconv.ParseFloat(fin[0][1], 64)
			if d := b - a; d < 0.45 || d > 1 {
				x.t.Errorf("%s: the client closed %.3f s after its ClientHello, want about 0.5 s", x.file, d)
			}
		}
	},
	"mtu-blackhole": func(c, s *capt) {
		// The server retransmits its full-size segments; no ACK from the
		// client ever covers them, but the client SACKs the short tail.
		s.want(fromServer+" && tcp.analysis.retransmission && tcp.len > 946", 3, -1)
		if n := s.maxAck(fromClient); n > 1 {
			s.t.Errorf("the client ACKed up to %d: the big segments got through", n)
		}
		s.want(fromClient+" && tcp.options.sack_le", 1, -1)
		c.want(fromServer+" && tcp.len > 946", 0, 0)
		c.want(fromServer+" && tcp.len > 0", 1, -1)
		c.want(serverHi, 0, 0)
		c.want("icmp", 0, 0)
		s.want("icmp", 0, 0)
	},
	"mtu-blackhole-one-segment": func(c, s *capt) {
		// One full-size segment, sent again and again; its shorter tail
		// reaches the client, which SACKs it and never ACKs the first.
		s.want(fromServer+" && tcp.len > 1148", 3, -1)
		s.want(fromServer+" && tcp.analysis.retransmission && tcp.len > 1148", 3, -1)
		s.want(fromServer+" && tcp.len > 0 && tcp.len <= 1148", 1, -1)
		if n := s.maxAck(fromClient); n > 1 {
			s.t.Errorf("the client ACKed up to %d: the full-size segment got through", n)
		}
		c.want(fromServer+" && tcp.len > 1148", 0, 0)
		c.want(fromServer+" && tcp.len > 0", 1, -1)
		c.want(fromClient+" && tcp.options.sack_le", 1, -1)
		c.want("tcp.analysis.lost_segment", 1, -1)
		c.want(serverHi, 0, 0)
		c.want("icmp", 0, 0)
		s.want("icmp", 0, 0)
	},
	"mtu-icmp": func(c, s *capt) {
		s.want("icmp.type == 3 && icmp.code == 4 && icmp.mtu == 1000 && tcp.srcport == 443", 1, -1)
		// The first segment again at the new size: tshark calls such quick
		// resends out-of-order as often as retransmission, so by sequence.
		s.want(fromServer+" && tcp.seq == 1 && tcp.len == 1448", 1, 1)
		s.want(fromServer+" && tcp.seq == 1 && tcp.len == 948", 1, 1)
		c.want(fromServer+" && frame.len > 1014", 0, 0)
		// tshark decodes the ServerHello's resend at the smaller size too.
		c.want(serverHi, 1, 1)
		s.want(serverHi, 1, 2)
		for _, x := range []*capt{c, s} {
			x.want(fromClient+" && tls.record.content_type == 20", 1, 1)
		}
	},
	"drop-client-hello-first-segment": func(c, s *capt) {
		// Two segments of ClientHello at the client, the first again and
		// again; at the server only the tail, never sequence 1.
		c.want(fromClient+" && tcp.len > 0 && tcp.seq == 1", 2, -1)
		c.want(fromClient+" && tcp.len > 0 && tcp.seq > 1", 1, -1)
		c.want(fromClient+" && tcp.analysis.retransmission", 2, -1)
		s.want(fromClient+" && tcp.len > 0 && tcp.seq == 1", 0, 0)
		s.want(fromClient+" && tcp.len > 0", 1, -1)
		s.want("tcp.analysis.lost_segment", 1, -1)
		for _, x := range []*capt{c, s} {
			x.want(serverHi, 0, 0)
			x.want(fromServer+" && tcp.len > 0", 0, 0)
		}
	},
	"rst-inject": func(c, s *capt) {
		rst := c.ttls(fromServer + " && tcp.flags.reset == 1")
		other := c.ttls(fromServer + " && tcp.flags.reset == 0")
		if len(rst) != 1 || !rst["64"] || len(other) != 1 || !other[fmt.Sprint(routerHopTTL)] {
			c.t.Errorf("RST TTLs %v, the server's other packets %v: want 64 and %d", rst, other, routerHopTTL)
		}
		s.want(clientHi, 0, 0)
		s.want("tcp.flags.reset == 1", 0, 0)
		s.want(fromClient+" && tcp.flags.syn == 1", 1, 1)
	},
	"drop-client-hello": func(c, s *capt) {
		// tshark does not decode a retransmitted ClientHello again.
		c.want(clientHi, 1, 1)
		c.want(fromClient+" && tcp.len > 0 && tcp.analysis.retransmission", 2, -1)
		if n := c.maxAck(fromServer); n > 1 {
			c.t.Errorf("the server ACKed up to %d: the ClientHello got through", n)
		}
		s.want(clientHi, 0, 0)
		s.want(fromClient+" && tcp.len > 0", 0, 0)
	},
	"server-not-tls": func(c, s *capt) {
		want := fmt.Sprintf("%x", "HTTP/1.1 400 Bad Request")
		for _, x := range []*capt{c, s} {
			x.want(clientHi, 1, 1)
			r := x.rows(fromServer+" && tcp.len > 0", "tcp.payload")
			if len(r) == 0 || !strings.HasPrefix(strings.ReplaceAll(r[0][1], ":", ""), want) {
				x.t.Errorf("%s: the server's first bytes %v, want HTTP/1.1 400 Bad Request", x.file, r)
			}
		}
	},
	"server-fin-after-hello": func(c, s *capt) {
		for _, x := range []*capt{c, s} {
			x.want(fromServer+" && tcp.len > 0", 0, 0)
			x.want(fromServer+" && tcp.flags.fin == 1", 1, 1)
			// The client's reaction: a fatal decode_error alert in clear.
			x.want(fromClient+" && tls.alert_message.desc == 50", 1, 1)
		}
	},
	"reject-icmp": func(c, s *capt) {
		c.want("icmp.type == 3 && icmp.code == 3 && tcp.srcport == 40001 && ip.src == "+routerCAddr, 1, 1)
		c.want("icmp.type == 3 && icmp.code == 13 && tcp.srcport == 40002 && ip.src == "+routerCAddr, 1, 1)
		c.want(fromServer, 0, 0)
		s.want("tcp", 0, 0)
	},
	"one-sided": func(c, s *capt) {
		c.want("ip.src == "+serverAddr, 0, 0)
		c.want(clientHi, 1, 1)
		c.want(fromClient+" && tls.record.content_type == 20", 1, 1)
		s.want("ip.src == "+clientAddr, 0, 0)
		s.want(serverHi, 1, 1)
	},
	"openssl-tls13-keylog": keylog13,
	"curl-nginx-keylog":    keylog13,
	"openssl-tls12-keylog": func(c, s *capt) {
		keylog12("0xc013")(c, s) // ECDHE-RSA-AES128-SHA
		// encrypt_then_mac (type 22) offered and accepted.
		for _, x := range []*capt{c, s} {
			x.want(clientHi+" && tls.handshake.extension.type == 22", 1, 1)
			x.want(serverHi+" && tls.handshake.extension.type == 22", 1, 1)
		}
	},
	"openssl-tls12-gcm-keylog": keylog12("0xc030"), // ECDHE-RSA-AES256-GCM-SHA384
	"gnutls-keylog": func(c, s *capt) {
		// Stream 0 TLS 1.3, stream 1 TLS 1.2, each complete.
		s13, s12 := "tcp.stream == 0 && ", "tcp.stream == 1 && "
		for _, x := range []*capt{c, s} {
			x.want(clientHi, 2, 2)
			x.want(serverHi, 2, 2)
			x.want("tcp.analysis.retransmission || tcp.analysis.lost_segment", 0, 0)
			x.want(s13+serverHi+" && tls.handshake.extensions.supported_version == 0x0304", 1, 1)
			x.want(s12+"tls.handshake.type == 14", 1, 1)
			x.want(s12+"tls.handshake.extensions.supported_version == 0x0304", 0, 0)
			x.decrypted(s13+fromServer, 8, 11, 15, 20)
			x.decrypted(s13+fromClient, 20)
			x.decrypted(s12+fromServer, 20)
			x.decrypted(s12+fromClient, 20)
			x.wantKeys(fromClient+" && http.request", 2, 2)
		}
	},
	"python-tls13-keylog": func(c, s *capt) {
		completeBoth(c, s)
		for _, x := range []*capt{c, s} {
			// CertificateRequest, and the client's Certificate and
			// CertificateVerify: mutual TLS, all encrypted.
			x.decrypted(fromServer, 8, 13, 11, 15, 20)
			x.decrypted(fromClient, 11, 15, 20)
			x.wantKeys(fromClient+" && http.request", 1, 1)
			x.wantKeys(fromServer+" && http.response.code == 200", 1, 1)
		}
	},
	"openssl-keyupdate": func(c, s *capt) {
		for _, x := range []*capt{c, s} {
			x.want(clientHi, 1, 1)
			x.want(serverHi, 1, 1)
			x.want(fromClient+" && tls.record.content_type == 20", 1, 1)
			// The server's tail loss probe may resend its close_notify (a
			// 24-byte record) before the client's delayed ACK: spurious
			// (the client's capture says so), nothing lost.
			x.want("tcp.analysis.lost_segment", 0, 0)
			x.want("tcp.analysis.retransmission && !("+fromServer+" && tcp.len == 24)", 0, 0)
			x.want(fromServer+" && tcp.analysis.retransmission", 0, 1)
			x.decrypted(fromServer, 8, 11, 15, 20, 24)
			x.decrypted(fromClient, 20, 24)
			// Two KeyUpdates from the client ("k", "K"), one from the
			// server (its answer to update_requested).
			x.wantKeys(fromClient+" && tls.handshake.type == 24", 2, 2)
			x.wantKeys(fromServer+" && tls.handshake.type == 24", 1, 1)
			// The request under the client's third keys, the server's
			// close_notify under its second.
			x.wantKeys(fromClient+" && http.request", 1, 1)
			x.wantKeys(fromServer+" && tls.alert_message.desc == 0", 1, 2)
		}
		c.want("tcp.analysis.retransmission && !tcp.analysis.spurious_retransmission", 0, 0)
	},
	"openssl-client-rejects-cert": func(c, s *capt) {
		for _, x := range []*capt{c, s} {
			x.want(clientHi, 1, 1)
			x.want(serverHi+" && tls.handshake.extensions.supported_version == 0x0304", 1, 1)
			x.decrypted(fromServer, 8, 11, 15, 20)
			// The client's fatal unknown_ca in the clear: a 2-byte record
			// of type 21, with no ChangeCipherSpec or Finished before it.
			x.want(fromClient+" && tls.record.content_type == 21 && tls.record.length == 2 && tls.alert_message.level == 2 && tls.alert_message.desc == 48", 1, 1)
			x.want(fromClient+" && tls.record.content_type == 20", 0, 0)
			x.wantKeys(fromClient+" && tls.handshake.type == 20", 0, 0)
		}
	},
	"openssl-reneg": func(c, s *capt) {
		for _, x := range []*capt{c, s} {
			x.want("tcp.analysis.retransmission || tcp.analysis.lost_segment", 0, 0)
			// The first handshake in the clear; the second, its
			// ChangeCipherSpec included, under the first one's keys.
			x.want(clientHi, 1, 1)
			x.wantKeys(clientHi, 2, 2)
			x.wantKeys(serverHi, 2, 2)
			x.wantKeys(fromClient+" && tls.handshake.type == 20", 2, 2)
			x.wantKeys(fromServer+" && tls.handshake.type == 20", 2, 2)
			x.wantKeys(fromClient+" && http.request", 1, 1)
		}
	},
	"openssl-reneg-refused": func(c, s *capt) {
		for _, x := range []*capt{c, s} {
			x.want(clientHi, 1, 1)
			x.wantKeys(clientHi, 2, 2)
			x.wantKeys(serverHi, 1, 1)
			// Refused: a warning no_renegotiation, then the client's fatal
			// handshake_failure, both under the first handshake's keys.
			x.want("tls.alert_message.desc", 0, 0)
			x.wantKeys(fromServer+" && tls.alert_message.level == 1 && tls.alert_message.desc == 100", 1, 1)
			x.wantKeys(fromClient+" && tls.alert_message.level == 2 && tls.alert_message.desc == 40", 1, 1)
		}
	},
}

// connOrder is the order in which a scenario's client opens the
// connections Expect names (by client port, sport1 first; gnutls-keylog:
// main, then tls12; the certificate scenarios: main, tls12, curl, gnutls, chromium;
// or firefox, or node, alone).
var connOrder = []string{"main", "port-unreachable", "admin-prohibited", "tls12", "curl", "gnutls", "chromium", "firefox", "node"}

// verdicts checks tlsscope's judgement of both captures against Expect:
// the outcome, findings it must include, and where Expect says them the
// validation status and how the verdict begins (the cause it names).
func verdicts(t *testing.T, s Scenario, clientFile, serverFile, keys string, v *decoder.Validator) {
	for vantage, file := range map[string]string{"client": clientFile, "server": serverFile} {
		conns := judge(t, file, keys, v)
		var names []string
		for _, n := range connOrder {
			if _, ok := s.Expect[n]; ok {
				names = append(names, n)
			}
		}
		for i, n := range names {
			want := s.Expect[n].Client
			if vantage == "server" {
				want = s.Expect[n].Server
			}
			if want.Outcome == "" {
				if i < len(conns) {
					t.Errorf("%s: connection %s: %s, want none in this capture", file, n, conns[i].Outcome)
				}
				continue
			}
			if i >= len(conns) {
				t.Errorf("%s: no connection %s", file, n)
				continue
			}
			c := conns[i]
			if c.Outcome != want.Outcome {
				t.Errorf("%s: connection %s: %s (%s), want %s", file, n, c.Outcome, c.Verdict, want.Outcome)
			}
			for _, f := range want.Findings {
				if !slices.ContainsFunc(c.Findings, func(x report.Finding) bool { return x.Code == f }) {
					t.Errorf("%s: connection %s: no %s finding", file, n, f)
				}
			}
			if want.Status != "" && (c.Validation == nil || c.Validation.Status != want.Status) {
				t.Errorf("%s: connection %s: validation %+v, want status %s", file, n, c.Validation, want.Status)
			}
			if !strings.HasPrefix(c.Verdict, want.Verdict) {
				t.Errorf("%s: connection %s: verdict %q, want it to begin %q", file, n, c.Verdict, want.Verdict)
			}
		}
	}
}

// validator judges chains against what s.Roots names: the lab's root
// (lab-root.pem in dir, read as --trust none --ca-file would), no root at
// all, or nil (no validation).
func validator(t *testing.T, s Scenario, dir string) *decoder.Validator {
	t.Helper()
	var ca *decoder.CAFiles
	switch s.Roots {
	case "":
		return nil
	case "lab":
		var err error
		if ca, err = decoder.ReadCAFiles([]string{filepath.Join(dir, LabRootFile)}); err != nil {
			t.Fatal(err)
		}
	case "empty":
	default:
		t.Fatalf("%s: unknown Roots %q", s.Name, s.Roots)
	}
	store, err := decoder.LoadTrustStore(decoder.TrustNone, ca)
	if err != nil {
		t.Fatal(err)
	}
	return decoder.NewValidator(store)
}

// judge is what tlsscope says of a capture, connection by connection,
// decrypting with the key log keys (none if ""), judging chains with v
// (none if nil).
func judge(t *testing.T, file, keys string, v *decoder.Validator) []*report.Connection {
	src, err := capfile.OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	opts := flows.DefaultOptions
	opts.Validator = v
	if keys != "" {
		f, err := os.Open(keys)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		opts.KeyLog = decoder.NewKeyLog()
		if _, _, err := opts.KeyLog.Add(keys, f); err != nil {
			t.Fatal(err)
		}
	}
	a := flows.NewAnalyzer(opts)
	if err := a.Run(capfile.NewMerge([]capfile.Source{src})); err != nil {
		t.Fatal(err)
	}
	var out []*report.Connection
	for _, r := range a.Finish() {
		out = append(out, report.Build(r))
	}
	return out
}
