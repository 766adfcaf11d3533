package report_test

// Tests that pin verdicts, reasons and findings which deliberate
// mutations of the code once left unnoticed (issue 23; make mutate runs
// them). Each runs the analyzer on a capture (a generated one, changed
// where the case needs it, or a real one of the shared corpus) and checks
// what the reports say through report.Build: the outcome, the JSON stall
// fields, the finding codes and the first word of the verdict.

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows"
	"github.com/tlsscope/tlsscope/flows/capture"
	"github.com/tlsscope/tlsscope/flows/quic"
	"github.com/tlsscope/tlsscope/internal/capgen"
	"github.com/tlsscope/tlsscope/internal/testenv"
	"github.com/tlsscope/tlsscope/report"
)

const testdataDir = "../testdata"

// readPackets is every packet of a capture, kept (ReadAll's data is
// valid only until the next read).
func readPackets(t *testing.T, file string) []capture.Packet {
	t.Helper()
	src, err := capture.OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	pkts, err := capture.ReadAll(src)
	if err != nil {
		t.Fatal(err)
	}
	for i := range pkts {
		pkts[i].Data = slices.Clone(pkts[i].Data)
	}
	return pkts
}

// judge runs the analyzer over pkts and builds the report's connections.
func judge(opts flows.Options, pkts []capture.Packet) []*report.Connection {
	a := flows.NewAnalyzer(opts)
	for _, p := range pkts {
		a.Packet(p.Data, p.CI, p.Link)
	}
	var out []*report.Connection
	for _, r := range a.Finish() {
		out = append(out, report.Build(r))
	}
	return out
}

func keyLog(t *testing.T, file string) *decoder.KeyLog {
	t.Helper()
	k := decoder.NewKeyLog()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	k.Add(file, f)
	return k
}

func codes(c *report.Connection) []string {
	var out []string
	for _, f := range c.Findings {
		out = append(out, f.Code)
	}
	return out
}

func only(t *testing.T, cs []*report.Connection) *report.Connection {
	t.Helper()
	if len(cs) != 1 {
		t.Fatalf("%d connections, want 1", len(cs))
	}
	return cs[0]
}

// rewrite changes the headers of the packets pick selects.
func rewrite(t *testing.T, pkts []capture.Packet, pick func(i int) bool, edit func(*capgen.Headers)) {
	t.Helper()
	for i := range pkts {
		if !pick(i) {
			continue
		}
		b, err := capgen.Rewrite(pkts[i].Data, pkts[i].Link, edit)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		pkts[i].Data = b
		pkts[i].CI.CaptureLength, pkts[i].CI.Length = len(b), len(b)
	}
}

// TestStallAtTimeoutExactly: a silence exactly as long as the stall
// timeout is a stall (the timeout is how long a side may be silent before
// the handshake counts as stalled); a moment shorter, the client's FIN
// that ended the wait makes it closed (the client gave up).
func TestStallAtTimeoutExactly(t *testing.T) {
	pkts := readPackets(t, filepath.Join(testdataDir, "stall-server-silent.pcap"))
	c := only(t, judge(flows.DefaultOptions, pkts))
	if c.Stall == nil || c.Stall.WaitingFor != "server" {
		t.Fatalf("stall %+v, want the server owing", c.Stall)
	}
	silent := c.Result().Stall.Silent
	opts := flows.DefaultOptions
	opts.StallTimeout = silent
	c = only(t, judge(opts, pkts))
	if c.Outcome != "stalled" || !strings.HasPrefix(c.Verdict, "stalled") || !slices.Contains(codes(c), "handshake_stalled") {
		t.Errorf("silent %v with a stall timeout of %v: %s %q %v, want stalled", silent, opts.StallTimeout, c.Outcome, c.Verdict, codes(c))
	}
	opts.StallTimeout = silent + time.Millisecond
	c = only(t, judge(opts, pkts))
	if c.Outcome != "closed" || !strings.HasPrefix(c.Verdict, "closed") || c.Stall == nil || c.Stall.WaitingFor != "server" {
		t.Errorf("silent %v with a stall timeout of %v: %s %q, want closed, the stall facts kept", silent, opts.StallTimeout, c.Outcome, c.Verdict)
	}
}

// TestMissingACKsAreNotAStall: tls13-full.pcap cut after the ClientHello,
// with the client's handshake ACK seen again 5 s later: the server's ACK
// of the ClientHello is missing, which no TCP would leave out for 5 s
// while the client retransmits nothing. The capture lacks packets, so the
// server's silence is not judged: incomplete, with missing_acks, not
// stalled.
func TestMissingACKsAreNotAStall(t *testing.T) {
	pkts := readPackets(t, filepath.Join(testdataDir, "tls13-full.pcap"))
	const afterClientHello = 5 // SYN, SYN-ACK, ACK and the ClientHello in two segments
	late := pkts[2]            // the client's ACK of the SYN-ACK, no data
	late.CI.Timestamp = pkts[afterClientHello-1].CI.Timestamp.Add(5 * time.Second)
	cut := append(slices.Clone(pkts[:afterClientHello]), late)
	c := only(t, judge(flows.DefaultOptions, cut))
	if c.Outcome != "incomplete" || !slices.Contains(codes(c), "missing_acks") || c.Stall == nil || c.Stall.WaitingFor != "server" {
		t.Errorf("%s %q %v, stall %+v; want incomplete, missing_acks, the server owing", c.Outcome, c.Verdict, codes(c), c.Stall)
	}
}

// TestQUICStallAtTimeoutExactly: the client's Initials went unanswered
// (udp-blocked.pcap); a silence exactly as long as the stall timeout is a
// stall, a moment shorter is not yet one.
func TestQUICStallAtTimeoutExactly(t *testing.T) {
	pkts := readPackets(t, filepath.Join(testdataDir, "quic", "udp-blocked.pcap"))
	c := only(t, judge(flows.DefaultOptions, pkts))
	if c.Stall == nil {
		t.Fatalf("%s %q: no stall", c.Outcome, c.Verdict)
	}
	silent := c.Result().Stall.Silent
	opts := flows.DefaultOptions
	opts.StallTimeout = silent
	if c := only(t, judge(opts, pkts)); c.Outcome != "stalled" || !strings.HasPrefix(c.Verdict, "stalled") {
		t.Errorf("silent %v with a stall timeout of %v: %s %q, want stalled", silent, opts.StallTimeout, c.Outcome, c.Verdict)
	}
	opts.StallTimeout = silent + time.Millisecond
	if c := only(t, judge(opts, pkts)); c.Outcome != "incomplete" || !strings.HasPrefix(c.Verdict, "incomplete") {
		t.Errorf("silent %v with a stall timeout of %v: %s %q, want incomplete", silent, opts.StallTimeout, c.Outcome, c.Verdict)
	}
}

// TestQUICInitialsSentAgainAreNoCaptureLoss: a client that got no answer
// and sent its Initial again and again (udp-blocked.pcap) did what QUIC
// does (RFC 9002 §6.2): its server's silence is judged, a stall with
// quic_no_response, not a capture that lacks packets (missing_acks is for
// a single Initial and nothing after it).
func TestQUICInitialsSentAgainAreNoCaptureLoss(t *testing.T) {
	c := only(t, judge(flows.DefaultOptions, readPackets(t, filepath.Join(testdataDir, "quic", "udp-blocked.pcap"))))
	if c.QUIC == nil || c.QUIC.ClientInitials < 2 {
		t.Fatalf("quic %+v: want several client Initials", c.QUIC)
	}
	got := codes(c)
	if c.Outcome != "stalled" || !strings.HasPrefix(c.Verdict, "stalled") || !slices.Contains(got, "quic_no_response") || slices.Contains(got, "missing_acks") {
		t.Errorf("%s %q %v; want stalled with quic_no_response, no missing_acks", c.Outcome, c.Verdict, got)
	}
	if c.Stall == nil || c.Stall.WaitingFor != "server" || c.Stall.Next != "ServerHello" {
		t.Errorf("stall %+v, want the server owing its ServerHello", c.Stall)
	}
}

// TestKeylessQUICStallOwner: complete.pcap cut after the client's answer
// to the server's Handshake flight. With the key log the client's
// Finished is in it (the handshake completed); without, the rule is that
// the side that spoke last waits: the server is the one owing, never the
// client that had sent its Finished.
func TestKeylessQUICStallOwner(t *testing.T) {
	file := filepath.Join(testdataDir, "quic", "complete.pcap")
	pkts := readPackets(t, file)
	keyed := flows.DefaultOptions
	keyed.KeyLog = keyLog(t, filepath.Join(testdataDir, "quic", "complete.keys"))
	// The first cut at which the key log shows the handshake complete: it
	// ends with the client's Finished.
	n := 0
	for i := 1; i <= len(pkts); i++ {
		if c := only(t, judge(keyed, pkts[:i])); c.Outcome == "complete" {
			n = i
			break
		}
	}
	if n == 0 {
		t.Fatal("complete.pcap never completes with its key log")
	}
	c := only(t, judge(flows.DefaultOptions, pkts[:n]))
	if c.Outcome == "complete" || c.Stall == nil {
		t.Fatalf("without keys, cut after packet %d: %s %q; want an unfinished handshake", n, c.Outcome, c.Verdict)
	}
	if c.Stall.WaitingFor != "server" {
		t.Errorf("without keys, cut after the client's Finished (packet %d): stall %+v, want the server owing", n, c.Stall)
	}
}

// TestTLS12ResumptionKinds: TLS 1.2 resumes a session by its ID (RFC 5246
// §7.3) or by a ticket (RFC 5077); the resumption says which. The corpus
// capture has five resumptions by session ID (no ticket offered); the
// generated one a ticket resumption.
func TestTLS12ResumptionKinds(t *testing.T) {
	c := judge(flows.DefaultOptions, readPackets(t, filepath.Join(testdataDir, "tls12-resume-ticket.pcap")))
	if len(c) != 2 || c[1].Outcome != "resumed" || c[1].Resumption != "ticket" {
		t.Errorf("tls12-resume-ticket.pcap: want the second connection resumed by ticket, got %d connections", len(c))
	}
	dir := testenv.NeedShared(t, "..")
	cs := judge(flows.DefaultOptions, readPackets(t, filepath.Join(dir, "suricata-verify/tests/ssl_version_negated/input.pcap")))
	n := 0
	for _, c := range cs {
		if c.Outcome != "resumed" {
			continue
		}
		n++
		if c.Resumption != "session_id" || c.ClientHello == nil || c.ClientHello.SessionTicket != nil {
			t.Errorf("stream %d: resumed by %q (ticket %v), want session_id", c.Stream, c.Resumption, c.ClientHello.SessionTicket)
		}
	}
	if n != 5 {
		t.Errorf("%d resumed connections, want 5", n)
	}
}

// TestResetInjectedNeedsSteadyTTL: reset-injected-ttl.pcap's server sent
// its SYN-ACK with TTL 52 and the RST came with 64: reset_injected. With
// one more server packet (an ACK of the ClientHello) the TTL evidence
// stands when that packet has TTL 52 too, and falls when it has another
// (the server's TTL varies anyway, so a RST's other TTL proves nothing).
func TestResetInjectedNeedsSteadyTTL(t *testing.T) {
	pkts := readPackets(t, filepath.Join(testdataDir, "reset-injected-ttl.pcap"))
	const synACK, clientHello, rst = 1, 3, 4
	var helloEnd uint32
	var synACKTTL uint8
	rewrite(t, slices.Clone(pkts), func(i int) bool { return i == clientHello || i == synACK }, func(h *capgen.Headers) {
		if h.TCP.SYN {
			synACKTTL = h.IPv4.TTL
			return
		}
		helloEnd = h.TCP.Seq + uint32(len(h.TCP.Payload))
	})
	if c := only(t, judge(flows.DefaultOptions, pkts)); !slices.Contains(codes(c), "reset_injected") || len(pkts) != rst+1 {
		t.Fatalf("%s %v: want reset_injected", c.Outcome, codes(c))
	}
	withACK := func(ttl uint8) []capture.Packet {
		ack := pkts[synACK]
		b, err := capgen.Rewrite(ack.Data, ack.Link, func(h *capgen.Headers) {
			h.TCP.SYN, h.TCP.Seq, h.TCP.Ack, h.TCP.Options = false, h.TCP.Seq+1, helloEnd, nil
			h.IPv4.TTL = ttl
		})
		if err != nil {
			t.Fatal(err)
		}
		ack.Data, ack.CI.CaptureLength, ack.CI.Length = b, len(b), len(b)
		ack.CI.Timestamp = pkts[clientHello].CI.Timestamp.Add(time.Millisecond)
		return slices.Concat(pkts[:rst], []capture.Packet{ack}, pkts[rst:])
	}
	if c := only(t, judge(flows.DefaultOptions, withACK(synACKTTL))); c.Outcome != "reset" || !slices.Contains(codes(c), "reset_injected") {
		t.Errorf("the server's TTL steady: %s %v, want reset with reset_injected", c.Outcome, codes(c))
	}
	if c := only(t, judge(flows.DefaultOptions, withACK(synACKTTL-8))); c.Outcome != "reset" || slices.Contains(codes(c), "reset_injected") {
		t.Errorf("the server's TTL varying: %s %v, want reset without reset_injected", c.Outcome, codes(c))
	}
}

// TestCertificateNotYetValid: tls12-ecdhe-ticket.pcap moved a year back,
// before its leaf certificate's notBefore (2026-01-01), after its CA's
// (2025-01-01): the leaf is not yet valid, an error (check the clocks).
func TestCertificateNotYetValid(t *testing.T) {
	pkts := readPackets(t, filepath.Join(testdataDir, "tls12-ecdhe-ticket.pcap"))
	for i := range pkts {
		pkts[i].CI.Timestamp = pkts[i].CI.Timestamp.AddDate(-1, 0, 0)
	}
	c := only(t, judge(flows.DefaultOptions, pkts))
	n := 0
	for _, f := range c.Findings {
		switch f.Code {
		case "certificate_not_yet_valid":
			n++
			if f.Severity != report.SevError || !strings.Contains(f.Message, "2026-01-01") {
				t.Errorf("%s %q", f.Severity, f.Message)
			}
		case "certificate_expired":
			t.Errorf("certificate_expired: %s", f.Message)
		}
	}
	if n != 1 {
		t.Errorf("%d certificate_not_yet_valid findings, want 1 (the leaf): %v", n, codes(c))
	}
}

// TestPortReuseAfterClose: tls13-full.pcap, then the same connection again
// 10 s later on the same addresses and ports with another initial
// sequence number, as a client reusing its port makes: after the first
// connection closed, the new SYN starts another connection (Wireshark's
// port reuse), and both handshakes are judged.
func TestPortReuseAfterClose(t *testing.T) {
	first := readPackets(t, filepath.Join(testdataDir, "tls13-full.pcap"))
	c := only(t, judge(flows.DefaultOptions, first))
	client := c.Result().Client
	second := slices.Clone(first)
	const isnDelta = 0x10000000
	rewrite(t, second, func(int) bool { return true }, func(h *capgen.Headers) {
		if h.TCP.SrcPort == layers.TCPPort(client.Port()) {
			h.TCP.Seq += isnDelta
		} else if h.TCP.ACK {
			h.TCP.Ack += isnDelta
		}
	})
	for i := range second {
		second[i].CI.Timestamp = second[i].CI.Timestamp.Add(10 * time.Second)
	}
	cs := judge(flows.DefaultOptions, slices.Concat(first, second))
	if len(cs) != 2 {
		t.Fatalf("%d connections, want 2", len(cs))
	}
	for i, c := range cs {
		if c.Stream != i || c.Outcome != "complete" {
			t.Errorf("connection %d: stream %d %s %q, want stream %d complete", i, c.Stream, c.Outcome, c.Verdict, i)
		}
	}
}

// TestShardsLearnTLSPortsFromServerHellos: a TLS server on port 4433 (not
// a port where TLS is expected) answers one client with a ServerHello,
// and leaves a later client's SYN unanswered. The whole run reports both:
// the ServerHello taught that 4433 is a TLS port, so the unanswered SYN is
// a TLS attempt. Split in two shards, the shard that does not own the TLS
// connection must learn the port from that connection's ServerHello all
// the same, so that the shards together report what the whole run does.
func TestShardsLearnTLSPortsFromServerHellos(t *testing.T) {
	const port = 4433
	tlsConn := readPackets(t, filepath.Join(testdataDir, "tls13-full.pcap"))
	attempt := readPackets(t, filepath.Join(testdataDir, "tcp-syn-unanswered.pcap"))
	toPort := func(pkts []capture.Packet, server netip.AddrPort, clientPort uint16) {
		rewrite(t, pkts, func(int) bool { return true }, func(h *capgen.Headers) {
			if h.TCP.DstPort == layers.TCPPort(server.Port()) {
				h.TCP.DstPort = port
				if clientPort != 0 {
					h.TCP.SrcPort = layers.TCPPort(clientPort)
				}
			} else {
				h.TCP.SrcPort = port
				if clientPort != 0 {
					h.TCP.DstPort = layers.TCPPort(clientPort)
				}
			}
		})
	}
	r0 := only(t, judge(flows.DefaultOptions, tlsConn)).Result()
	a0 := only(t, judge(flows.DefaultOptions, attempt)).Result()
	toPort(tlsConn, r0.Server, 0)
	// A client port that puts the attempt in the other shard of two.
	two := flows.Shard{N: 2}
	tlsShard := two.Of(r0.Client, netip.AddrPortFrom(r0.Server.Addr(), port))
	var clientPort uint16
	for p := uint16(50000); p < 50100; p++ {
		if two.Of(netip.AddrPortFrom(a0.Client.Addr(), p), netip.AddrPortFrom(a0.Server.Addr(), port)) != tlsShard {
			clientPort = p
			break
		}
	}
	if clientPort == 0 {
		t.Fatal("no client port in the other shard")
	}
	toPort(attempt, a0.Server, clientPort)
	after := tlsConn[len(tlsConn)-1].CI.Timestamp.Add(time.Second).Sub(attempt[0].CI.Timestamp)
	for i := range attempt {
		attempt[i].CI.Timestamp = attempt[i].CI.Timestamp.Add(after)
	}
	pkts := slices.Concat(tlsConn, attempt)
	summary := func(cs []*report.Connection) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Server+" "+c.Outcome)
		}
		slices.Sort(out)
		return out
	}
	whole := summary(judge(flows.DefaultOptions, pkts))
	if len(whole) != 2 {
		t.Fatalf("whole run: %q, want the TLS connection and the unanswered attempt", whole)
	}
	var union []*report.Connection
	for i := range 2 {
		opts := flows.DefaultOptions
		opts.Shard = flows.Shard{I: i, N: 2}
		union = append(union, judge(opts, pkts)...)
	}
	if got := summary(union); !slices.Equal(got, whole) {
		t.Errorf("two shards report %q, the whole run %q", got, whole)
	}
}

// TestQUICRetryThenNewPort: retry.pcap with the client on another source
// port from the Retry on (a NAT that rebinds it, captured beside the
// server). The client's Initial after the Retry goes to the connection ID
// the Retry gave (RFC 9000 §17.2.5.2), which ties it to the connection:
// one connection, complete, quic.connection.number 0, one rebinding.
func TestQUICRetryThenNewPort(t *testing.T) {
	pkts := readPackets(t, filepath.Join(testdataDir, "quic", "retry.pcap"))
	c := only(t, judge(flows.DefaultOptions, pkts))
	if c.Outcome != "complete" || c.QUIC == nil || !c.QUIC.Retry {
		t.Fatalf("retry.pcap: %s %q, want complete after a Retry", c.Outcome, c.Verdict)
	}
	client := layers.UDPPort(c.Result().Client.Port())
	const newPort = 50123
	retried := false
	rewrite(t, pkts, func(int) bool { return true }, func(h *capgen.Headers) {
		if !retried {
			p, _ := quic.ParseDatagram(h.UDP.Payload, -1)
			retried = len(p) > 0 && p[0].Type == quic.Retry
			return
		}
		if h.UDP.SrcPort == client {
			h.UDP.SrcPort = newPort
		} else if h.UDP.DstPort == client {
			h.UDP.DstPort = newPort
		}
	})
	if !retried {
		t.Fatal("no Retry in retry.pcap")
	}
	cs := judge(flows.DefaultOptions, pkts)
	if len(cs) != 1 {
		for _, c := range cs {
			t.Logf("%s %s %q", c.Client, c.Outcome, c.Verdict)
		}
		t.Fatalf("%d connections, want the one that got the Retry", len(cs))
	}
	c = cs[0]
	if c.Outcome != "complete" || c.QUIC.ConnectionNumber == nil || *c.QUIC.ConnectionNumber != 0 || c.QUIC.Rebinds != 1 {
		t.Errorf("%s %q, connection number %v, rebinds %d; want complete, 0, 1", c.Outcome, c.Verdict, c.QUIC.ConnectionNumber, c.QUIC.Rebinds)
	}
}

// TestQUICMidstreamRefusal: a capture of the server's side only (asymmetric
// routing) that begins with its Retry, then its Initial closing the
// connection with CRYPTO_ERROR no_application_protocol (0x178). The
// client's Initials are not in it (mid-stream), but the Retry's
// connection ID gives the keys of the server's next Initial (RFC 9001
// §5.2), and its CONNECTION_CLOSE says the handshake failed: failed, not
// not_observed (which is for a connection whose handshake happened
// before the capture and may well have worked).
func TestQUICMidstreamRefusal(t *testing.T) {
	clientSCID := []byte{0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1}
	retrySCID := []byte{0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e, 0x5e}
	odcid := []byte{0x0d, 0x0d, 0x0d, 0x0d, 0x0d, 0x0d, 0x0d, 0x0d} // the client's first DCID, not captured
	retry := []byte{0xf0, 0, 0, 0, 1, byte(len(clientSCID))}
	retry = append(append(retry, clientSCID...), byte(len(retrySCID)))
	retry = append(append(retry, retrySCID...), "token"...)
	retry, err := quic.AppendRetryTag(quic.V1, odcid, retry)
	if err != nil {
		t.Fatal(err)
	}
	_, sv, err := quic.InitialSealers(quic.V1, retrySCID)
	if err != nil {
		t.Fatal(err)
	}
	// CONNECTION_CLOSE (0x1c): error 0x178, frame type CRYPTO (0x06), no
	// reason; then PADDING.
	closeFrame := append([]byte{0x1c, 0x41, 0x78, 0x06, 0x00}, make([]byte, 40)...)
	initial, err := sv.Seal(quic.Header{Type: quic.Initial, Version: quic.V1, DCID: clientSCID, SCID: []byte{0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f}, PNLen: 2}, 0, closeFrame)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	pkts := []capture.Packet{datagram(t, retry, true, at), datagram(t, initial, true, at.Add(30*time.Millisecond))}
	c := only(t, judge(flows.DefaultOptions, pkts))
	if !c.Result().Midstream {
		t.Errorf("not mid-stream")
	}
	if c.Outcome != "failed" || !strings.HasPrefix(c.Verdict, "failed") || c.QUIC == nil || c.QUIC.ErrorCode != "0x178" {
		t.Errorf("%s %q (quic %+v); want failed by the server's CONNECTION_CLOSE 0x178", c.Outcome, c.Verdict, c.QUIC)
	}
}

// TestQUICOneRetryIsNoLoop: retry.pcap cut after the client's answer to
// the Retry, as if the server then fell silent: one Retry is address
// validation doing its job (RFC 9000 §8.1), not a Retry loop, which needs
// the server to answer with Retry again and again.
func TestQUICOneRetryIsNoLoop(t *testing.T) {
	pkts := readPackets(t, filepath.Join(testdataDir, "quic", "retry.pcap"))
	retryAt := -1
	for i := range pkts {
		rewrite(t, slices.Clone(pkts[i:i+1]), func(int) bool { return true }, func(h *capgen.Headers) {
			if p, _ := quic.ParseDatagram(h.UDP.Payload, -1); retryAt < 0 && len(p) > 0 && p[0].Type == quic.Retry {
				retryAt = i
			}
		})
	}
	if retryAt < 0 || retryAt+2 > len(pkts) {
		t.Fatal("no Retry in retry.pcap, or nothing after it")
	}
	// The Retry and the client's next datagram (its Initial with the
	// token), then 5 s of silence (the client's probe).
	cut := slices.Clone(pkts[:retryAt+2])
	probe := cut[len(cut)-1]
	probe.CI.Timestamp = probe.CI.Timestamp.Add(5 * time.Second)
	cut = append(cut, probe)
	c := only(t, judge(flows.DefaultOptions, cut))
	if c.QUIC == nil || !c.QUIC.Retry || c.Stall == nil {
		t.Fatalf("%s %q: want an unfinished handshake after a Retry", c.Outcome, c.Verdict)
	}
	if strings.Contains(c.Verdict, "Retry loop") {
		t.Errorf("verdict %q: one Retry called a loop", c.Verdict)
	}
	for _, f := range c.Findings {
		if f.Code == "quic_retry" && f.Severity != report.SevInfo {
			t.Errorf("quic_retry %s: %s", f.Severity, f.Message)
		}
	}
	if !slices.Contains(codes(c), "quic_retry") {
		t.Errorf("findings %v: no quic_retry", codes(c))
	}
}

// TestQUICCloseWithoutErrorIsClosed: a client's Initial with its
// ClientHello, and the server's Initial closing the connection with
// NO_ERROR (0x0) before any ServerHello, as a server going away does
// (RFC 9000 §20.1): the handshake did not finish, yet nothing refused it
// either: closed, not failed.
func TestQUICCloseWithoutErrorIsClosed(t *testing.T) {
	dcid := []byte{0xd1, 0xd1, 0xd1, 0xd1, 0xd1, 0xd1, 0xd1, 0xd1}
	clientSCID := []byte{0xc1, 0xc1, 0xc1, 0xc1}
	cl, sv, err := quic.InitialSealers(quic.V1, dcid)
	if err != nil {
		t.Fatal(err)
	}
	hello := quicClientHello(t)
	crypto := []byte{0x06, 0x00, 0x40 | byte(len(hello)>>8), byte(len(hello))}
	crypto = append(crypto, hello...)
	crypto = append(crypto, make([]byte, max(0, 1150-len(crypto)))...) // PADDING: a client's Initial fills 1200 bytes
	first, err := cl.Seal(quic.Header{Type: quic.Initial, Version: quic.V1, DCID: dcid, SCID: clientSCID, PNLen: 2}, 0, crypto)
	if err != nil {
		t.Fatal(err)
	}
	// CONNECTION_CLOSE (0x1c): NO_ERROR, frame type 0, no reason; PADDING.
	closing, err := sv.Seal(quic.Header{Type: quic.Initial, Version: quic.V1, DCID: clientSCID, SCID: []byte{0x5f, 0x5f, 0x5f, 0x5f}, PNLen: 2}, 0, append([]byte{0x1c, 0x00, 0x00, 0x00}, make([]byte, 40)...))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	pkts := []capture.Packet{datagram(t, first, false, at), datagram(t, closing, true, at.Add(30*time.Millisecond))}
	c := only(t, judge(flows.DefaultOptions, pkts))
	if c.ClientHello == nil || c.Result().Midstream {
		t.Fatalf("ClientHello %v, mid-stream %v: the client's Initial was not read", c.ClientHello, c.Result().Midstream)
	}
	if c.Outcome != "closed" || !strings.HasPrefix(c.Verdict, "closed") || !slices.Contains(codes(c), "connection_closed") || c.ClosedBy != "server" {
		t.Errorf("%s %q %v closed by %q; want closed by the server, connection_closed", c.Outcome, c.Verdict, codes(c), c.ClosedBy)
	}
}

// TestQUICResumption: Chromium 115 resuming a QUIC session (the zeek
// corpus capture): its ServerHello accepts the pre-shared key, visible in
// the Initial without keys: resumed by PSK, not a full handshake.
func TestQUICResumption(t *testing.T) {
	dir := testenv.NeedShared(t, "..")
	c := only(t, judge(flows.DefaultOptions, readPackets(t, filepath.Join(dir, "zeek/testing/btest/Traces/quic/chromium-115.0.5790.110-api-cirrus-com.pcap"))))
	if c.Transport != "quic" || c.Outcome != "resumed" || c.Resumption != "psk" || !c.Resumed {
		t.Errorf("%s %s %q resumption %q; want QUIC resumed by psk", c.Transport, c.Outcome, c.Verdict, c.Resumption)
	}
}

// quicClientHello is crypto/tls's QUIC ClientHello.
func quicClientHello(t *testing.T) []byte {
	t.Helper()
	c := tls.QUICClient(&tls.QUICConfig{TLSConfig: &tls.Config{ServerName: "quic.test", NextProtos: []string{"h3"}, MinVersion: tls.VersionTLS13}})
	c.SetTransportParameters([]byte{})
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for e := c.NextEvent(); e.Kind != tls.QUICNoEvent; e = c.NextEvent() {
		if e.Kind == tls.QUICWriteData {
			return slices.Clone(e.Data)
		}
	}
	t.Fatal("no ClientHello")
	return nil
}

// datagram is a captured UDP datagram between a client's port 40000 and a
// server's port 443.
func datagram(t *testing.T, payload []byte, fromServer bool, at time.Time) capture.Packet {
	t.Helper()
	client, server := net.IPv4(192, 0, 2, 1).To4(), net.IPv4(198, 51, 100, 1).To4()
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: client, DstIP: server}
	udp := &layers.UDP{SrcPort: 40000, DstPort: 443}
	if fromServer {
		ip.SrcIP, ip.DstIP, udp.SrcPort, udp.DstPort = server, client, 443, 40000
	}
	udp.SetNetworkLayerForChecksum(ip)
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, udp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	return capture.Packet{Data: b, Link: layers.LinkTypeEthernet, CI: gopacket.CaptureInfo{Timestamp: at, CaptureLength: len(b), Length: len(b)}}
}

// TestQUICOneSidedCapture: complete.pcap without the server's datagrams
// (a capture of one direction): the client went on with Handshake and
// 1-RTT packets as if answered, so the capture lacks the server's side,
// and its silence is not judged, however long (a stall timeout of 1 ms
// here): incomplete, one-sided, not stalled.
func TestQUICOneSidedCapture(t *testing.T) {
	pkts := readPackets(t, filepath.Join(testdataDir, "quic", "complete.pcap"))
	client := only(t, judge(flows.DefaultOptions, pkts)).Result().Client
	var clientOnly []capture.Packet
	for _, p := range pkts {
		from := false
		rewrite(t, []capture.Packet{p}, func(int) bool { return true }, func(h *capgen.Headers) {
			from = h.UDP.SrcPort == layers.UDPPort(client.Port())
		})
		if from {
			clientOnly = append(clientOnly, p)
		}
	}
	opts := flows.DefaultOptions
	opts.StallTimeout = time.Millisecond
	c := only(t, judge(opts, clientOnly))
	r := c.Result()
	if c.Outcome != "incomplete" || !r.OneSided || r.Missing != decoder.Server {
		t.Errorf("%s %q, one-sided %v (missing %v); want incomplete, the server's side missing", c.Outcome, c.Verdict, r.OneSided, r.Missing)
	}
}

// TestQUICClientGivesUp: a client's Initial with its ClientHello, no
// answer, and 3 s later the client's own Initial closing with NO_ERROR:
// the side that waited closed, so it gave up (reason gave_up), where a
// close by the server that owed the ServerHello is closed_instead
// (TestQUICCloseWithoutErrorIsClosed).
func TestQUICClientGivesUp(t *testing.T) {
	dcid := []byte{0xd2, 0xd2, 0xd2, 0xd2, 0xd2, 0xd2, 0xd2, 0xd2}
	clientSCID := []byte{0xc2, 0xc2, 0xc2, 0xc2}
	cl, _, err := quic.InitialSealers(quic.V1, dcid)
	if err != nil {
		t.Fatal(err)
	}
	hello := quicClientHello(t)
	crypto := []byte{0x06, 0x00, 0x40 | byte(len(hello)>>8), byte(len(hello))}
	crypto = append(crypto, hello...)
	crypto = append(crypto, make([]byte, max(0, 1150-len(crypto)))...)
	hdr := quic.Header{Type: quic.Initial, Version: quic.V1, DCID: dcid, SCID: clientSCID, PNLen: 2}
	first, err := cl.Seal(hdr, 0, crypto)
	if err != nil {
		t.Fatal(err)
	}
	closing, err := cl.Seal(hdr, 1, append([]byte{0x1c, 0x00, 0x00, 0x00}, make([]byte, 1150)...))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	pkts := []capture.Packet{datagram(t, first, false, at), datagram(t, closing, false, at.Add(3*time.Second))}
	c := only(t, judge(flows.DefaultOptions, pkts))
	r := c.Result()
	if c.Outcome != "closed" || r.Reason.Kind != flows.ReasonGaveUp || r.Reason.Side.String() != "client" {
		t.Errorf("%s, reason %s of the %s (%q); want closed, gave_up by the client", c.Outcome, r.Reason.Kind, r.Reason.Side, c.Verdict)
	}
	if want := "closed: client gave up (CONNECTION_CLOSE) after 3.0 s waiting for ServerHello"; c.Verdict != want {
		t.Errorf("verdict %q, want %q", c.Verdict, want)
	}
}

// TestAlertAfterEmptyClientCertificate: zeek's certificate-request-failed
// capture: the server asked for a client certificate, the client sent an
// empty Certificate, and the server's handshake_failure is explained by
// that, not by "no cipher suite in common".
func TestAlertAfterEmptyClientCertificate(t *testing.T) {
	dir := testenv.NeedShared(t, "..")
	c := only(t, judge(flows.DefaultOptions, readPackets(t, filepath.Join(dir, "zeek/testing/btest/Traces/tls/certificate-request-failed.pcap"))))
	if c.Outcome != "failed" || c.Reason != "alert" || c.ReasonSide != "server" {
		t.Fatalf("%s %s %s (%q), want failed alert server", c.Outcome, c.Reason, c.ReasonSide, c.Verdict)
	}
	for _, f := range c.Findings {
		if f.Code == "handshake_failed" {
			if !strings.Contains(f.Message, "the client sent none") || strings.Contains(f.Message, "in common") {
				t.Errorf("handshake_failed says %q, want the missing client certificate", f.Message)
			}
			return
		}
	}
	t.Errorf("no handshake_failed among %v", codes(c))
}

// TestQUICVersionNegotiationNamesTheOfferedVersion: a client's first long
// header of a reserved version (0x1a2a3a4a, RFC 9000 §15, as clients send
// to exercise Version Negotiation) and the server's Version Negotiation:
// the version the client offered is that one, not 0x00000000.
func TestQUICVersionNegotiationNamesTheOfferedVersion(t *testing.T) {
	dcid := []byte{0xd3, 0xd3, 0xd3, 0xd3, 0xd3, 0xd3, 0xd3, 0xd3}
	scid := []byte{0xc3, 0xc3, 0xc3, 0xc3}
	hdr := func(first byte, version uint32, d, s []byte) []byte {
		b := []byte{first, byte(version >> 24), byte(version >> 16), byte(version >> 8), byte(version)}
		b = append(append(b, byte(len(d))), d...)
		return append(append(b, byte(len(s))), s...)
	}
	client := append(hdr(0xc0, 0x1a2a3a4a, dcid, scid), make([]byte, 1180)...)
	vn := append(hdr(0x80, 0, scid, dcid), 0, 0, 0, 1) // supports QUIC v1 only
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	c := only(t, judge(flows.DefaultOptions, []capture.Packet{datagram(t, client, false, at), datagram(t, vn, true, at.Add(20*time.Millisecond))}))
	if c.QUIC == nil {
		t.Fatalf("%s: not read as QUIC", c.Transport)
	}
	if got := c.Result().QUIC.Offered.String(); got != "0x1a2a3a4a" {
		t.Errorf("offered %s, want 0x1a2a3a4a", got)
	}
	// A reserved version starts a connection (not mid-stream), and is no
	// failure to agree: the client owes its Initial in a version of the
	// list.
	t.Logf("%s %s %s: %s", c.Outcome, c.Reason, c.ReasonSide, c.Verdict)
	if c.Outcome == "not_observed" || c.Reason == "no_common_version" || c.ReasonSide != "client" || !strings.Contains(c.Verdict, "after the server's Version Negotiation, client owes ClientHello") {
		t.Errorf("%s %s by %s (%s): want the client owing its next Initial", c.Outcome, c.Reason, c.ReasonSide, c.Verdict)
	}
	for _, f := range c.Findings {
		if f.Code == "quic_version_negotiation" && !strings.Contains(f.Message, "version 0x1a2a3a4a") {
			t.Errorf("quic_version_negotiation says %q", f.Message)
		}
	}
}

// TestOwedWordsOfTheSilentSide: what a stall's finding says the silent
// side may be doing depends on what it owed: a client that never sent its
// ClientHello is not "verifying the certificate" (issue 23, case 6).
func TestOwedWordsOfTheSilentSide(t *testing.T) {
	for _, tc := range []struct {
		next      decoder.MsgType
		want, not string
	}{
		{decoder.MsgClientHello, "never sent a ClientHello", "verifying the certificate"},
		{decoder.MsgFinished, "verifying the certificate", "never sent a ClientHello"},
	} {
		r := &flows.Result{Transport: flows.TransportTCP, Outcome: flows.Stalled, HS: &decoder.Handshake{}, TCP: &flows.TCPFacts{},
			Reason: flows.Reason{Kind: flows.ReasonSilent, Side: decoder.Client},
			Stall:  &flows.Stall{Waiting: decoder.Client, Next: flows.OwedMsg(tc.next), Silent: 5 * time.Second}}
		c := report.Build(r)
		found := false
		for _, f := range c.Findings {
			if f.Code == "handshake_stalled" {
				found = true
				if !strings.Contains(f.Message, tc.want) || strings.Contains(f.Message, tc.not) {
					t.Errorf("owing %s: %q, want it to say %q and not %q", tc.next, f.Message, tc.want, tc.not)
				}
			}
		}
		if !found {
			t.Errorf("owing %s: no handshake_stalled among %v", tc.next, codes(c))
		}
	}
}

// TestHelloBulkNamesWhatMadeItLarge: a ClientHello split over two Initials
// by 61 ALPN values is said to be large by its ALPN list, not by a
// post-quantum key share it does not have (issue 23, case 6).
func TestHelloBulkNamesWhatMadeItLarge(t *testing.T) {
	var alpn []string
	for i := range 61 {
		alpn = append(alpn, fmt.Sprintf("proto-%02d", i))
	}
	ch := &decoder.ClientHello{ALPN: alpn, KeyShares: []decoder.KeyShare{{Group: 29, Length: 32}}}
	r := &flows.Result{Transport: flows.TransportQUIC, Outcome: flows.Complete, Reason: flows.Reason{Kind: flows.ReasonFinished},
		HS: &decoder.Handshake{ClientHello: ch}, QUIC: &flows.QUICFacts{HelloPackets: 2}}
	c := report.Build(r)
	for _, f := range c.Findings {
		if f.Code == "quic_client_hello_split" {
			if !strings.Contains(f.Message, "ALPN list") || strings.Contains(f.Message, "key share") {
				t.Errorf("%q, want it to name the ALPN list", f.Message)
			}
			return
		}
	}
	t.Errorf("no quic_client_hello_split among %v", codes(c))
}

// TestSnaplenTruncatedCitesFrames: packets cut shorter than their IP
// length (a small snapshot length) are capture loss, and the finding
// cites them (tls12-rsa-kex.pcap, its application data in frames 8 and 9
// cut to 80 bytes here).
func TestSnaplenTruncatedCitesFrames(t *testing.T) {
	pkts := readPackets(t, filepath.Join(testdataDir, "tls12-rsa-kex.pcap"))
	for _, i := range []int{7, 8} {
		if len(pkts[i].Data) <= 80 {
			t.Fatalf("frame %d has %d bytes: not a data segment", i+1, len(pkts[i].Data))
		}
		pkts[i].Data = pkts[i].Data[:80]
		pkts[i].CI.CaptureLength = 80
	}
	c := only(t, judge(flows.DefaultOptions, pkts))
	for _, f := range c.Findings {
		if f.Code == "snaplen_truncated" {
			if !slices.Equal(f.Frames, []int64{8, 9}) {
				t.Errorf("snaplen_truncated cites frames %v, want [8 9]", f.Frames)
			}
			return
		}
	}
	t.Errorf("no snaplen_truncated finding: %v", c.Findings)
}

// TestDecodeProblemCitesFrame: a record header that is not TLS in the
// middle of a stream is a decode problem, cited at the frame it came in
// (tls12-rsa-kex.pcap, the content type of the server's ChangeCipherSpec
// record in frame 7 overwritten here).
func TestDecodeProblemCitesFrame(t *testing.T) {
	pkts := readPackets(t, filepath.Join(testdataDir, "tls12-rsa-kex.pcap"))
	d := pkts[6].Data
	i := bytes.Index(d, []byte{0x14, 0x03, 0x03, 0x00, 0x01, 0x01})
	if i < 0 {
		t.Fatal("frame 7 holds no ChangeCipherSpec record")
	}
	d[i] = 0x50
	c := only(t, judge(flows.DefaultOptions, pkts))
	for _, f := range c.Findings {
		if f.Code == "decode_problem" {
			if !slices.Equal(f.Frames, []int64{7}) {
				t.Errorf("decode_problem cites frames %v, want [7]: %s", f.Frames, f.Message)
			}
			return
		}
	}
	t.Errorf("no decode_problem finding: %v", c.Findings)
}
