package capgen

import (
	"bytes"
	"strings"
	"testing"
	"testing/cryptotest"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func lossScenario(t *testing.T, name string) *Scenario {
	t.Helper()
	for _, s := range lossScenarios(newPKI()) {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no scenario %s", name)
	return nil
}

// TestHoleWithholdsTheRest: behind a segment the network never delivers,
// the reading TLS endpoint gets nothing, and gives up on its timeout.
func TestHoleWithholdsTheRest(t *testing.T) {
	cryptotest.SetGlobalRandom(t, 1)
	s := lossScenario(t, "mtu-blackhole-client-side.pcap")
	cs := s.conns[0]
	sm := newSim(rtt)
	sm.timeout, sm.path = cs.timeout, newPathSim(cs.shaping)
	var kinds []string
	for _, ev := range sm.run(cs.client, cs.server) {
		kinds = append(kinds, []string{"data", "fin", "rst"}[ev.kind]+map[int]string{0: "C", 1: "S"}[ev.side])
		if ev.side == 0 && ev.kind == evRST && ev.at < 5*time.Second {
			t.Errorf("the client reset at %v, before its 5 s timeout", ev.at)
		}
	}
	// The ClientHello, the server's flight, the client's RST: nothing else.
	if got := strings.Join(kinds, " "); got != "dataC dataS rstC" {
		t.Errorf("events %q, want the ClientHello, the server's flight and the client's RST", got)
	}
}

// TestLossCapturesAreConsistentTCP decodes every loss capture: a side's
// acknowledgements never go back, retransmitted bytes are the bytes first
// sent at that sequence number, SACK blocks lie above the acknowledgement.
func TestLossCapturesAreConsistentTCP(t *testing.T) {
	cryptotest.SetGlobalRandom(t, 0x7115c09e)
	for _, s := range lossScenarios(newPKI()) {
		t.Run(s.Name, func(t *testing.T) {
			pkts, err := s.Build()
			if err != nil {
				t.Fatal(err)
			}
			lastAck := map[layers.TCPPort]uint32{}
			sent := map[layers.TCPPort]map[uint32]byte{}
			for i, p := range pkts {
				pk := gopacket.NewPacket(p.Data, layers.LayerTypeEthernet, gopacket.Default)
				if pk.Layer(layers.LayerTypeICMPv4) != nil || pk.Layer(layers.LayerTypeICMPv6) != nil {
					continue
				}
				tcp, _ := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
				if tcp == nil {
					t.Fatalf("packet %d: not TCP", i+1)
				}
				from := tcp.SrcPort
				if tcp.ACK && !tcp.RST {
					if tcp.Ack < lastAck[from] {
						t.Errorf("packet %d: ACK %d goes back from %d", i+1, tcp.Ack, lastAck[from])
					}
					lastAck[from] = tcp.Ack
				}
				if sent[from] == nil {
					sent[from] = map[uint32]byte{}
				}
				for j, b := range tcp.Payload {
					seq := tcp.Seq + uint32(j)
					if old, ok := sent[from][seq]; ok && old != b {
						t.Fatalf("packet %d: byte %d differs from its first transmission", i+1, seq)
					}
					sent[from][seq] = b
				}
				for _, o := range tcp.Options {
					if o.OptionType != layers.TCPOptionKindSACK {
						continue
					}
					for k := 0; k+8 <= len(o.OptionData); k += 8 {
						left, right := be32(o.OptionData[k:]), be32(o.OptionData[k+4:])
						if left <= tcp.Ack || right <= left {
							t.Errorf("packet %d: SACK block %d-%d with ACK %d", i+1, left, right, tcp.Ack)
						}
					}
				}
			}
		})
	}
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// TestICMPQuotesTheHeaders: the error quotes the dropped packet's IP and
// TCP headers with the length it had, and its checksums are right.
func TestICMPQuotesTheHeaders(t *testing.T) {
	cryptotest.SetGlobalRandom(t, 0x7115c09e)
	for _, name := range []string{"mtu-icmp-frag-needed.pcap", "ipv6-packet-too-big.pcap"} {
		pkts, err := lossScenario(t, name).Build()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, p := range pkts {
			pk := gopacket.NewPacket(p.Data, layers.LayerTypeEthernet, gopacket.Default)
			var quoted []byte
			if l, ok := pk.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
				if l.TypeCode != layers.CreateICMPv4TypeCode(3, 4) || l.Seq != 1000 {
					t.Errorf("%s: ICMP %v MTU %d", name, l.TypeCode, l.Seq)
				}
				quoted = l.Payload
			} else if l, ok := pk.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6); ok {
				if l.TypeCode != layers.CreateICMPv6TypeCode(2, 0) || be32(l.Payload) != 1280 {
					t.Errorf("%s: ICMPv6 %v MTU %d", name, l.TypeCode, be32(l.Payload))
				}
				quoted = l.Payload[4:]
			} else {
				continue
			}
			n++
			ipLen := 20
			if name == "ipv6-packet-too-big.pcap" {
				ipLen = 40
			}
			if len(quoted) != ipLen+20 || !bytes.Equal(quoted[ipLen:ipLen+2], []byte{0x01, 0xbb}) {
				t.Errorf("%s: quoted %d bytes % x, want the IP and TCP headers of a segment from port 443", name, len(quoted), quoted)
			}
		}
		if n != 1 {
			t.Errorf("%s: %d ICMP errors, want 1", name, n)
		}
	}
}
