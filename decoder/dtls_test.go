package decoder

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/tlsscope/tlsscope/internal/testenv"
)

// udpDatagram is one UDP payload of a capture.
type udpDatagram struct {
	frame    int64
	t        time.Time
	src, dst string // address:port
	payload  []byte
}

// readUDP reads the UDP datagrams of a pcap file (decoder must not import
// flows: the test reads the file itself).
func readUDP(tb testing.TB, file string) []udpDatagram {
	tb.Helper()
	fh, err := os.Open(file)
	if err != nil {
		tb.Fatal(err)
	}
	defer fh.Close()
	r, err := pcapgo.NewReader(fh)
	if err != nil {
		tb.Fatal(err)
	}
	var out []udpDatagram
	for frame := int64(1); ; frame++ {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		p := gopacket.NewPacket(data, r.LinkType(), gopacket.Default)
		udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if udp == nil || p.NetworkLayer() == nil {
			continue
		}
		nf := p.NetworkLayer().NetworkFlow()
		out = append(out, udpDatagram{frame: frame, t: ci.Timestamp, payload: udp.Payload,
			src: nf.Src().String() + ":" + strconv.Itoa(int(udp.SrcPort)), dst: nf.Dst().String() + ":" + strconv.Itoa(int(udp.DstPort))})
	}
	return out
}

// dtlsFlow is one association fed from a capture.
type dtlsFlow struct {
	conn   *DTLSConn
	client string // the endpoint whose hello started it (Dir 0)
	facts  map[int64]DTLSDatagram
}

// feedDTLS follows every UDP flow of file that starts with a DTLS hello, as
// a caller would: from that datagram on, the datagrams whose first byte is
// DTLS's (20–63, RFC 7983 §7) go to the association, the rest (STUN, RTP)
// not. Flows are in the order they started.
func feedDTLS(tb testing.TB, file string) []*dtlsFlow {
	tb.Helper()
	byKey := map[string]*dtlsFlow{}
	var flows []*dtlsFlow
	for _, d := range readUDP(tb, file) {
		key := d.src + "|" + d.dst
		if d.dst < d.src {
			key = d.dst + "|" + d.src
		}
		f := byKey[key]
		if f == nil {
			if DetectDTLS(d.payload) != DTLSHello {
				continue
			}
			f = &dtlsFlow{conn: NewDTLSConn(false), client: d.src, facts: map[int64]DTLSDatagram{}}
			byKey[key] = f
			flows = append(flows, f)
		}
		if len(d.payload) == 0 || d.payload[0] < 20 || d.payload[0] > 63 {
			continue
		}
		dir := Dir(0)
		if d.src != f.client {
			dir = 1
		}
		f.facts[d.frame] = f.conn.Datagram(dir, d.payload, d.frame, d.t)
	}
	for _, f := range flows {
		f.conn.Flush(time.Time{})
	}
	return flows
}

func zeekTrace(tb testing.TB, name string) string {
	tb.Helper()
	return filepath.Join(testenv.NeedShared(tb, ".."), "zeek", "testing", "btest", "Traces", name)
}

// oneFlow feeds file and returns its single association.
func oneFlow(t *testing.T, name string) *dtlsFlow {
	t.Helper()
	flows := feedDTLS(t, zeekTrace(t, name))
	if len(flows) != 1 {
		t.Fatalf("%s: %d DTLS flows, want 1", name, len(flows))
	}
	return flows[0]
}

func TestDTLS10CookieExchange(t *testing.T) {
	f := oneFlow(t, "tls/dtls1_0.pcap")
	hs := f.conn.Snapshot()
	if hs.HelloVerifyRequest == nil || len(hs.HelloVerifyRequest.Cookie) != 20 {
		t.Fatalf("HelloVerifyRequest %+v, want one with a 20-byte cookie", hs.HelloVerifyRequest)
	}
	if hs.ClientHello == nil || len(hs.ClientHello.DTLSCookie()) != 0 || hs.RetryClientHello == nil ||
		string(hs.RetryClientHello.DTLSCookie()) != string(hs.HelloVerifyRequest.Cookie) {
		t.Fatalf("ClientHellos: the second must return the cookie: %+v / %+v", hs.ClientHello, hs.RetryClientHello)
	}
	if v := hs.Version(); v != VersionDTLS10 || VersionName(v) != "DTLS 1.0" {
		t.Errorf("version %s, want DTLS 1.0", VersionName(v))
	}
	if s := CipherSuiteName(hs.ServerHello.CipherSuite); s != "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA" {
		t.Errorf("suite %s", s)
	}
	if hs.ServerKeyExchange == nil || GroupName(hs.ServerKeyExchange.Group) != "secp256r1" {
		t.Errorf("ServerKeyExchange %+v, want secp256r1", hs.ServerKeyExchange)
	}
	if st := f.conn.State(); st.Phase != PhaseComplete {
		t.Errorf("phase %s (waiting %s for %s), want complete", st.Phase, st.Waiting, st.Next)
	}
	// Four datagrams carry ClientHello fragments: two messages, each sent
	// once in two fragments.
	if n, first, last := f.conn.Sent(Client, MsgClientHello); n != 2 || first != 1 || last != 5 {
		t.Errorf("ClientHello sent %d times, frames %d..%d; want 2, 1..5", n, first, last)
	}
	if len(hs.Problems) != 0 {
		t.Errorf("problems: %+v", hs.Problems)
	}
	// After the HelloVerifyRequest the client owes its ClientHello again.
	c := NewDTLSConn(false)
	for _, d := range readUDP(t, zeekTrace(t, "tls/dtls1_0.pcap"))[:3] {
		c.Datagram(Dir(d.frame/3), d.payload, d.frame, d.t)
	}
	if st := c.State(); st.Waiting != Client || st.Next != MsgClientHello || c.Handshake().HelloVerifyRequest == nil {
		t.Errorf("after the HelloVerifyRequest: waiting %s for %s", st.Waiting, st.Next)
	}
	// Flights (RFC 6347 §4.2.4): CH, HVR, CH, server flight, client flight, server CCS+Finished.
	want := map[int64]int{1: 1, 2: 1, 3: 2, 4: 3, 5: 3, 6: 4, 7: 5, 8: 6}
	for frame, fl := range want {
		if got := f.facts[frame].Flight; got != fl {
			t.Errorf("frame %d: flight %d, want %d", frame, got, fl)
		}
	}
}

func TestDTLS12FragmentedCertificate(t *testing.T) {
	f := oneFlow(t, "tls/dtls1_2.pcap")
	hs := f.conn.Snapshot()
	if v := hs.Version(); v != VersionDTLS12 {
		t.Errorf("version %s, want DTLS 1.2", VersionName(v))
	}
	if s := CipherSuiteName(hs.ServerHello.CipherSuite); s != "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" {
		t.Errorf("suite %s", s)
	}
	if len(hs.ServerCertificates) != 1 {
		t.Fatalf("%d server certificates, want the one of the 874-byte Certificate in 5 fragments", len(hs.ServerCertificates))
	}
	c := hs.ServerCertificates[0]
	if !strings.Contains(c.Subject, "Internet Widgits Pty Ltd") || !strings.Contains(c.Subject, "Some-State") {
		t.Errorf("certificate subject %q", c.Subject)
	}
	m := hs.First(Server, MsgCertificate)
	if m == nil || m.Frame != 10 || m.Length != 874 {
		t.Errorf("Certificate ladder entry %+v, want 874 bytes completed in frame 10 (as tshark shows it)", m)
	}
	if st := f.conn.State(); st.Phase != PhaseComplete {
		t.Errorf("phase %s (waiting %s for %s), want complete", st.Phase, st.Waiting, st.Next)
	}
	if f.conn.Held() != 0 {
		t.Errorf("%d bytes still held after the handshake", f.conn.Held())
	}
}

func TestDTLS13WolfSSL(t *testing.T) {
	f := oneFlow(t, "tls/dtls13-wolfssl.pcap")
	hs := f.conn.Snapshot()
	if hs.HelloRetryRequest == nil || hs.RetryClientHello == nil {
		t.Errorf("want a HelloRetryRequest and the ClientHello again")
	}
	if v := hs.Version(); v != VersionDTLS13 || VersionName(v) != "DTLS 1.3" {
		t.Errorf("version %s, want DTLS 1.3", VersionName(v))
	}
	if s := CipherSuiteName(hs.ServerHello.CipherSuite); s != "TLS_AES_128_GCM_SHA256" {
		t.Errorf("suite %s", s)
	}
	st := f.conn.Stats()
	if st.Unified != [2]int{3, 8} {
		t.Errorf("unified-header records %v, want client 3, server 8", st.Unified)
	}
	if ph := f.conn.State().Phase; ph != PhaseComplete {
		t.Errorf("phase %s, want complete (zeek: established)", ph)
	}
	if f.facts[5].Records[0].Epoch != 2 || !f.facts[5].Records[0].Unified || f.facts[15].Records[0].Epoch != 3 {
		t.Errorf("epoch bits: frame 5 %+v, frame 15 %+v", f.facts[5].Records, f.facts[15].Records)
	}
}

func TestDTLS13ConnectionIDs(t *testing.T) {
	flows := feedDTLS(t, zeekTrace(t, "tls/dtls13-cid.pcap"))
	if len(flows) != 5 {
		t.Fatalf("%d flows, want 5", len(flows))
	}
	// Zeek's ssl-all.log (its second section, whose first line is
	// dtls13-wolfssl.pcap's): two established, three never answered
	// after 3, 4 and 3 ClientHellos (history CCC, CCCC, CCC).
	var complete int
	var unanswered []int
	for _, f := range flows {
		hs := f.conn.Snapshot()
		switch {
		case hs.ServerHello != nil && f.conn.State().Phase == PhaseComplete && hs.Version() == VersionDTLS13:
			complete++
		case hs.ServerHello == nil:
			n, _, _ := f.conn.Sent(Client, MsgClientHello)
			unanswered = append(unanswered, n)
			if st := f.conn.State(); st.Waiting != Server || st.Next != MsgServerHello {
				t.Errorf("unanswered flow: waiting %s for %s", st.Waiting, st.Next)
			}
		}
	}
	if complete != 2 || fmt.Sprint(unanswered) != "[3 4 3]" {
		t.Errorf("%d complete, unanswered after %v ClientHellos; want 2, [3 4 3]", complete, unanswered)
	}
	f := flows[1] // udp.stream 1: CIDs of both sides
	if f.conn.Stats().CIDGuessed {
		t.Error("the hellos give the CID lengths: nothing to guess")
	}
	r := f.facts[8].Records
	if len(r) != 1 || string(r[0].CID) != "I am a client CID" {
		t.Errorf("frame 8 (server to client): %+v, want the client's CID", r)
	}
	if r := f.facts[14].Records; len(r) == 0 || string(r[0].CID) != "fancy server CID" {
		t.Errorf("frame 14 (client to server): %+v, want the server's CID", r)
	}
	// Without the hellos (udp.stream 1 from its first protected record),
	// the CIDs' lengths are guessed from the records' length fields:
	// right on every record.
	c := NewDTLSConn(true)
	for _, d := range readUDP(t, zeekTrace(t, "tls/dtls13-cid.pcap")) {
		if d.frame < 8 || d.frame > 18 {
			continue
		}
		dir, cid := Dir(1), "I am a client CID"
		if strings.HasSuffix(d.dst, ":11111") {
			dir, cid = 0, "fancy server CID"
		}
		r := c.Datagram(dir, d.payload, d.frame, d.t)
		if len(r.Records) != 1 || string(r.Records[0].CID) != cid || r.Trailing != 0 {
			t.Errorf("frame %d without the hellos: %+v", d.frame, r)
		}
	}
	if !c.Stats().CIDGuessed {
		t.Error("CID lengths guessed, and not said")
	}
}

func TestDTLSSequenceNumberJumps(t *testing.T) {
	f := oneFlow(t, "tls/dtls-sequence-number-jumps.pcap")
	hs := f.conn.Snapshot()
	if hs.ClientHello == nil {
		t.Fatal("the ClientHello in three fragments (record numbers 0, 128, 256) was not reassembled")
	}
	if hs.ServerHello == nil || hs.Version() != VersionDTLS13 {
		t.Errorf("ServerHello %+v", hs.ServerHello)
	}
	if f.conn.Held() != 0 {
		t.Errorf("%d bytes held", f.conn.Held())
	}
}

func TestDTLSWebRTCClientCertificates(t *testing.T) {
	f := oneFlow(t, "tls/webrtc-stun.pcap")
	hs := f.conn.Snapshot()
	if len(hs.ServerCertificates) != 1 || len(hs.ClientCertificates) != 1 {
		t.Fatalf("certificates: server %d, client %d; want one each", len(hs.ServerCertificates), len(hs.ClientCertificates))
	}
	if cn := hs.ClientCertificates[0].CommonName; cn != "mantis.tokbox.com" {
		t.Errorf("client certificate CN %q", cn)
	}
	if hs.Version() != VersionDTLS10 || CipherSuiteName(hs.ServerHello.CipherSuite) != "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA" {
		t.Errorf("%s %s", VersionName(hs.Version()), CipherSuiteName(hs.ServerHello.CipherSuite))
	}
	if len(hs.ClientHello.SRTPProfiles()) == 0 || hs.ServerHello.SRTPProfile == 0 {
		t.Errorf("use_srtp: offered %v, chosen %s", hs.ClientHello.SRTPProfiles(), SRTPProfileName(hs.ServerHello.SRTPProfile))
	}
	if st := f.conn.State(); st.Phase != PhaseComplete {
		t.Errorf("phase %s (waiting %s for %s)", st.Phase, st.Waiting, st.Next)
	}
}

// TestDTLSDetect checks DetectDTLS against tshark, which finds DTLS by
// content too: a datagram is DTLS for one exactly when for the other.
// Negatives: DNS, STUN (webrtc-stun.pcap shares its port with DTLS), and
// DTLS 1.3's unified headers alone, which tshark 4.0 does not take.
func TestDTLSDetect(t *testing.T) {
	for _, name := range []string{"dns-txt-multiple.pcap", "tls/webrtc-stun.pcap", "tls/dtls1_0.pcap", "tls/dtls1_2.pcap",
		"tls/dtls13-wolfssl.pcap", "tls/dtls13-cid.pcap", "tls/dtls-sequence-number-jumps.pcap"} {
		file := zeekTrace(t, name)
		out, err := testenv.TSharkOutput(t, file, append(testenv.TSharkArgs(file), "-T", "fields", "-e", "frame.number", "-e", "dtls.record.content_type")...)
		if err != nil {
			t.Fatal(err)
		}
		tsharkDTLS := map[int64]bool{}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			fields := strings.Split(line, "\t")
			n, _ := strconv.ParseInt(fields[0], 10, 64)
			tsharkDTLS[n] = len(fields) > 1 && fields[1] != ""
		}
		hellos := 0
		for _, d := range readUDP(t, file) {
			ev := DetectDTLS(d.payload)
			if (ev != DTLSNone) != tsharkDTLS[d.frame] {
				t.Errorf("%s frame %d: DetectDTLS %d, tshark DTLS %v", name, d.frame, ev, tsharkDTLS[d.frame])
			}
			if ev == DTLSHello {
				hellos++
			}
		}
		if name == "dns-txt-multiple.pcap" && len(tsharkDTLS) == 0 {
			t.Errorf("%s: no frames", name)
		}
		t.Logf("%s: %d datagrams start with a hello", name, hellos)
	}
}

// TestDTLSTSharkDifferential compares, frame by frame, the handshake
// messages read (by their fragments) and the hellos' fields with tshark's.
func TestDTLSTSharkDifferential(t *testing.T) {
	for _, name := range []string{"testdata/dtls-openssl.pcap", "testdata/dtls-gnutls.pcap", "tls/webrtc-stun.pcap", "tls/dtls1_0.pcap",
		"tls/dtls1_2.pcap", "tls/dtls13-wolfssl.pcap", "tls/dtls13-cid.pcap", "tls/dtls-sequence-number-jumps.pcap"} {
		file := name
		if !strings.HasPrefix(name, "testdata/") {
			file = zeekTrace(t, name)
		}
		out, err := testenv.TSharkOutput(t, file, append(testenv.TSharkArgs(file), "-T", "fields", "-E", "occurrence=a",
			"-e", "frame.number", "-e", "dtls.handshake.type", "-e", "dtls.handshake.fragment_offset")...)
		if err != nil {
			t.Fatal(err)
		}
		want := map[int64]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			fields := strings.Split(line, "\t")
			n, _ := strconv.ParseInt(fields[0], 10, 64)
			if len(fields) > 2 && fields[1] != "" {
				want[n] = fields[1] + "/" + fields[2]
			}
		}
		got := map[int64]string{}
		for _, f := range feedDTLS(t, file) {
			for frame, d := range f.facts {
				var types, offs []string
				for _, r := range d.Records {
					for _, fr := range r.Fragments {
						types = append(types, strconv.Itoa(int(fr.Type)))
						offs = append(offs, strconv.Itoa(fr.Offset))
					}
				}
				if len(types) > 0 {
					got[frame] = strings.Join(types, ",") + "/" + strings.Join(offs, ",")
				}
			}
		}
		for frame, w := range want {
			if got[frame] != w {
				t.Errorf("%s frame %d: fragments %q, tshark %q", name, frame, got[frame], w)
			}
		}
		for frame, g := range got {
			if want[frame] == "" {
				t.Errorf("%s frame %d: fragments %q, tshark none", name, frame, g)
			}
		}
		checkHelloFields(t, file, name)
	}
}

// checkHelloFields compares versions, suites and SNI of the hellos.
func checkHelloFields(t *testing.T, file, name string) {
	out, err := testenv.TSharkOutput(t, file, append(testenv.TSharkArgs(file), "-Y", "dtls.handshake.type == 1 || dtls.handshake.type == 2",
		"-T", "fields", "-E", "occurrence=f", "-e", "dtls.handshake.type", "-e", "dtls.handshake.version",
		"-e", "dtls.handshake.ciphersuite", "-e", "dtls.handshake.extensions_server_name")...)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range feedDTLS(t, file) {
		hs := f.conn.Snapshot()
		for _, ch := range []*ClientHello{hs.ClientHello, hs.RetryClientHello} {
			if ch != nil {
				seen[strings.TrimRight(fmt.Sprintf("1\t0x%04x\t0x%04x\t%s", ch.Version, ch.CipherSuites[0], ch.ServerName), "\t")] = true
			}
		}
		for _, sh := range []*ServerHello{hs.HelloRetryRequest, hs.ServerHello} {
			if sh != nil {
				seen[fmt.Sprintf("2\t0x%04x\t0x%04x", sh.Version, sh.CipherSuite)] = true
			}
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		line = strings.TrimRight(line, "\t")
		if line == "1" || strings.HasPrefix(line, "1\t\t") {
			continue // a ClientHello's later fragment: tshark shows the type only
		}
		if line != "" && !seen[line] {
			t.Errorf("%s: tshark's hello %q not read (read: %v)", name, line, seen)
		}
	}
}

// resequence gives every record of a datagram a new record number, as a
// sender retransmitting a flight does (RFC 6347 §4.2.4: "the same
// message_seq, a new record sequence number").
func resequence(b []byte, add byte) []byte {
	b = append([]byte{}, b...)
	for i := 0; i+dtlsHeaderLen <= len(b); {
		b[i+10] += add
		i += dtlsHeaderLen + (int(b[i+11])<<8 | int(b[i+12]))
	}
	return b
}

// TestDTLSFlightRetransmitted sends dtls1_0.pcap's client flight (CKE,
// ChangeCipherSpec, Finished) twice: once read, once counted.
func TestDTLSFlightRetransmitted(t *testing.T) {
	c := NewDTLSConn(false)
	var flight DTLSDatagram
	for _, d := range readUDP(t, zeekTrace(t, "tls/dtls1_0.pcap")) {
		dir := Dir(0)
		if strings.HasSuffix(d.src, ":4433") {
			dir = 1
		}
		c.Datagram(dir, d.payload, d.frame, d.t)
		if d.frame == 7 {
			flight = c.Datagram(dir, resequence(d.payload, 100), 100, d.t.Add(time.Second))
		}
	}
	if !flight.Retransmission || flight.Flight != 5 || !flight.Records[1].Retransmission || !flight.Records[2].Retransmission {
		t.Errorf("the flight sent again: %+v", flight)
	}
	hs := c.Snapshot()
	var ccs, fin int
	for _, m := range hs.Messages {
		if m.From == Client && m.Type == MsgChangeCipherSpec {
			ccs++
		}
		if m.From == Client && m.Type == MsgFinished {
			fin++
		}
	}
	if ccs != 1 || fin != 1 {
		t.Errorf("client ChangeCipherSpec ×%d, Finished ×%d in the ladder; want 1 each", ccs, fin)
	}
	if n, _, last := c.Sent(Client, MsgClientKeyExchange); n != 2 || last != 100 {
		t.Errorf("ClientKeyExchange sent %d times, last in frame %d", n, last)
	}
	if st := c.Stats(); st.ChangeCipherSpecs[Client] != 2 || st.Retransmitted[Client] != 1 {
		t.Errorf("stats %+v", st)
	}
	if ph := c.State().Phase; ph != PhaseComplete {
		t.Errorf("phase %s", ph)
	}
}

// TestDTLSDecryptOpenSSL reads testdata/dtls-openssl.pcap, made by
// OpenSSL 3 on the loopback (s_server -listen, so with a cookie
// exchange; -mtu 500, so with a fragmented Certificate; s_client
// -keylogfile), one association per cipher: DTLS 1.2 with AES-128-GCM,
// ChaCha20-Poly1305, AES-256-CBC-SHA with encrypt_then_mac,
// AES-128-CBC-SHA256 without it (-no_etm), and DTLS 1.0 with
// AES-128-CBC-SHA. Each client sent "hello-PORT\n" and both sides a
// close_notify. With the key log every protected record opens and both
// Finished messages verify against the transcript (RFC 6347 §4.2.6: DTLS
// headers, without the first ClientHello and the HelloVerifyRequest).
func TestDTLSDecryptOpenSSL(t *testing.T) {
	log := readKeyLog(t, "testdata/dtls-openssl.keys")
	want := []struct {
		version uint16
		suite   string
	}{{VersionDTLS12, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}, {VersionDTLS12, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
		{VersionDTLS12, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"}, {VersionDTLS12, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"},
		{VersionDTLS10, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"}}
	for _, keyed := range []bool{true, false} {
		flows := feedKeyed(t, "testdata/dtls-openssl.pcap", log, keyed)
		if len(flows) != len(want) {
			t.Fatalf("%d flows, want %d", len(flows), len(want))
		}
		for i, f := range flows {
			hs := f.conn.Snapshot()
			name := fmt.Sprintf("flow %d (%s, keys %v)", i, want[i].suite, keyed)
			if hs.Version() != want[i].version || CipherSuiteName(hs.ServerHello.CipherSuite) != want[i].suite {
				t.Errorf("%s: %s %s", name, VersionName(hs.Version()), CipherSuiteName(hs.ServerHello.CipherSuite))
			}
			if hs.HelloVerifyRequest == nil || len(hs.ServerCertificates) != 1 || hs.ServerCertificates[0].CommonName != "dtls.test" {
				t.Errorf("%s: HelloVerifyRequest %v, certificates %d", name, hs.HelloVerifyRequest != nil, len(hs.ServerCertificates))
			}
			if ph := f.conn.State().Phase; ph != PhaseComplete {
				t.Errorf("%s: phase %s", name, ph)
			}
			var alerts []string
			for _, a := range hs.Alerts {
				alerts = append(alerts, a.From.String()+" "+a.DescriptionName())
			}
			if !keyed {
				if hs.Decryption.Status != DecryptNoKeys || hs.Finished != [2]FinishedCheck{} {
					t.Errorf("%s: %s, Finished %v", name, hs.Decryption.Status, hs.Finished)
				}
				if fmt.Sprint(alerts) != "[client encrypted server encrypted]" {
					t.Errorf("%s: alerts %v", name, alerts)
				}
				continue
			}
			d := hs.Decryption
			if d.Status != DecryptDecrypted || d.Opened != [2]int{3, 2} {
				t.Errorf("%s: %s (%s), opened %v, unopened %v", name, d.Status, d.Reason, d.Opened, d.Unopened)
			}
			if hs.Finished != [2]FinishedCheck{FinishedVerified, FinishedVerified} {
				t.Errorf("%s: Finished %v", name, hs.Finished)
			}
			if fmt.Sprint(alerts) != "[client close_notify server close_notify]" {
				t.Errorf("%s: alerts %v", name, alerts)
			}
		}
	}
}

func readKeyLog(t *testing.T, file string) *KeyLog {
	t.Helper()
	log := NewKeyLog()
	fh, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, _, err := log.Add(file, fh); err != nil {
		t.Fatal(err)
	}
	return log
}

// feedKeyed feeds each UDP flow of file to an association (its first
// datagram's sender the client), with the key log when keyed.
func feedKeyed(t *testing.T, file string, log *KeyLog, keyed bool) []*dtlsFlow {
	keys := NewLogKeys(log)
	var flows []*dtlsFlow
	byKey := map[string]*dtlsFlow{}
	for _, d := range readUDP(t, file) {
		key := d.src + "|" + d.dst
		if d.dst < d.src {
			key = d.dst + "|" + d.src
		}
		f := byKey[key]
		if f == nil {
			f = &dtlsFlow{conn: NewDTLSConn(true), client: d.src, facts: map[int64]DTLSDatagram{}}
			if keyed {
				f.conn.SetKeys(keys)
			}
			byKey[key] = f
			flows = append(flows, f)
		}
		dir := Dir(0)
		if d.src != f.client {
			dir = 1
		}
		f.facts[d.frame] = f.conn.Datagram(dir, d.payload, d.frame, d.t)
	}
	return flows
}

// TestDTLSDecryptGnuTLS reads testdata/dtls-gnutls.pcap, made by GnuTLS
// 3.7 on the loopback (gnutls-serv --udp --mtu 400, gnutls-cli --udp with
// SSLKEYLOGFILE): a cookie exchange, a server asking for a client
// certificate and getting an empty one, a NewSessionTicket in two
// fragments, AES-256-GCM.
func TestDTLSDecryptGnuTLS(t *testing.T) {
	flows := feedKeyed(t, "testdata/dtls-gnutls.pcap", readKeyLog(t, "testdata/dtls-gnutls.keys"), true)
	if len(flows) != 1 {
		t.Fatalf("%d flows", len(flows))
	}
	c := flows[0].conn
	hs := c.Snapshot()
	if hs.Version() != VersionDTLS12 || CipherSuiteName(hs.ServerHello.CipherSuite) != "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" {
		t.Errorf("%s %s", VersionName(hs.Version()), CipherSuiteName(hs.ServerHello.CipherSuite))
	}
	if hs.HelloVerifyRequest == nil || !hs.CertificateRequested || len(hs.ClientCertificates) != 0 || len(hs.SessionTickets) != 1 {
		t.Errorf("HelloVerifyRequest %v, certificate requested %v, client certificates %d, tickets %d",
			hs.HelloVerifyRequest != nil, hs.CertificateRequested, len(hs.ClientCertificates), len(hs.SessionTickets))
	}
	if d := hs.Decryption; d.Status != DecryptDecrypted || hs.Finished != [2]FinishedCheck{FinishedVerified, FinishedVerified} {
		t.Errorf("decryption %s (%s), Finished %v", d.Status, d.Reason, hs.Finished)
	}
	if ph := c.State().Phase; ph != PhaseComplete {
		t.Errorf("phase %s", ph)
	}
}

// TestDTLSReorderedAndLostDatagrams feeds dtls1_2.pcap with the server's
// datagrams out of order, then without one Certificate fragment.
func TestDTLSReorderedAndLostDatagrams(t *testing.T) {
	all := readUDP(t, zeekTrace(t, "tls/dtls1_2.pcap"))
	feed := func(frames []int64) *DTLSConn {
		c := NewDTLSConn(false)
		for _, n := range frames {
			d := all[n-1]
			dir := Dir(0)
			if strings.HasSuffix(d.src, ":4400") {
				dir = 1
			}
			c.Datagram(dir, d.payload, d.frame, d.t)
		}
		return c
	}
	c := feed([]int64{1, 2, 3, 4, 5, 9, 7, 12, 6, 11, 8, 10, 13, 14, 15, 16})
	hs := c.Snapshot()
	if len(hs.ServerCertificates) != 1 || c.State().Phase != PhaseComplete || len(hs.Problems) != 0 {
		t.Errorf("reordered: %d certificates, phase %s, problems %+v", len(hs.ServerCertificates), c.State().Phase, hs.Problems)
	}
	// Frame 8 (bytes 324–527 of the Certificate) never came, and nothing
	// of the client after: the server is in the middle of its Certificate.
	c = feed([]int64{1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12})
	st := c.State()
	if st.Waiting != Server || st.Next != MsgCertificate || st.Sending != MsgCertificate || st.SendingLen != 874 || st.SendingHave != 874-203 {
		t.Errorf("a fragment lost: waiting %s for %s, sending %s %d of %d", st.Waiting, st.Next, st.Sending, st.SendingHave, st.SendingLen)
	}
	// The client answered all the same (the capture, not the client,
	// missed the fragment): the Certificate is listed as cut.
	c = feed([]int64{1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16})
	hs = c.Snapshot()
	var gap bool
	for _, p := range hs.Problems {
		gap = gap || p.Kind == ProblemCaptureGap && strings.Contains(p.Err, "671 of its 874 bytes")
	}
	if !gap || hs.ServerKeyExchange == nil || c.State().Phase != PhaseComplete {
		t.Errorf("capture lost a fragment: problems %+v, ServerKeyExchange %v, phase %s", hs.Problems, hs.ServerKeyExchange != nil, c.State().Phase)
	}
}
