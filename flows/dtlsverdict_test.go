package flows

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows/capture"
	"github.com/tlsscope/tlsscope/internal/testenv"
)

// analyzeKeys analyzes files with the key log keys (none when "").
func analyzeKeys(t *testing.T, keys string, files ...string) []*Result {
	t.Helper()
	opts := DefaultOptions
	if keys != "" {
		kl := decoder.NewKeyLog()
		fh, err := os.Open(keys)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		if _, _, err := kl.Add(keys, fh); err != nil {
			t.Fatal(err)
		}
		opts.KeyLog = kl
	}
	var srcs []capture.Source
	for _, f := range files {
		s, err := capture.OpenFile(f)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, s)
	}
	m := capture.NewMerge(srcs)
	defer m.Close()
	a := NewAnalyzer(opts)
	if err := a.Run(m); err != nil {
		t.Fatal(err)
	}
	return a.Finish()
}

// oneDTLS is the single DTLS result of a capture.
func oneDTLS(t *testing.T, keys string, file string) *Result {
	t.Helper()
	rs := analyzeKeys(t, keys, file)
	if len(rs) != 1 || rs[0].Transport != TransportDTLS || rs[0].DTLS == nil {
		t.Fatalf("%s: %d results, want one DTLS association", file, len(rs))
	}
	return rs[0]
}

func dtlsVerdictOf(r *Result) string {
	v := string(r.Outcome) + " " + r.Reason.Kind.String()
	if r.Reason.Kind.Sided() {
		v += " " + r.Reason.Side.String()
	}
	return v
}

// TestDTLSNetlabVerdicts pins the verdict of each real-stack DTLS
// capture (internal/netlab's dtls-* scenarios: OpenSSL, GnuTLS, pion) and
// the transport facts it rests on, from both vantage points.
func TestDTLSNetlabVerdicts(t *testing.T) {
	type facts struct {
		verdict              string
		helloResent, flights int // ClientHelloResent, ServerFlightResent
		hvr                  int // HelloVerifyRequests
		check                func(t *testing.T, r *Result)
	}
	decrypted := func(version uint16) func(t *testing.T, r *Result) {
		return func(t *testing.T, r *Result) {
			if d := r.HS.Decryption; d == nil || d.Status != decoder.DecryptDecrypted {
				t.Errorf("decryption %+v, want decrypted", d)
			}
			if v := r.HS.Version(); v != version {
				t.Errorf("version %s, want %s", decoder.VersionName(v), decoder.VersionName(version))
			}
		}
	}
	blackhole := func(have, length int) func(t *testing.T, r *Result) {
		return func(t *testing.T, r *Result) {
			l := r.DTLS.FlightLost
			if l == nil || !l.PathMTU || l.From != decoder.Server || l.Have != have || l.Length != length {
				t.Errorf("flight lost %+v, want the server's, a black hole, %d of %d bytes", l, have, length)
			}
			if r.Stall == nil || r.Stall.Silent < 5*time.Second {
				t.Errorf("stall %+v, want over 5 s", r.Stall)
			}
		}
	}
	cases := map[string]facts{
		"dtls-openssl-listen.client.pcap":      {"complete finished", 0, 0, 1, decrypted(decoder.VersionDTLS12)},
		"dtls-openssl-listen.server.pcap":      {"complete finished", 0, 0, 1, decrypted(decoder.VersionDTLS12)},
		"dtls-openssl-nolisten.client.pcap":    {"complete finished", 0, 0, 1, decrypted(decoder.VersionDTLS12)},
		"dtls-openssl-dtls10.client.pcap":      {"complete finished", 0, 0, 1, decrypted(decoder.VersionDTLS10)},
		"dtls-openssl-mtu.client.pcap":         {"complete finished", 0, 0, 1, decrypted(decoder.VersionDTLS12)},
		"dtls-gnutls.client.pcap":              {"complete finished", 0, 0, 1, decrypted(decoder.VersionDTLS12)},
		"dtls-gnutls.server.pcap":              {"complete finished", 0, 0, 1, decrypted(decoder.VersionDTLS12)},
		"dtls-pion-dtls13.client.pcap":         {"complete finished", 0, 0, 0, nil},
		"dtls-drop-flight-once.client.pcap":    {"complete finished", 1, 0, 1, decrypted(decoder.VersionDTLS12)},
		"dtls-drop-flight-once.server.pcap":    {"complete finished", 1, 1, 1, decrypted(decoder.VersionDTLS12)},
		"dtls-no-answer.client.pcap":           {"stalled no_answer server", 3, 0, 0, nil},
		"dtls-no-answer.server.pcap":           {"stalled cookie_not_returned client", 3, 0, 4, nil},
		"dtls-cookie-lost.client.pcap":         {"stalled silent server", 2, 0, 1, nil},
		"dtls-cookie-lost.server.pcap":         {"stalled cookie_not_returned client", 0, 0, 1, nil},
		"dtls-mtu-blackhole.client.pcap":       {"stalled lost_in_network server", 2, 3, 0, blackhole(691, 4216)},
		"dtls-mtu-blackhole.server.pcap":       {"stalled lost_in_network server", 2, 3, 0, blackhole(0, 0)},
		"dtls-mtu-icmp.server.pcap":            {"complete finished", 1, 1, 0, nil},
		"dtls-client-rejects-cert.client.pcap": {"failed alert client", 0, 0, 1, nil},
		"dtls-client-rejects-cert.server.pcap": {"failed alert client", 0, 0, 1, nil},
		"dtls-pion-srtp.server.pcap":           {"complete finished", 0, 0, 0, decrypted(decoder.VersionDTLS12)},
		"dtls-openssl-nolisten.server.pcap":    {"complete finished", 0, 0, 1, decrypted(decoder.VersionDTLS12)},
		"dtls-openssl-dtls10.server.pcap":      {"complete finished", 0, 0, 1, decrypted(decoder.VersionDTLS10)},
		"dtls-openssl-mtu.server.pcap":         {"complete finished", 0, 0, 1, decrypted(decoder.VersionDTLS12)},
		"dtls-pion-dtls13.server.pcap":         {"complete finished", 0, 0, 0, nil},
		"dtls-mtu-icmp.client.pcap":            {"complete finished", 1, 1, 0, nil},
		"dtls-pion-srtp.client.pcap":           {"complete finished", 0, 0, 0, decrypted(decoder.VersionDTLS12)},
	}
	files, _ := filepath.Glob(filepath.Join(testdata, "netlab", "dtls-*.pcap"))
	if len(files) != len(cases) {
		t.Errorf("%d DTLS netlab captures, %d cases", len(files), len(cases))
	}
	for _, file := range files {
		name := filepath.Base(file)
		want, ok := cases[name]
		if !ok {
			t.Errorf("%s: no case", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			keys := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(file, ".pcap"), ".client"), ".server") + ".keys"
			if _, err := os.Stat(keys); err != nil {
				keys = ""
			}
			r := oneDTLS(t, keys, file)
			f := r.DTLS
			got := facts{dtlsVerdictOf(r), f.ClientHelloResent, f.ServerFlightResent, f.HelloVerifyRequests, nil}
			if got.verdict != want.verdict || got.helloResent != want.helloResent || got.flights != want.flights || got.hvr != want.hvr {
				t.Errorf("%s, ClientHello resent %d, server flight resent %d, HelloVerifyRequests %d; want %s, %d, %d, %d",
					got.verdict, got.helloResent, got.flights, got.hvr, want.verdict, want.helloResent, want.flights, want.hvr)
			}
			if r.Stream != 0 || r.ID().String() != "udp 0" || r.ID().DisplayFilter() != "udp.stream eq 0" {
				t.Errorf("stream %v (%s)", r.ID(), r.ID().DisplayFilter())
			}
			if want.check != nil {
				want.check(t, r)
			}
		})
	}
}

// TestDTLSNetlabFacts pins what the verdicts above do not show.
func TestDTLSNetlabFacts(t *testing.T) {
	dir := filepath.Join(testdata, "netlab")
	r := oneDTLS(t, filepath.Join(dir, "dtls-pion-srtp.keys"), filepath.Join(dir, "dtls-pion-srtp.client.pcap"))
	if p := r.HS.ServerHello.SRTPProfile; p != 0x0007 {
		t.Errorf("use_srtp profile %#x, want 0x0007 (SRTP_AEAD_AES_128_GCM)", p)
	}
	r = oneDTLS(t, "", filepath.Join(dir, "dtls-no-answer.client.pcap"))
	if s := r.Stall; s.Waiting != decoder.Server || s.Next != OwedMsg(decoder.MsgServerHello) || s.Silent < 7*time.Second {
		t.Errorf("stall %+v, want the server owing ServerHello for over 7 s", s)
	}
	if fmt.Sprint(r.Reason.Frames) != "[3 4 5 6]" {
		t.Errorf("evidence %v, want the four ClientHellos", r.Reason.Frames)
	}
	r = oneDTLS(t, "", filepath.Join(dir, "dtls-mtu-icmp.server.pcap"))
	mtu := false
	for _, e := range r.ICMP {
		mtu = mtu || e.PathMTU() && e.MTU == 1000 && e.About == decoder.Server
	}
	if !mtu {
		t.Errorf("ICMP %+v, want fragmentation needed (MTU 1000) about the server's datagrams", r.ICMP)
	}
	r = oneDTLS(t, "", filepath.Join(dir, "dtls-client-rejects-cert.server.pcap"))
	if r.Alert == nil || r.Alert.Description != 48 || r.Alert.From != decoder.Client {
		t.Errorf("alert %+v, want the client's unknown_ca", r.Alert)
	}
}

// TestDTLSZeekTraces agrees with Zeek's ssl.log baselines on its DTLS
// traces (../shared/captures MANIFEST.md, DTLS section).
func TestDTLSZeekTraces(t *testing.T) {
	testenv.NeedShared(t, "..")
	tr := func(name string) string {
		return filepath.Join(sharedCaptures, "zeek/testing/btest/Traces", name)
	}
	// DTLS 1.0 with a cookie: four ClientHello datagrams are two
	// ClientHellos in two fragments each, before and after the
	// HelloVerifyRequest: the cookie round trip, nothing sent again.
	r := oneDTLS(t, "", tr("tls/dtls1_0.pcap"))
	if dtlsVerdictOf(r) != "complete finished" || r.HS.HelloVerifyRequest == nil || r.DTLS.ClientHelloResent != 0 || r.HS.Version() != decoder.VersionDTLS10 {
		t.Errorf("dtls1_0: %s, HelloVerifyRequest %v, ClientHello resent %d", dtlsVerdictOf(r), r.HS.HelloVerifyRequest != nil, r.DTLS.ClientHelloResent)
	}
	if ja4 := r.HS.ClientHello.JA4Over('d'); !strings.HasPrefix(ja4, "dd1i") {
		t.Errorf("dtls1_0 JA4 %s, want the d prefix", ja4)
	}
	// DTLS 1.2, the certificate in fragments over several datagrams.
	r = oneDTLS(t, "", tr("tls/dtls1_2.pcap"))
	if dtlsVerdictOf(r) != "complete finished" || len(r.HS.ServerCertificates) == 0 || r.HS.Version() != decoder.VersionDTLS12 {
		t.Errorf("dtls1_2: %s, %d certificates", dtlsVerdictOf(r), len(r.HS.ServerCertificates))
	}
	// DTLS 1.3 by wolfSSL, no keys: complete by the decoder's TLS 1.3
	// rule (both sides' protected flights after the ServerHello), as
	// Zeek's established T.
	r = oneDTLS(t, "", tr("tls/dtls13-wolfssl.pcap"))
	if dtlsVerdictOf(r) != "complete finished" || r.HS.Version() != decoder.VersionDTLS13 {
		t.Errorf("dtls13-wolfssl: %s %s", dtlsVerdictOf(r), decoder.VersionName(r.HS.Version()))
	}
	// Connection IDs: Zeek's ssl-all.log second section has three
	// established (the first, dtls13-wolfssl's, and two here) and three
	// not, never answered after 3, 4 and 3 ClientHellos.
	var got []string
	for _, r := range analyzeKeys(t, "", tr("tls/dtls13-cid.pcap")) {
		got = append(got, fmt.Sprintf("%d:%s/%d", r.Stream, dtlsVerdictOf(r), r.DTLS.ClientHelloResent))
	}
	if want := "[0:stalled no_answer server/2 1:complete finished/0 2:stalled no_answer server/3 3:stalled no_answer server/2 4:complete finished/0]"; fmt.Sprint(got) != want {
		t.Errorf("dtls13-cid:\n got %v\nwant %s", got, want)
	}
	// WebRTC: STUN then DTLS on one random port pair; client
	// certificates; use_srtp.
	r = oneDTLS(t, "", tr("tls/webrtc-stun.pcap"))
	if dtlsVerdictOf(r) != "complete finished" || len(r.HS.ClientCertificates) != 1 || r.HS.ServerHello.SRTPProfile == 0 || r.Stream != 0 {
		t.Errorf("webrtc-stun: %s, %d client certificates, srtp %#x, stream %d", dtlsVerdictOf(r), len(r.HS.ClientCertificates), r.HS.ServerHello.SRTPProfile, r.Stream)
	}
	// DNS is not DTLS.
	if rs := analyzeKeys(t, "", tr("dns-txt-multiple.pcap")); len(rs) != 0 {
		t.Errorf("dns-txt-multiple: %d results, want none", len(rs))
	}
}

// TestDTLSDecryptedCaptures: the decoder's OpenSSL and GnuTLS captures
// with their key logs are read whole.
func TestDTLSDecryptedCaptures(t *testing.T) {
	for name, n := range map[string]int{"dtls-openssl": 5, "dtls-gnutls": 1} {
		base := filepath.Join("..", "decoder", "testdata", name)
		rs := analyzeKeys(t, base+".keys", base+".pcap")
		if len(rs) != n {
			t.Errorf("%s: %d results, want %d", name, len(rs), n)
		}
		for _, r := range rs {
			if dtlsVerdictOf(r) != "complete finished" || r.HS.Decryption == nil || r.HS.Decryption.Status != decoder.DecryptDecrypted {
				t.Errorf("%s udp %d: %s, decryption %+v", name, r.Stream, dtlsVerdictOf(r), r.HS.Decryption)
			}
		}
	}
}

// TestDTLSSharesUDPStreams: QUIC and DTLS connections in one capture are
// numbered by one udp.stream, and named alike.
func TestDTLSSharesUDPStreams(t *testing.T) {
	rs := analyzeKeys(t, "", filepath.Join(testdata, "quic", "complete.pcap"), filepath.Join(testdata, "netlab", "dtls-no-answer.client.pcap"))
	seen := map[StreamID]Transport{}
	for _, r := range rs {
		if _, dup := seen[r.ID()]; dup {
			t.Errorf("%s given twice", r.ID())
		}
		seen[r.ID()] = r.Transport
		id, err := ParseStreamID(fmt.Sprintf("udp:%d", r.Stream))
		if err != nil || id != r.ID() {
			t.Errorf("udp:%d selects %v, not %v", r.Stream, id, r.ID())
		}
	}
	var kinds []string
	for _, tr := range []Transport{TransportQUIC, TransportDTLS} {
		for _, v := range seen {
			if v == tr {
				kinds = append(kinds, tr.String())
				break
			}
		}
	}
	if fmt.Sprint(kinds) != "[quic dtls]" {
		t.Errorf("transports %v, want both", kinds)
	}
}

// TestDTLSCaptureViews: what a capture lacks is not judged as silence,
// and records alone start an association only when two datagrams read
// as DTLS (one could be a DNS message that happens to).
func TestDTLSCaptureViews(t *testing.T) {
	src := filepath.Join(testdata, "netlab", "dtls-openssl-listen.client.pcap")
	// The client's datagrams only (frames 3, 5, 7, 9, 10): it returned the
	// cookie and went on, so the server's datagrams are missing.
	client := testenv.KeepFrames(t, src, func(f int) bool { return f == 3 || f == 5 || f == 7 || f == 9 || f == 10 })
	r := oneDTLS(t, "", client)
	if dtlsVerdictOf(r) != "incomplete one_sided server" || !r.OneSided {
		t.Errorf("client's datagrams only: %s", dtlsVerdictOf(r))
	}
	// After the handshake (frames 9 to 11: application data, alerts): met
	// mid-stream on its records.
	r = oneDTLS(t, "", testenv.KeepFrames(t, src, func(f int) bool { return f >= 9 }))
	if dtlsVerdictOf(r) != "not_observed before_capture" || !r.DTLS.Midstream {
		t.Errorf("after the handshake: %s, midstream %v", dtlsVerdictOf(r), r.DTLS.Midstream)
	}
	// One datagram of records is not enough.
	if rs := analyzeKeys(t, "", testenv.KeepFrames(t, src, func(f int) bool { return f == 9 })); len(rs) != 0 {
		t.Errorf("one datagram of records: %d results, want none", len(rs))
	}
}

// TestDTLSLive: live, a completed DTLS handshake is said while its
// association is open, and an unanswered one is said as stalled while
// open, then updated when it ends.
func TestDTLSLive(t *testing.T) {
	got := liveRun(t, filepath.Join(testdata, "netlab", "dtls-pion-srtp.client.pcap"), 0)
	if len(got) != 1 || got[0].Outcome != Complete || !got[0].Open || got[0].Update || got[0].Transport != TransportDTLS {
		t.Errorf("complete: %d results; want one complete while open", len(got))
	}
	got = liveRun(t, filepath.Join(testdata, "netlab", "dtls-no-answer.client.pcap"), time.Second)
	if len(got) != 2 || got[0].Outcome != Stalled || !got[0].Open || got[0].Reason.Kind != ReasonNoAnswer || !got[1].Update || got[1].Open || got[1].Outcome != Stalled {
		for _, r := range got {
			t.Logf("%s open %v update %v", dtlsVerdictOf(r), r.Open, r.Update)
		}
		t.Fatalf("unanswered: %d results; want a stall while open, then its update", len(got))
	}
}

// firstUDPPayload is the payload of the first UDP datagram of file.
func firstUDPPayload(t *testing.T, file string) []byte {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	for {
		data, _, err := rd.ReadPacketData()
		if err != nil {
			t.Fatal("no UDP datagram")
		}
		p := gopacket.NewPacket(data, rd.LinkType(), gopacket.Default)
		if u, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
			return u.Payload
		}
	}
}

// TestDTLSUndecidedBounded: conversations whose datagrams start like
// DTLS's without reading as DTLS are remembered at most maxDTLSChecked
// at once, and one that sent dtlsGiveUp of them is decided not DTLS.
func TestDTLSUndecidedBounded(t *testing.T) {
	defer func(n int) { maxDTLSChecked = n }(maxDTLSChecked)
	maxDTLSChecked = 4
	hello := firstUDPPayload(t, filepath.Join(testdata, "netlab", "dtls-openssl-listen.client.pcap"))
	// A handshake record whose fragment does not fit: not DTLS.
	junk := []byte{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 5}
	a := NewAnalyzer(DefaultOptions)
	for port := range 10 {
		feed(a, 0, udpFrame(t, "192.0.2.1", "198.51.100.2", 40000+port, 53, junk))
	}
	if n := len(a.dtls.checked); n != 4 {
		t.Errorf("%d conversations remembered, want 4", n)
	}
	// Given up after dtlsGiveUp: a hello then is not followed.
	for range dtlsGiveUp {
		feed(a, time.Millisecond, udpFrame(t, "192.0.2.1", "198.51.100.2", 40000, 53, junk))
	}
	feed(a, 2*time.Millisecond, udpFrame(t, "192.0.2.1", "198.51.100.2", 40000, 53, hello))
	// Not remembered (the table is full): looked at every time.
	for range 2 * dtlsGiveUp {
		feed(a, time.Millisecond, udpFrame(t, "192.0.2.1", "198.51.100.2", 40009, 53, junk))
	}
	feed(a, 2*time.Millisecond, udpFrame(t, "192.0.2.1", "198.51.100.2", 40009, 53, hello))
	// Not yet (one short of it, the first included): the hello starts an
	// association.
	for range dtlsGiveUp - 2 {
		feed(a, time.Millisecond, udpFrame(t, "192.0.2.1", "198.51.100.2", 40001, 53, junk))
	}
	feed(a, 2*time.Millisecond, udpFrame(t, "192.0.2.1", "198.51.100.2", 40001, 53, hello))
	var ports []int
	for _, r := range a.Finish() {
		ports = append(ports, int(r.Client.Port()))
	}
	if fmt.Sprint(ports) != "[40001 40009]" {
		t.Errorf("associations from ports %v, want 40001 and 40009", ports)
	}
}

// icmpFrame is an ICMPv4 error of type and code from src quoting the
// first 28 bytes of the IPv4 packet in frame (an Ethernet frame).
func icmpFrame(t *testing.T, src, dst string, typ, code uint8, frame []byte) []byte {
	t.Helper()
	quoted := frame[14 : 14+28]
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
	icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, code)}
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, EthernetType: layers.EthernetTypeIPv4}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, icmp, gopacket.Payload(quoted)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestDTLSRefusedByICMP: a port unreachable answering the ClientHellos
// is the server's host refusing them, not a silence.
func TestDTLSRefusedByICMP(t *testing.T) {
	hello := firstUDPPayload(t, filepath.Join(testdata, "netlab", "dtls-openssl-listen.client.pcap"))
	a := NewAnalyzer(DefaultOptions)
	for i, at := range []time.Duration{0, time.Second, 3 * time.Second} {
		again := bytes.Clone(hello)
		again[10] = byte(i) // the record number: a resend is a new record
		ch := udpFrame(t, "192.0.2.1", "198.51.100.2", 40000, 4433, again)
		feed(a, at, ch)
		if i < 2 {
			feed(a, at+time.Millisecond, icmpFrame(t, "198.51.100.2", "192.0.2.1", 3, 3, ch))
		}
	}
	rs := a.Finish()
	if len(rs) != 1 {
		t.Fatalf("%d results", len(rs))
	}
	r := rs[0]
	if dtlsVerdictOf(r) != "closed refused_icmp server" || len(r.ICMP) != 2 || r.ICMP[0].About != decoder.Client {
		t.Errorf("%s, ICMP %+v; want closed, refused by ICMP about the client's datagrams", dtlsVerdictOf(r), r.ICMP)
	}
}

// TestDTLSDuplicateIsNoResend: the same datagram twice (a copy made by
// the network, its record number the same) is no ClientHello sent again.
func TestDTLSDuplicateIsNoResend(t *testing.T) {
	hello := firstUDPPayload(t, filepath.Join(testdata, "netlab", "dtls-openssl-listen.client.pcap"))
	a := NewAnalyzer(DefaultOptions)
	feed(a, 0, udpFrame(t, "192.0.2.1", "198.51.100.2", 40000, 4433, hello))
	feed(a, time.Millisecond, udpFrame(t, "192.0.2.1", "198.51.100.2", 40000, 4433, hello))
	rs := a.Finish()
	if len(rs) != 1 || rs[0].DTLS.ClientHelloResent != 0 || rs[0].DTLS.Stats.Duplicates[decoder.Client] != 1 || len(rs[0].Events) != 0 {
		t.Errorf("%d results; want one, nothing sent again, one duplicate", len(rs))
	}
}

// TestDTLSIdleExpiry: an association quiet for the idle timeout while the
// capture goes on ends then, its silence a lower bound.
func TestDTLSIdleExpiry(t *testing.T) {
	hello := firstUDPPayload(t, filepath.Join(testdata, "netlab", "dtls-openssl-listen.client.pcap"))
	a := NewAnalyzer(DefaultOptions)
	feed(a, 0, udpFrame(t, "192.0.2.1", "198.51.100.2", 40000, 4433, hello))
	// Other traffic goes on past the idle timeout.
	feed(a, DefaultOptions.IdleTimeout+2*time.Second, udpFrame(t, "192.0.2.9", "198.51.100.9", 5000, 53, []byte{0x80, 0, 0, 0}))
	if a.dtls.list.n != 0 {
		t.Errorf("%d associations still open after the idle timeout", a.dtls.list.n)
	}
	rs := a.Finish()
	if len(rs) != 1 || rs[0].EndedBy != EndedIdle || rs[0].Stall == nil || !rs[0].Stall.AtLeast || rs[0].Outcome != Stalled {
		t.Fatalf("%d results; want one stalled, ended idle, its silence at least the idle timeout", len(rs))
	}
}
