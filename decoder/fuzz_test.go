package decoder

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// captureStreams returns the client and server payload of the first TCP
// connection of each generated capture in ../testdata: fuzz seeds made by
// real TLS stacks. Retransmitted segments are kept: the seeds need not be
// clean.
func captureStreams(tb testing.TB) [][2][]byte {
	files, _ := filepath.Glob("../testdata/*.pcap")
	var out [][2][]byte
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			tb.Fatal(err)
		}
		r, err := pcapgo.NewReader(fh)
		if err != nil {
			fh.Close()
			continue
		}
		var streams [2][]byte
		for {
			data, _, err := r.ReadPacketData()
			if err != nil {
				break
			}
			p := gopacket.NewPacket(data, r.LinkType(), gopacket.NoCopy)
			tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
			if tcp == nil || len(tcp.Payload) == 0 {
				continue
			}
			side := 0
			if tcp.SrcPort == 443 {
				side = 1
			}
			streams[side] = append(streams[side], tcp.Payload...)
		}
		fh.Close()
		out = append(out, streams)
	}
	if len(out) == 0 {
		tb.Fatal("no seed captures in ../testdata")
	}
	return out
}

// checkInvariants: whatever the input, buffers stay within their caps.
func checkInvariants(t *testing.T, c *Conn) {
	for d := range c.rl {
		if n := len(c.rl[d].buf); n > maxRecordLength+5+maxPreamble {
			t.Fatalf("direction %d buffers %d bytes", d, n)
		}
		if n := len(c.hr[d].buf); n > maxHandshakeMessage+4+maxRecordLength {
			t.Fatalf("direction %d buffers a %d-byte handshake message", d, n)
		}
	}
	if len(c.Snapshot().Messages) > maxMessages || len(c.Snapshot().Problems) > 32 {
		t.Fatalf("%d messages, %d problems", len(c.Snapshot().Messages), len(c.Snapshot().Problems))
	}
}

// checkResults exercises everything computed from a decoded handshake.
func checkResults(c *Conn) {
	c.State()
	c.Decided()
	for _, ch := range []*ClientHello{c.Snapshot().ClientHello, c.Snapshot().RetryClientHello} {
		if ch != nil {
			ch.JA3()
			ch.JA4()
		}
	}
	if sh := c.Snapshot().ServerHello; sh != nil {
		sh.JA3S()
	}
}

// FuzzConn feeds two arbitrary streams in arbitrary pieces.
func FuzzConn(f *testing.F) {
	for _, s := range captureStreams(f) {
		f.Add(s[0], s[1], uint8(200), false)
	}
	f.Add(ssl2ClientHello, []byte{}, uint8(7), true)
	f.Add(ssl3ClientHello, []byte{0x15, 0x03, 0x00, 0x00, 0x02, 0x02, 0x28}, uint8(1), false)
	f.Add(draft23ClientHello, []byte("HTTP/1.1 200 OK\r\n"), uint8(13), true)
	f.Fuzz(func(t *testing.T, client, server []byte, piece uint8, midstream bool) {
		c := NewConn(!midstream)
		if midstream {
			c.SetMidstream()
		}
		n := int(piece) + 1
		for i, j := 0, 0; i < len(client) || j < len(server); i, j = i+n, j+n {
			if i < len(client) {
				c.Feed(0, client[i:min(i+n, len(client))], t0)
			}
			switch {
			case j == 3*n && len(server) > j:
				c.Gap(1, 10, t0)
			case j == 5*n && len(server) > j && piece%3 == 0:
				c.Lost(1, 1448, t0) // lost in the network: what follows is not judged
			case j == 5*n && len(client) > i && piece%3 == 1:
				c.Lost(0, 1448, t0)
			case j == 7*n && piece%5 == 0:
				c.Closed(0, t0) // a FIN, then maybe more (a reset later)
				c.Reset()
			}
			if j < len(server) {
				c.Feed(1, server[j:min(j+n, len(server))], t0)
			}
			checkInvariants(t, c)
		}
		c.Closed(1, t0)
		checkInvariants(t, c)
		checkResults(c)
	})
}

func withHeader(typ uint8, body []byte) []byte {
	n := len(body)
	return append([]byte{typ, byte(n >> 16), byte(n >> 8), byte(n)}, body...)
}

func FuzzClientHello(f *testing.F) {
	f.Add(draft23ClientHello[9:])
	f.Add(ssl3ClientHello[9:])
	for _, s := range captureStreams(f) {
		if len(s[0]) > 9 {
			f.Add(s[0][9:min(len(s[0]), 9+int(s[0][3])<<8|int(s[0][4]))])
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var m ClientHello
		if m.unmarshal(withHeader(typeClientHello, body)) {
			m.JA3()
			m.JA4()
			m.MaxVersion()
		}
		var v2 ClientHello
		v2.unmarshalSSLv2(body)
	})
}

func FuzzServerHello(f *testing.F) {
	for _, s := range captureStreams(f) {
		if len(s[1]) > 9 {
			f.Add(s[1][9:min(len(s[1]), 9+int(s[1][3])<<8|int(s[1][4]))])
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var m ServerHello
		if m.unmarshal(withHeader(typeServerHello, body)) {
			m.JA3S()
			m.NegotiatedVersion()
		}
	})
}

// FuzzHandshakeMessages covers the parsers of the server's flight.
func FuzzHandshakeMessages(f *testing.F) {
	for _, s := range captureStreams(f) {
		f.Add(uint8(typeCertificate), s[1])
	}
	f.Add(uint8(typeServerKeyExchange), []byte{3, 0, 0x17, 65})
	f.Add(uint8(typeNewSessionTicket), []byte{0, 0, 1, 44, 0, 2, 1, 2})
	f.Fuzz(func(t *testing.T, typ uint8, body []byte) {
		msg := withHeader(typ, body)
		var cm certificateMsg
		if cm.unmarshal(msg, typ%2 == 0) {
			for _, der := range cm.certs {
				ParseCertificate(der)
			}
		}
		var ske ServerKeyExchange
		for _, id := range []uint16{0xc02b, 0x009e, 0x002f} {
			ske.unmarshal(msg, CipherSuite(id), VersionTLS12)
		}
		var nst NewSessionTicket
		nst.unmarshal(msg, false)
		nst.unmarshal(msg, true)
		var cr CertificateRequest
		cr.unmarshal(msg, VersionTLS12)
	})
}
