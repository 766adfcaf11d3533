package quic

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/tlsscope/tlsscope/decoder"
)

// TestRealHandshake follows a whole QUIC handshake of Chrome with
// Cloudflare (JA4's chrome-cloudflare-quic-with-secrets, whose pcapng
// carries the key log): every Initial, Handshake and 1-RTT packet opens
// with keys from the client's DCID or the key log, and the CRYPTO streams
// of both sides give the handshake's messages in order.
func TestRealHandshake(t *testing.T) {
	dgrams, blocks := corpusUDP(t, "chrome-cloudflare-quic-with-secrets.pcapng")
	secrets := map[string][]byte{}
	for _, s := range blocks {
		sc := bufio.NewScanner(bytes.NewReader(s.Data))
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) == 3 {
				secrets[f[0]], _ = hex.DecodeString(f[2])
			}
		}
	}
	if len(dgrams) == 0 || !dgrams[0].fromClient {
		t.Fatalf("%d datagrams, the first not the client's", len(dgrams))
	}
	first, err := ParseDatagram(dgrams[0].b, -1)
	if err != nil || first[0].Type != Initial {
		t.Fatalf("first datagram: %v", err)
	}
	clientCID, serverCID := first[0].SCID, []byte(nil)
	ci, si, err := InitialOpeners(first[0].Version, first[0].DCID)
	if err != nil {
		t.Fatal(err)
	}
	// [client, server][Initial, Handshake, 1-RTT]
	var openers [2][3]*Opener
	openers[0][0], openers[1][0] = ci, si
	var streams [2][2]CryptoStream
	var pending [2][2][]byte // CRYPTO bytes read, not yet a whole message
	var largest [2][3]int64
	for i := range largest {
		largest[i] = [3]int64{-1, -1, -1}
	}
	var suite uint16
	counts := map[string]int{}
	var msgs []string
	done := 0
	for n, d := range dgrams {
		side := 1
		dcidLen := len(clientCID)
		if d.fromClient {
			side, dcidLen = 0, len(serverCID)
		}
		pkts, err := ParseDatagram(d.b, dcidLen)
		if err != nil {
			t.Fatalf("datagram %d: %v", n, err)
		}
		for _, p := range pkts {
			space := map[PacketType]int{Initial: 0, Handshake: 1, OneRTT: 2}[p.Type]
			if p.Type == Initial && side == 1 && serverCID == nil {
				serverCID = p.SCID
			}
			o := openers[side][space]
			if o == nil {
				t.Fatalf("datagram %d: %s packet from side %d before its keys", n, p.Type, side)
			}
			pn, payload, err := o.Open(&p, largest[side][space])
			if err != nil {
				t.Fatalf("datagram %d: %s: %v", n, p.Type, err)
			}
			largest[side][space] = max(largest[side][space], pn)
			counts[fmt.Sprintf("%d/%s", side, p.Type)]++
			err = ParseFrames(payload, func(f Frame) error {
				if f.Kind == FrameHandshakeDone {
					done++
				}
				if f.Kind != FrameCrypto || space == 2 {
					return nil
				}
				return streams[side][space].Add(f.Offset, f.Data)
			})
			if err != nil {
				t.Fatalf("datagram %d: frames: %v", n, err)
			}
			if space == 2 {
				continue
			}
			s := &streams[side][space]
			data := append(pending[side][space], s.Read()...)
			for len(data) >= 4 {
				l := 4 + int(binary.BigEndian.Uint32(data)&0xffffff)
				if l > len(data) {
					break
				}
				m := decoder.NewMachine()
				if data[0] == 2 {
					m.Message(decoder.Server, decoder.EpochPlaintext, data[:l], decoder.Pos{})
					suite = m.HS.ServerHello.CipherSuite
				}
				msgs = append(msgs, fmt.Sprintf("%d:%d", side, data[0]))
				data = data[l:]
			}
			pending[side][space] = data
			if suite != 0 && openers[0][1] == nil {
				v := first[0].Version
				if openers[0][1], err = NewOpener(v, suite, secrets["CLIENT_HANDSHAKE_TRAFFIC_SECRET"]); err != nil {
					t.Fatal(err)
				}
				openers[1][1], _ = NewOpener(v, suite, secrets["SERVER_HANDSHAKE_TRAFFIC_SECRET"])
				openers[0][2], _ = NewOpener(v, suite, secrets["CLIENT_TRAFFIC_SECRET_0"])
				openers[1][2], _ = NewOpener(v, suite, secrets["SERVER_TRAFFIC_SECRET_0"])
			}
		}
	}
	t.Logf("suite %#04x, packets opened %v, messages %v", suite, counts, msgs)
	// tshark, with the same key log, reads ClientHello; ServerHello;
	// EncryptedExtensions, CompressedCertificate, CertificateVerify,
	// Finished; the client's Finished; and one HANDSHAKE_DONE.
	if got := fmt.Sprint(msgs); got != "[0:1 1:2 1:8 1:25 1:15 1:20 0:20]" {
		t.Errorf("handshake messages (side:type) %s", got)
	}
	if done != 1 || counts["0/1-RTT"] == 0 || counts["1/1-RTT"] == 0 {
		t.Errorf("%d HANDSHAKE_DONE, %d and %d 1-RTT packets", done, counts["0/1-RTT"], counts["1/1-RTT"])
	}
}
