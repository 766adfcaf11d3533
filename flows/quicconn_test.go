package flows

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/tlsscope/tlsscope/flows/quic"
)

// udpFrame is an Ethernet/IPv4/UDP frame from src to dst.
func udpFrame(t *testing.T, src, dst string, sport, dport int, payload []byte) []byte {
	t.Helper()
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	udp.SetNetworkLayerForChecksum(ip)
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, udp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// testClientHello is crypto/tls's QUIC ClientHello.
func testClientHello(t *testing.T) []byte {
	t.Helper()
	c := tls.QUICClient(&tls.QUICConfig{TLSConfig: &tls.Config{ServerName: "quic.test", NextProtos: []string{"h3"}, MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.X25519}}})
	c.SetTransportParameters([]byte{})
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for e := c.NextEvent(); e.Kind != tls.QUICNoEvent; e = c.NextEvent() {
		if e.Kind == tls.QUICWriteData {
			return append([]byte(nil), e.Data...)
		}
	}
	t.Fatal("no ClientHello")
	return nil
}

// sealedInitial is a v1 client Initial with one CRYPTO frame at offset,
// padded to 1200 bytes, protected with the keys of dcid.
func sealedInitial(t *testing.T, dcid []byte, offset uint64, data []byte) []byte {
	t.Helper()
	payload := []byte{0x06}
	payload = binary.BigEndian.AppendUint64(payload, 0xc000000000000000|offset)
	payload = binary.BigEndian.AppendUint16(payload, 0x4000|uint16(len(data)))
	payload = append(payload, data...)
	payload = append(payload, make([]byte, max(0, 1150-len(payload)))...)
	cl, _, err := quic.InitialSealers(quic.V1, dcid)
	if err != nil {
		t.Fatal(err)
	}
	pkt, err := cl.Seal(quic.Header{Type: quic.Initial, Version: quic.V1, DCID: dcid, SCID: []byte{1, 2, 3, 4}, PNLen: 2}, 0, payload)
	if err != nil {
		t.Fatal(err)
	}
	return pkt
}

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func feed(a *Analyzer, at time.Duration, frame []byte) {
	a.Packet(frame, gopacket.CaptureInfo{Timestamp: t0.Add(at), CaptureLength: len(frame), Length: len(frame)}, layers.LinkTypeEthernet)
}

// TestUDPStreamsAndNotQUIC: QUIC connections take Wireshark's udp.stream,
// which counts every UDP conversation (DNS too); UDP to 443 that is not
// QUIC is counted, not reported.
func TestUDPStreamsAndNotQUIC(t *testing.T) {
	hello := testClientHello(t)
	a := NewAnalyzer(DefaultOptions)
	feed(a, 0, udpFrame(t, "192.0.2.1", "192.0.2.53", 40000, 53, []byte("dns query")))
	feed(a, time.Millisecond, udpFrame(t, "192.0.2.53", "192.0.2.1", 53, 40000, []byte("dns answer")))
	feed(a, 2*time.Millisecond, udpFrame(t, "192.0.2.1", "198.51.100.1", 40001, 443, []byte("not quic at all, just text")))
	feed(a, 3*time.Millisecond, udpFrame(t, "192.0.2.1", "198.51.100.2", 40002, 443, sealedInitial(t, []byte{9, 9, 9, 9, 9, 9, 9, 9}, 0, hello)))
	rs := a.Finish()
	if len(rs) != 1 || rs[0].Transport != TransportQUIC || rs[0].Stream != 2 {
		t.Fatalf("results %+v; want one QUIC connection on udp.stream 2", rs)
	}
	r := rs[0]
	if r.HS.ClientHello == nil || r.HS.ClientHello.ServerName != "quic.test" || r.QUIC.ConnectionNumber != 0 || r.QUIC.NClientInitials != 1 {
		t.Errorf("ClientHello %+v, facts %+v", r.HS.ClientHello, r.QUIC)
	}
	if a.Stats.UDPNotQUIC != 1 || a.Stats.UDPPackets != 4 {
		t.Errorf("UDP %d, not QUIC %d; want 4 and 1", a.Stats.UDPPackets, a.Stats.UDPNotQUIC)
	}
}

// TestQUICHostileCryptoOffset: a CRYPTO frame far out is not buffered, is
// told, and the handshake is judged on the rest.
func TestQUICHostileCryptoOffset(t *testing.T) {
	a := NewAnalyzer(DefaultOptions)
	feed(a, 0, udpFrame(t, "192.0.2.1", "198.51.100.2", 40002, 443, sealedInitial(t, []byte{7, 7, 7, 7, 7, 7, 7, 7}, 1<<61, []byte("x"))))
	rs := a.Finish()
	if len(rs) != 1 {
		t.Fatalf("%d results", len(rs))
	}
	r := rs[0]
	if r.QUIC.CryptoProblem == "" || len(r.HS.Problems) != 1 || !strings.Contains(r.HS.Problems[0].Err, "client") || r.HS.ClientHello != nil {
		t.Errorf("crypto problem %q, problems %v", r.QUIC.CryptoProblem, r.HS.Problems)
	}
}

// TestQUICHeldBounded: a flood of Initials holds at most two fifths of
// MaxHandshakes connections; the quietest are judged early, all reported.
func TestQUICHeldBounded(t *testing.T) {
	hello := testClientHello(t)
	opts := DefaultOptions
	opts.MaxHandshakes = 10
	a := NewAnalyzer(opts)
	most := 0
	for i := range 20 {
		dcid := []byte{1, 2, 3, 4, 5, 6, 7, byte(i)}
		feed(a, time.Duration(i)*time.Millisecond, udpFrame(t, "10.0.0."+string(rune('0'+i%10)), "198.51.100.2", 1000+i, 443, sealedInitial(t, dcid, 0, hello)))
		most = max(most, a.quic.list.n)
	}
	rs := a.Finish()
	if most != 4 || len(rs) != 20 || a.Stats.JudgedEarly != 16 {
		t.Errorf("held at most %d (want 4), %d results (want 20), %d judged early (want 16)", most, len(rs), a.Stats.JudgedEarly)
	}
	for _, r := range rs {
		if r.Outcome != Incomplete || r.HS.ClientHello == nil {
			t.Errorf("stream %d: %s, ClientHello %v", r.Stream, r.Outcome, r.HS.ClientHello != nil)
		}
	}
}

// liveRun feeds a capture to a live analysis packet by packet, then ticks
// the clock past its end, and returns what OnResult received, in order.
func liveRun(t *testing.T, file string, after time.Duration) []*Result {
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
	a := NewAnalyzer(Options{Live: true})
	var got []*Result
	a.OnResult = func(r *Result) { got = append(got, r) }
	var last time.Time
	for {
		data, ci, err := rd.ReadPacketData()
		if err != nil {
			break
		}
		a.Packet(data, ci, rd.LinkType())
		last = ci.Timestamp
	}
	a.Tick(last.Add(after))
	a.Finish()
	return got
}

// TestQUICLive: live, a completed QUIC handshake is said while its
// connection is open, and an unanswered one is said as stalled once the
// stall timeout passes, then updated when it ends.
func TestQUICLive(t *testing.T) {
	got := liveRun(t, filepath.Join("..", "testdata", "quic", "complete.pcap"), 0)
	if len(got) != 1 || got[0].Outcome != Complete || !got[0].Open || got[0].Update {
		t.Errorf("complete: %d results; want one complete while open", len(got))
	}
	got = liveRun(t, filepath.Join("..", "testdata", "quic", "tcp-fallback.pcap"), 3*time.Second)
	var quicRs []*Result
	for _, r := range got {
		if r.Transport == TransportQUIC {
			quicRs = append(quicRs, r)
		}
	}
	if len(quicRs) != 2 || quicRs[0].Outcome != Stalled || !quicRs[0].Open || !quicRs[1].Update || quicRs[1].Open {
		t.Fatalf("unanswered: %d QUIC results; want a stall while open, then its update", len(quicRs))
	}
	if quicRs[1].Fallback == nil || quicRs[1].Fallback.Transport != TransportTCP {
		t.Errorf("the update has no link to the TCP fallback: %+v", quicRs[1].Fallback)
	}
}

// TestQUICServerInitialNeverCame: the server's Handshake packets arrive,
// its Initial never does; the client keeps sending Initials: the server
// owes its ServerHello.
func TestQUICServerInitialNeverCame(t *testing.T) {
	hello := testClientHello(t)
	a := NewAnalyzer(DefaultOptions)
	dcid := []byte{3, 3, 3, 3, 3, 3, 3, 3}
	feed(a, 0, udpFrame(t, "192.0.2.1", "198.51.100.2", 40002, 443, sealedInitial(t, dcid, 0, hello)))
	// Handshake packets under keys nobody has: opaque to the capture.
	hsKeys, err := quic.NewSealer(quic.V1, 0x1301, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		pkt, err := hsKeys.Seal(quic.Header{Type: quic.Handshake, Version: quic.V1, DCID: []byte{1, 2, 3, 4}, SCID: []byte{5, 5, 5, 5}, PNLen: 2}, int64(i), make([]byte, 600))
		if err != nil {
			t.Fatal(err)
		}
		feed(a, 20*time.Millisecond, udpFrame(t, "198.51.100.2", "192.0.2.1", 443, 40002, pkt))
	}
	for i, at := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		feed(a, at, udpFrame(t, "192.0.2.1", "198.51.100.2", 40002, 443, sealedInitial(t, dcid, uint64(i+1)*0, hello)))
	}
	rs := a.Finish()
	if len(rs) != 1 {
		t.Fatalf("%d results", len(rs))
	}
	r := rs[0]
	if r.Outcome != Stalled || r.Stall.Waiting != 1 || r.Stall.Next.String() != "ServerHello" || r.QUIC.Packets[1] != [3]int{0, 2, 0} {
		t.Errorf("%s, stall %+v, server packets %v; want the server owing its ServerHello", r.Outcome, r.Stall, r.QUIC.Packets[1])
	}
}
