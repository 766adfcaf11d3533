package quic

import (
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows/capture"
	"github.com/tlsscope/tlsscope/internal/testenv"
)

// TestRealInitial opens a real client Initial of the corpus (JA4's
// quic-with-several-tls-frames: a ClientHello in several CRYPTO frames),
// reassembles its CRYPTO frames and reads the ClientHello.
func TestRealInitial(t *testing.T) {
	dir := testenv.NeedShared(t, "../..")
	src, err := capture.OpenFile(filepath.Join(dir, "ja4", "pcap", "quic-with-several-tls-frames.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	cp, err := src.Next()
	if err != nil {
		t.Fatal(err)
	}
	udp, ok := gopacket.NewPacket(cp.Data, cp.Link, gopacket.Default).Layer(layers.LayerTypeUDP).(*layers.UDP)
	if !ok {
		t.Fatal("no UDP in the capture's packet")
	}
	if !LooksLikeQUIC(udp.Payload) {
		t.Fatal("LooksLikeQUIC false")
	}
	pkts, err := ParseDatagram(udp.Payload, -1)
	if err != nil || len(pkts) == 0 || pkts[0].Type != Initial || pkts[0].Version != V1 {
		t.Fatalf("ParseDatagram: %d packets, %v", len(pkts), err)
	}
	co, _, err := InitialOpeners(pkts[0].Version, pkts[0].DCID)
	if err != nil {
		t.Fatal(err)
	}
	_, payload, err := co.Open(&pkts[0], -1)
	if err != nil {
		t.Fatal(err)
	}
	var cs CryptoStream
	crypto := 0
	err = ParseFrames(payload, func(f Frame) error {
		if f.Kind != FrameCrypto {
			return nil
		}
		crypto++
		return cs.Add(f.Offset, f.Data)
	})
	if err != nil {
		t.Fatal(err)
	}
	hello := cs.Read()
	t.Logf("%d packets, %d CRYPTO frames, %d bytes of CRYPTO data", len(pkts), crypto, len(hello))
	if crypto < 2 || cs.Missing() || len(hello) < 4 || hello[0] != 1 {
		t.Fatalf("%d CRYPTO frames, %d bytes, missing %v", crypto, len(hello), cs.Missing())
	}
	n := int(binary.BigEndian.Uint32(hello) & 0xffffff)
	if len(hello) != 4+n {
		t.Fatalf("ClientHello of %d bytes in %d", n, len(hello))
	}
	m := decoder.NewMachine()
	m.Message(decoder.Client, decoder.EpochPlaintext, hello, decoder.Pos{Time: cp.CI.Timestamp})
	ch := m.HS.ClientHello
	if ch == nil || ch.ServerName != "ogs.google.com" {
		t.Fatalf("ClientHello %+v", ch)
	}
}
