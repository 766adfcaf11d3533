package capgen

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tlsscope/tlsscope/internal/testenv"
)

// quicFields are what TestTSharkSeesQUIC asks tshark about every packet.
var quicFields = []string{
	"ip.len", "ipv6.src", "udp.srcport", "udp.dstport", "udp.length", "quic.version", "quic.supported_version",
	"quic.long.packet_type", "quic.long.packet_type_v2", "quic.dcid", "quic.token_length", "quic.retry_token",
	"quic.frame_type", "quic.cc.error_code", "quic.cc.error_code.tls_alert", "tls.handshake.type",
	"tls.handshake.extensions_server_name", "tcp.stream",
	"tls.handshake.random",
}

// tsharkQUIC reads every packet of a QUIC capture with its key log
// (cached like every tshark run of the tests).
func tsharkQUIC(t *testing.T, name string) []testenv.Frame {
	t.Helper()
	file := filepath.Join(quicTestdata, name+".pcap")
	args := append([]string{"-o", "tls.keylog_file:" + filepath.Join(quicTestdata, name+".keys")}, testenv.TSharkArgs(file)...)
	args = append(args, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|")
	for _, f := range quicFields {
		args = append(args, "-e", f)
	}
	out, err := testenv.TSharkOutput(t, file, args...)
	if err != nil {
		t.Fatalf("tshark %s: %v", name, err)
	}
	var frames []testenv.Frame
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		f := testenv.Frame{}
		for i, v := range strings.Split(line, "\t") {
			if v != "" && i < len(quicFields) {
				f[quicFields[i]] = strings.Split(v, "|")
			}
		}
		frames = append(frames, f)
	}
	return frames
}

const (
	v1 = "0x00000001"
	v2 = "0x6b3343cf"
)

var (
	udpFromServer = is("udp.srcport", "443")
	udpFromClient = is("udp.dstport", "443")
	quicInitial   = func(f testenv.Frame) bool { // Initial is 0 in v1, 1 in v2 (RFC 9369 §3.2)
		return f.First("quic.version") == v2 && f.Has("quic.long.packet_type_v2", "1") ||
			f.First("quic.version") != v2 && f.Has("quic.long.packet_type", "0")
	}
	quicHandshake = func(f testenv.Frame) bool { // Handshake is 2 in v1, 3 in v2
		return f.First("quic.version") == v2 && f.Has("quic.long.packet_type_v2", "3") ||
			f.First("quic.version") != v2 && f.Has("quic.long.packet_type", "2")
	}
	handshakeDone = is("quic.frame_type", "30") // 0x1e
	vnPacket      = is("quic.version", "0x00000000")
	// streamFrame is a packet with a STREAM frame (0x08-0x0f).
	streamFrame = func(f testenv.Frame) bool {
		return slices.ContainsFunc(f["quic.frame_type"], func(v string) bool { n, _ := strconv.Atoi(v); return n >= 8 && n <= 15 })
	}
)

func hsType(n string) func(testenv.Frame) bool { return is("tls.handshake.type", n) }

func count(frames []testenv.Frame, p func(testenv.Frame) bool) int {
	n := 0
	for _, f := range frames {
		if p(f) {
			n++
		}
	}
	return n
}

// firstIndex is the index of the first frame that matches, or -1.
func firstIndex(frames []testenv.Frame, p func(testenv.Frame) bool) int {
	return slices.IndexFunc(frames, p)
}

// completes: tshark decrypts the whole handshake with the key log: the
// server's EncryptedExtensions, Certificate, CertificateVerify and
// Finished, the client's Finished, and HANDSHAKE_DONE.
func completes(t *testing.T, fr []testenv.Frame) {
	t.Helper()
	serverFlight(t, fr)
	for _, c := range []lossCheck{
		{"client's Finished", atLeast(1), all(udpFromClient, hsType("20"))},
		{"HANDSHAKE_DONE", atLeast(1), all(udpFromServer, handshakeDone)},
	} {
		if n := count(fr, c.is); !c.n(n) {
			t.Errorf("%s: %d packets", c.what, n)
		}
	}
}

// serverFlight: tshark decrypts the server's flight with the key log. Where
// tshark 4.0 loses the connection (after a Retry it shows the client's
// Handshake CRYPTO but not its Finished; after a lost server Initial it
// decrypts nothing of the client's), only this much is checked: the
// generator itself has checked that the handshake completed.
func serverFlight(t *testing.T, fr []testenv.Frame) {
	t.Helper()
	for _, c := range []lossCheck{
		{"ClientHello", atLeast(1), all(udpFromClient, hsType("1"))},
		{"ServerHello", atLeast(1), all(udpFromServer, hsType("2"))},
		{"server's EncryptedExtensions", atLeast(1), all(udpFromServer, hsType("8"))},
		{"server's Certificate", atLeast(1), all(udpFromServer, hsType("11"))},
		{"server's CertificateVerify", atLeast(1), all(udpFromServer, hsType("15"))},
		{"server's Finished", atLeast(1), all(udpFromServer, hsType("20"))},
		{"client's Handshake packet", atLeast(1), all(udpFromClient, quicHandshake)},
	} {
		if n := count(fr, c.is); !c.n(n) {
			t.Errorf("%s: %d packets", c.what, n)
		}
	}
}

func atLeast(n int) func(int) bool { return func(k int) bool { return k >= n } }

// errorCode is the CONNECTION_CLOSE error code of a frame, as tshark prints
// it (decimal), or -1.
func errorCode(f testenv.Frame) int {
	n, err := strconv.Atoi(f.First("quic.cc.error_code"))
	if err != nil {
		return -1
	}
	return n
}

// quicChecks: what tshark must see in each QUIC capture.
var quicChecks = map[string]func(t *testing.T, fr []testenv.Frame){
	"complete": func(t *testing.T, fr []testenv.Frame) {
		completes(t, fr)
		// Go's ClientHello (an X25519MLKEM768 key share) fills two Initial
		// packets in two datagrams: tshark reassembles it in the second.
		if len(fr) < 2 || !all(udpFromClient, quicInitial)(fr[0]) || !all(udpFromClient, quicInitial, hsType("1"))(fr[1]) || hsType("1")(fr[0]) {
			t.Errorf("the ClientHello does not span the first two client Initials")
		}
		for _, c := range []lossCheck{
			{"client STREAM data", atLeast(1), all(udpFromClient, streamFrame)},
			{"server STREAM data", atLeast(1), all(udpFromServer, streamFrame)},
			{"client's CONNECTION_CLOSE (application, 0x1d)", atLeast(1), all(udpFromClient, is("quic.frame_type", "29"))},
		} {
			if n := count(fr, c.is); !c.n(n) {
				t.Errorf("%s: %d packets", c.what, n)
			}
		}
	},
	"complete-ipv6": func(t *testing.T, fr []testenv.Frame) {
		completes(t, fr)
		if n := count(fr, has("ipv6.src")); n != len(fr) {
			t.Errorf("%d of %d packets over IPv6", n, len(fr))
		}
	},
	"alpn-refused": func(t *testing.T, fr []testenv.Frame) {
		// RFC 9001 §4.8: CRYPTO_ERROR 0x100 + the TLS alert, no_application_protocol (120).
		if n := count(fr, func(f testenv.Frame) bool { return udpFromServer(f) && errorCode(f) == 0x178 }); n != 1 {
			t.Errorf("%d server CONNECTION_CLOSEs with 0x178", n)
		}
		if n := count(fr, hsType("2")); n != 0 {
			t.Errorf("%d ServerHellos", n)
		}
	},
	"udp-blocked": func(t *testing.T, fr []testenv.Frame) {
		if n := count(fr, udpFromServer); n != 0 {
			t.Errorf("%d packets from the server", n)
		}
		if n := count(fr, all(udpFromClient, quicInitial)); n < 8 || n != len(fr) {
			t.Errorf("%d client Initials of %d packets, want every packet, 8 or more (4 PTOs, two datagrams each)", n, len(fr))
		}
	},
	"retry": retried,
	"retry-new-hello": func(t *testing.T, fr []testenv.Frame) {
		// tshark 4.0 reads the first ClientHello only, and so finds no
		// keys: the key log has the second one's random.
		retryStructure(t, fr)
		first := ""
		if i := firstIndex(fr, all(udpFromClient, hsType("1"))); i >= 0 {
			first = fr[i].First("tls.handshake.random")
		}
		keys, err := os.ReadFile(filepath.Join(quicTestdata, "retry-new-hello.keys"))
		if err != nil || first == "" {
			t.Fatalf("first ClientHello random %q, key log: %v", first, err)
		}
		if strings.Contains(string(keys), first) || !strings.Contains(string(keys), "SERVER_HANDSHAKE_TRAFFIC_SECRET ") {
			t.Errorf("the key log has the first ClientHello's random %s, or no handshake secret", first)
		}
	},
	"version-negotiation": func(t *testing.T, fr []testenv.Frame) {
		if fr[0].First("quic.version") != v2 {
			t.Errorf("the first Initial is version %s, want v2", fr[0].First("quic.version"))
		}
		vn := firstIndex(fr, all(udpFromServer, vnPacket, is("quic.supported_version", v1)))
		if vn < 0 {
			t.Fatal("no Version Negotiation packet offering v1")
		}
		if f := firstIndex(fr[vn:], udpFromClient); f < 0 || fr[vn+f].First("quic.version") != v1 {
			t.Errorf("the client does not go on in v1")
		}
		completes(t, fr)
	},
	"version-negotiation-fails": func(t *testing.T, fr []testenv.Frame) {
		if n := count(fr, all(udpFromServer, vnPacket, is("quic.supported_version", v1), not(is("quic.supported_version", v2)))); n == 0 {
			t.Error("no Version Negotiation packet offering v1 and not v2")
		}
		if n := count(fr, hsType("2")); n != 0 {
			t.Errorf("%d ServerHellos", n)
		}
	},
	"quic-v2": func(t *testing.T, fr []testenv.Frame) {
		completes(t, fr)
		if n := count(fr, is("quic.version", v1)); n != 0 {
			t.Errorf("%d packets in v1", n)
		}
		if n := count(fr, is("quic.version", v2)); n < 4 {
			t.Errorf("%d long headers in v2", n)
		}
	},
	"split-client-hello-dropped": func(t *testing.T, fr []testenv.Frame) {
		// The server only acknowledges the half it got: no CRYPTO frame (6).
		if n := count(fr, all(udpFromServer, is("quic.frame_type", "6"))); n != 0 {
			t.Errorf("%d server packets with CRYPTO", n)
		}
		if n := count(fr, udpFromServer); n == 0 {
			t.Errorf("the server's ACK of the first half is missing")
		}
		if n := count(fr, all(udpFromClient, quicInitial)); n < 8 {
			t.Errorf("%d client Initials, want repeats", n)
		}
	},
	"split-client-hello-dropped-server-side": func(t *testing.T, fr []testenv.Frame) {
		// One client Initial (half the ClientHello), and the server's ACK of
		// it; tshark cannot decode a ClientHello from half of it.
		if n := count(fr, all(udpFromClient, quicInitial)); n != 1 {
			t.Errorf("%d client Initials, want 1", n)
		}
		if n := count(fr, all(udpFromServer, is("quic.frame_type", "6"))); n != 0 {
			t.Errorf("%d server packets with CRYPTO", n)
		}
		if n := count(fr, all(udpFromClient, hsType("1"))); n != 0 {
			t.Errorf("tshark decoded %d ClientHellos from half of one", n)
		}
	},
	"server-flight-lost": func(t *testing.T, fr []testenv.Frame) {
		if n := count(fr, all(udpFromServer, hsType("2"))); n != 1 {
			t.Errorf("%d ServerHellos", n)
		}
		if n := count(fr, all(udpFromServer, is("quic.long.packet_type", "2"))); n != 0 {
			t.Errorf("%d server Handshake packets arrived", n)
		}
		sh := firstIndex(fr, hsType("2"))
		if n := count(fr[sh+1:], udpFromClient); n < 4 {
			t.Errorf("%d client probes after the ServerHello", n)
		}
	},
	"server-initial-lost": func(t *testing.T, fr []testenv.Frame) {
		hs := firstIndex(fr, all(udpFromServer, is("quic.long.packet_type", "2")))
		sh := firstIndex(fr, hsType("2"))
		if hs < 0 || sh < 0 || hs > sh {
			t.Errorf("the server's Handshake packet (frame %d) does not come before its ServerHello (frame %d)", hs+1, sh+1)
		}
		serverFlight(t, fr)
	},
	"client-rejects-certificate": func(t *testing.T, fr []testenv.Frame) {
		// crypto/tls answers an unknown issuer with bad_certificate (42): 0x12a.
		if n := count(fr, func(f testenv.Frame) bool { return udpFromClient(f) && errorCode(f) == 0x12a }); n == 0 {
			t.Errorf("%d client CONNECTION_CLOSEs with 0x12a", n)
		}
		if n := count(fr, all(udpFromServer, hsType("11"))); n == 0 {
			t.Errorf("the server's Certificate is not decrypted")
		}
	},
	"mtu-blackhole": func(t *testing.T, fr []testenv.Frame) {
		if n := count(fr, udpFromServer); n != 0 {
			t.Errorf("%d packets from the server", n)
		}
		if n := count(fr, func(f testenv.Frame) bool { l, _ := strconv.Atoi(f.First("ip.len")); return l > 1250 }); n != len(fr) || n < 8 {
			t.Errorf("%d of %d packets over the tunnel's 1250 bytes", n, len(fr))
		}
	},
	"nat-rebinding": func(t *testing.T, fr []testenv.Frame) {
		completes(t, fr)
		ports := map[string]int{}
		for _, f := range fr {
			if udpFromClient(f) {
				ports[f.First("udp.srcport")]++
			}
		}
		if len(ports) != 2 || ports["50443"] == 0 || ports["51443"] == 0 {
			t.Errorf("client source ports %v, want 50443 and 51443", ports)
		}
		// The server answers the new port, and validates it (PATH_CHALLENGE, 0x1a).
		if n := count(fr, all(udpFromServer, is("udp.dstport", "51443"), is("quic.frame_type", "26"))); n == 0 {
			t.Errorf("no PATH_CHALLENGE to the new port")
		}
		// One connection: the client's short headers name a server CID.
		for _, f := range fr {
			if udpFromClient(f) && f.First("quic.long.packet_type") == "" && !strings.HasPrefix(f.First("quic.dcid"), "5e5e5e5e") {
				t.Errorf("a client packet to DCID %q", f.First("quic.dcid"))
			}
		}
	},
	"tcp-fallback": func(t *testing.T, fr []testenv.Frame) {
		if n := count(fr, udpFromServer); n != 0 {
			t.Errorf("%d UDP packets from the server", n)
		}
		sni := is("tls.handshake.extensions_server_name", "fallback.tlsscope.test")
		quicHello := firstIndex(fr, all(udpFromClient, hsType("1"), sni))
		tcpHello := firstIndex(fr, all(has("tcp.stream"), hsType("1"), sni))
		if quicHello < 0 || tcpHello < quicHello {
			t.Errorf("the QUIC ClientHello (frame %d) and then the TCP one (frame %d) to fallback.tlsscope.test", quicHello+1, tcpHello+1)
		}
		if n := count(fr[max(tcpHello, 0):], udpFromClient); n != 0 {
			t.Errorf("%d QUIC packets after the TCP ClientHello", n)
		}
		if n := count(fr, all(has("tcp.stream"), hsType("2"))); n != 1 {
			t.Errorf("%d ServerHellos over TCP", n)
		}
	},
	"server-refuses": func(t *testing.T, fr []testenv.Frame) {
		// CONNECTION_REFUSED is transport error 0x2 (RFC 9000 §20.1), no
		// CRYPTO_ERROR (0x100-0x1ff): no TLS alert.
		// One per client datagram: the two Initials of its ClientHello.
		if n := count(fr, func(f testenv.Frame) bool { return udpFromServer(f) && errorCode(f) == 2 }); n == 0 || n != count(fr, udpFromServer) {
			t.Errorf("%d server CONNECTION_CLOSEs with CONNECTION_REFUSED of %d server datagrams", n, count(fr, udpFromServer))
		}
		if n := count(fr, hsType("2")); n != 0 {
			t.Errorf("%d ServerHellos", n)
		}
	},
	"server-initials-stripped": func(t *testing.T, fr []testenv.Frame) {
		if n := count(fr, all(udpFromServer, quicInitial)); n != 0 {
			t.Errorf("%d server Initials reached the client", n)
		}
		if n := count(fr, all(udpFromServer, quicHandshake)); n < 2 {
			t.Errorf("%d server Handshake packets, want several", n)
		}
		if n := count(fr, hsType("2")); n != 0 {
			t.Errorf("%d ServerHellos", n)
		}
	},
}

// TestTSharkSeesQUIC reads every committed QUIC capture with tshark and
// its key log and checks that the scenario's fault is in it.
func TestTSharkSeesQUIC(t *testing.T) {
	for _, s := range QUICScenarios() {
		t.Run(s.Name, func(t *testing.T) {
			check, ok := quicChecks[s.Name]
			if !ok {
				t.Fatal("no check for this scenario")
			}
			fr := tsharkQUIC(t, s.Name)
			if len(fr) == 0 || len(fr[0]) == 0 {
				t.Fatal("tshark sees no packet")
			}
			check(t, fr)
		})
	}
}

// retried: the server's flight decrypted, and the Retry.
func retried(t *testing.T, fr []testenv.Frame) {
	serverFlight(t, fr)
	retryStructure(t, fr)
}

// retryStructure: a Retry, and the client's next Initial with its SCID
// and token.
func retryStructure(t *testing.T, fr []testenv.Frame) {
	t.Helper()
	retry := firstIndex(fr, all(udpFromServer, is("quic.long.packet_type", "3"), has("quic.retry_token")))
	if retry < 0 {
		t.Fatal("no Retry packet")
	}
	// RFC 9000 §17.2.5.2: the next Initial has the Retry's SCID as its
	// DCID, and its token.
	next := firstIndex(fr[retry:], all(udpFromClient, quicInitial))
	if next < 0 {
		t.Fatal("no client Initial after the Retry")
	}
	f := fr[retry+next]
	if f.First("quic.token_length") == "0" || f.First("quic.token_length") == "" {
		t.Errorf("the Initial after the Retry has no token")
	}
	if f.First("quic.dcid") == fr[0].First("quic.dcid") {
		t.Errorf("the Initial after the Retry keeps the DCID %s", f.First("quic.dcid"))
	}
}
