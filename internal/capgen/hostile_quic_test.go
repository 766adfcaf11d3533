package capgen

import (
	"bytes"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/tlsscope/tlsscope/flows/quic"
)

// checkQUICFlood reads the flood back: each datagram is a v1 client
// Initial of at least 1200 bytes with its own connection ID, that opens
// with the Initial keys of that ID and carries a ClientHello.
func checkQUICFlood(t *testing.T, data []byte, tr HostileTruth) {
	r, err := pcapgo.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	dcids := map[string]bool{}
	n := 0
	for {
		b, _, err := r.ReadPacketData()
		if err != nil {
			break
		}
		n++
		p := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
		udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if udp == nil || udp.DstPort != 443 || len(udp.Payload) < 1200 {
			t.Fatalf("packet %d: not a padded UDP datagram to 443", n)
		}
		pkts, err := quic.ParseDatagram(udp.Payload, -1)
		if err != nil || len(pkts) != 1 || pkts[0].Type != quic.Initial || pkts[0].Version != quic.V1 {
			t.Fatalf("packet %d: %v %v", n, pkts, err)
		}
		dcids[string(pkts[0].DCID)] = true
		cl, _, _ := quic.InitialOpeners(quic.V1, pkts[0].DCID)
		_, payload, err := cl.Open(&pkts[0], -1)
		if err != nil {
			t.Fatalf("packet %d: %v", n, err)
		}
		hello := false
		quic.ParseFrames(payload, func(f quic.Frame) error {
			hello = hello || f.Kind == quic.FrameCrypto && f.Offset == 0 && len(f.Data) > 4 && f.Data[0] == 1
			return nil
		})
		if !hello {
			t.Fatalf("packet %d: no ClientHello", n)
		}
	}
	if int64(n) != tr.Packets || len(dcids) != tr.Conns || tr.RowCount() != tr.Conns {
		t.Errorf("%d packets, %d connection IDs; truth %d packets, %d connections, rows %v", n, len(dcids), tr.Packets, tr.Conns, tr.Rows)
	}
}
