package quic

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

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
	dgrams, _ := corpusUDP(t, "quic-with-several-tls-frames.pcapng")
	if len(dgrams) != 1 {
		t.Fatalf("%d UDP datagrams in the capture, want 1", len(dgrams))
	}
	if !LooksLikeQUIC(dgrams[0].b) {
		t.Fatal("LooksLikeQUIC false")
	}
	pkts, err := ParseDatagram(dgrams[0].b, -1)
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
	m.Message(decoder.Client, decoder.EpochPlaintext, hello, decoder.Pos{Time: dgrams[0].at})
	ch := m.HS.ClientHello
	if ch == nil || ch.ServerName != "ogs.google.com" {
		t.Fatalf("ClientHello %+v", ch)
	}
}

// datagram is a UDP payload of a corpus capture and its direction.
type datagram struct {
	fromClient bool // sent to port 443
	b          []byte
	at         time.Time
}

// corpusUDP reads the UDP datagrams of a capture of ja4/pcap in the
// corpus (the test skips without it) and the secrets it carries.
func corpusUDP(t *testing.T, name string) ([]datagram, []capture.Secret) {
	t.Helper()
	dir := testenv.NeedShared(t, "../..")
	src, err := capture.OpenFile(filepath.Join(dir, "ja4", "pcap", name))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var out []datagram
	for {
		cp, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if udp, ok := gopacket.NewPacket(cp.Data, cp.Link, gopacket.Default).Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
			out = append(out, datagram{udp.DstPort == 443, bytes.Clone(udp.Payload), cp.CI.Timestamp})
		}
	}
	var secrets []capture.Secret
	if ss, ok := src.(capture.SecretsSource); ok {
		secrets = ss.Secrets()
	}
	return out, secrets
}
