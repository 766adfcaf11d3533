package capgen

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// seenPacket is one TCP packet of a committed capture.
type seenPacket struct {
	at                 time.Duration // since the first packet
	fromClient         bool          // sent by 192.0.2.10
	port               uint16        // the client's port
	syn, fin, rst, ack bool
	payload            []byte
}

func readCapture(t *testing.T, name string) []seenPacket {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testdata, name))
	if err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var out []seenPacket
	var first time.Time
	for {
		b, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		if first.IsZero() {
			first = ci.Timestamp
		}
		p := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if ip == nil || tcp == nil {
			t.Fatalf("%s: a packet that is not TCP/IPv4", name)
		}
		sp := seenPacket{at: ci.Timestamp.Sub(first), fromClient: ip.SrcIP.String() == "192.0.2.10",
			syn: tcp.SYN, fin: tcp.FIN, rst: tcp.RST, ack: tcp.ACK, payload: tcp.Payload}
		sp.port = uint16(tcp.SrcPort)
		if !sp.fromClient {
			sp.port = uint16(tcp.DstPort)
		}
		out = append(out, sp)
	}
	return out
}

// stream is what one side of one connection sent (the new captures have
// no loss or reordering, so capture order is stream order).
func stream(pkts []seenPacket, port uint16, fromClient bool) []byte {
	var b []byte
	for _, p := range pkts {
		if p.port == port && p.fromClient == fromClient {
			b = append(b, p.payload...)
		}
	}
	return b
}

// records splits bytes into TLS records: content type and length.
func records(b []byte) (types []byte, lengths []int) {
	for len(b) >= 5 {
		n := int(b[3])<<8 | int(b[4])
		types, lengths = append(types, b[0]), append(lengths, n)
		b = b[min(len(b), 5+n):]
	}
	return types, lengths
}

// TestVerdictCaptures checks what each capture of issue #14 must show,
// from the committed files.
func TestVerdictCaptures(t *testing.T) {
	t.Run("midstream-teardown-tls12", func(t *testing.T) {
		pkts := readCapture(t, "midstream-teardown-tls12.pcap")
		if pkts[0].syn || !pkts[0].fromClient {
			t.Fatal("the capture must start with the client's data, after the handshake")
		}
		for _, fromClient := range []bool{true, false} {
			types, lengths := records(stream(pkts, pkts[0].port, fromClient))
			// Application data (the server's response takes two records:
			// crypto/tls keeps its first records within one segment),
			// then close_notify: an AES-GCM alert of 2+8+16 bytes.
			n := len(types)
			if n < 2 || !bytes.Equal(types[:n-1], bytes.Repeat([]byte{23}, n-1)) || types[n-1] != 21 || lengths[n-1] != 26 {
				t.Errorf("client %v: records %v %v, want application data then an encrypted alert", fromClient, types, lengths)
			}
		}
		fins := 0
		for _, p := range pkts {
			if p.fin {
				fins++
			}
		}
		if fins != 2 {
			t.Errorf("%d FINs, want one from each side", fins)
		}
	})
	t.Run("tls13-no-alpn", func(t *testing.T) {
		pkts := readCapture(t, "tls13-no-alpn.pcap")
		types, lengths := records(stream(pkts, pkts[0].port, false))
		// ServerHello, the compatibility ChangeCipherSpec, EncryptedExtensions.
		if len(types) < 3 || types[0] != 22 || types[1] != 20 || types[2] != 23 || lengths[2] != 23 {
			t.Errorf("server records %v %v: want EncryptedExtensions as a 23-byte record third", types, lengths)
		}
	})
	t.Run("client-gives-up", func(t *testing.T) {
		pkts := readCapture(t, "client-gives-up.pcap")
		last := pkts[len(pkts)-1]
		var lastServer seenPacket
		for _, p := range pkts {
			if !p.fromClient {
				lastServer = p
			}
			if !p.fromClient && len(p.payload) > 0 {
				t.Fatal("the server sent data")
			}
		}
		if !last.fromClient || !last.fin || last.at-lastServer.at != 500*time.Millisecond+250*time.Microsecond {
			t.Errorf("last packet %+v, %v after the server's: want the client's FIN 0.5 s after the server's ACK", last, last.at-lastServer.at)
		}
	})
	t.Run("one-sided-client-only", func(t *testing.T) {
		pkts := readCapture(t, "one-sided-client-only.pcap")
		ports := map[uint16]bool{}
		for _, p := range pkts {
			if !p.fromClient {
				t.Fatal("a server packet in a client-only capture")
			}
			ports[p.port] = true
		}
		if len(ports) != 2 {
			t.Errorf("%d connections, want 2", len(ports))
		}
	})
	t.Run("server-fin-client-alert", func(t *testing.T) {
		pkts := readCapture(t, "server-fin-client-alert.pcap")
		serverFIN := -1
		for i, p := range pkts {
			if !p.fromClient && p.fin {
				serverFIN = i
			}
			if p.fromClient && bytes.Equal(p.payload, decodeErrorAlert) {
				if serverFIN < 0 {
					t.Error("the client's alert comes before the server's FIN")
				}
				return
			}
		}
		t.Error("no decode_error alert from the client")
	})
	t.Run("server-not-tls", func(t *testing.T) {
		pkts := readCapture(t, "server-not-tls.pcap")
		if got := stream(pkts, pkts[0].port, false); !bytes.Equal(got, notTLS) {
			t.Errorf("the server sent %q", got)
		}
	})
	t.Run("socks5-two", func(t *testing.T) {
		pkts := readCapture(t, "socks5-two.pcap")
		cl := stream(pkts, pkts[0].port, true)
		if !bytes.HasPrefix(cl, []byte("\x05\x01\x00\x05\x01\x00\x03\x0cshop.example\x01\xbb\x16\x03\x01")) {
			t.Errorf("the client's bytes start %x: want the SOCKS5 greeting, a CONNECT and a ClientHello", cl[:min(len(cl), 40)])
		}
	})
	t.Run("tls13-server-alert-after-client-finished", func(t *testing.T) {
		pkts := readCapture(t, "tls13-server-alert-after-client-finished.pcap")
		var lastData []byte
		for _, p := range pkts {
			if !p.fromClient && len(p.payload) > 0 {
				lastData = p.payload
			}
			if !p.fromClient && p.fin {
				break
			}
		}
		// An encrypted alert: 2 bytes, the inner content type, the AEAD tag.
		if types, lengths := records(lastData); len(types) != 1 || types[0] != 23 || lengths[0] != 19 {
			t.Errorf("the server's last record before its FIN is %v %v, want one 19-byte protected record", types, lengths)
		}
	})
}
