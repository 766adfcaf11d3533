package capgen

import (
	"bytes"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/tlsscope/tlsscope/decoder"
)

// checkDTLSHostile reads a DTLS hostile case back: every datagram goes to
// UDP 4433 and is one DTLS record the decoder takes for DTLS; the first of
// each association starts a ClientHello (what finds a DTLS flow by
// content); the flood's hellos are whole, the bomb's fragments all say
// 16 MiB; the associations are as many as the truth says.
func checkDTLSHostile(t *testing.T, data []byte, tr HostileTruth) {
	r, err := pcapgo.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	sources := map[string]int{}
	n := 0
	for {
		b, _, err := r.ReadPacketData()
		if err != nil {
			break
		}
		n++
		p := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
		udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if udp == nil || ip == nil || udp.DstPort != dtlsHostilePort {
			t.Fatalf("packet %d: not a UDP datagram to %d", n, dtlsHostilePort)
		}
		src := ip.SrcIP.String() + ":" + udp.SrcPort.String()
		ev := decoder.DetectDTLS(udp.Payload)
		first := sources[src] == 0
		sources[src]++
		switch {
		case first && ev != decoder.DTLSHello:
			t.Fatalf("packet %d: the first datagram of %s is not a ClientHello start (%v)", n, src, ev)
		case ev == decoder.DTLSNone:
			t.Fatalf("packet %d: not DTLS", n)
		}
		pl := udp.Payload
		msgLen := int(pl[14])<<16 | int(pl[15])<<8 | int(pl[16])
		fragLen := int(pl[22])<<16 | int(pl[23])<<8 | int(pl[24])
		if pl[13] != dtlsClientHelloType || len(pl) != 13+12+fragLen {
			t.Fatalf("packet %d: not one ClientHello fragment", n)
		}
		switch tr.Case {
		case "dtlsflood":
			if msgLen != fragLen {
				t.Fatalf("packet %d: a fragment, not a whole ClientHello", n)
			}
		case "dtlsfragbomb":
			if msgLen != dtlsBombLength {
				t.Fatalf("packet %d: length %d, not 16 MiB - 1", n, msgLen)
			}
		}
	}
	if int64(n) != tr.Packets || len(sources) != tr.Conns || tr.RowCount() != tr.Conns {
		t.Errorf("%d datagrams, %d sources; truth %d packets, %d associations, rows %v", n, len(sources), tr.Packets, tr.Conns, tr.Rows)
	}
	t.Logf("%s: %d datagrams, %d associations, %d bytes", tr.Case, n, len(sources), len(data))
}
