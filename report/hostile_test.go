package report

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows"
)

// Strings an attacker can put in a ClientHello or a certificate.
const (
	evilSNI  = "evil\x1b[31m.example|x\r\n| injected | row |\x00\u202e"
	evilALPN = "h2\x1b]0;pwned\x07|`code`"
	evilCN   = "CN\x1b[2J\x1b[H|<script>\n=cmd|' /C calc'!A0"
)

// record wraps a handshake message in records of at most 2^14 bytes.
func record(typ uint8, body []byte) []byte {
	var out []byte
	for len(body) > 0 {
		n := min(len(body), 16384)
		out = append(out, typ, 3, 3, byte(n>>8), byte(n))
		out = append(out, body[:n]...)
		body = body[n:]
	}
	return out
}

func hostileHello(sni, alpn string) []byte {
	var b cryptobyte.Builder
	b.AddUint8(1)
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint16(0x0303)
		b.AddBytes(make([]byte, 32))
		b.AddUint8(0)
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(0xc02f) })
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			b.AddUint16(0) // server_name
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					b.AddUint8(0)
					b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(sni)) })
				})
			})
			b.AddUint16(16) // ALPN
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(alpn)) })
				})
			})
		})
	})
	return b.BytesOrPanic()
}

func hostileServerFlight(t *testing.T, cn string) []byte {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn, Organization: []string{cn}},
		DNSNames: []string{"a\x1b[5m.example"}, NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	var b cryptobyte.Builder
	b.AddUint8(2) // ServerHello
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint16(0x0303)
		b.AddBytes(make([]byte, 32))
		b.AddUint8(0)
		b.AddUint16(0xc02f)
		b.AddUint8(0)
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			b.AddUint16(16)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(evilALPN)) })
				})
			})
		})
	})
	b.AddUint8(11) // Certificate
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
			b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(der) })
		})
	})
	return b.BytesOrPanic()
}

// TestHostileStrings: escape sequences, newlines, pipes, NULs, bidi
// overrides and very long names in SNI, ALPN and certificate names never
// reach the output raw.
func TestHostileStrings(t *testing.T) {
	long := strings.Repeat("very-long-label.", 4000)
	for _, sni := range []string{evilSNI, long, "bad\xff\xfeutf8"} {
		c := decoder.NewConn(true)
		at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
		c.Feed(0, record(22, hostileHello(sni, evilALPN)), at)
		c.Feed(1, record(22, hostileServerFlight(t, evilCN)), at.Add(time.Millisecond))
		hs := c.Snapshot()
		if hs.ClientHello == nil || hs.ClientHello.ServerName != sni || len(hs.ServerCertificates) != 1 {
			t.Fatalf("hostile handshake not decoded: %v", hs.Problems)
		}
		r := &flows.Result{Stream: 7, Client: netip.MustParseAddrPort("192.0.2.1:40000"), Server: netip.MustParseAddrPort("192.0.2.2:443"),
			Start: at, End: at.Add(3 * time.Second), Outcome: flows.Stalled, EndedBy: flows.EndedCaptureEnd, HS: hs, TCP: &flows.TCPFacts{},
			Stall: &flows.Stall{Waiting: decoder.Client, Next: flows.OwedMsg(decoder.MsgClientKeyExchange), Since: at, Silent: 3 * time.Second}}
		conns := []*Connection{Build(r)}
		for _, format := range []string{"table", "md", "csv", "json"} {
			out := render(t, format, conns, true)
			for _, bad := range []string{"\x1b", "\x00", "\r", "\u202e", "\x07", "\xff"} {
				if bytes.Contains(out, []byte(bad)) {
					t.Errorf("%s output contains %q raw", format, bad)
				}
			}
			if len(out) > 200_000 {
				t.Errorf("%s output is %d bytes for one connection", format, len(out))
			}
			switch format {
			case "md":
				checkMarkdown(t, "hostile", out)
			case "csv":
				rows := csvRows(t, out)
				if len(rows) != 2 {
					t.Errorf("CSV has %d rows, want 2", len(rows))
				}
				for _, cell := range rows[1] {
					if strings.ContainsAny(cell, "\n\r\x1b\x00") {
						t.Errorf("CSV cell %q", cell)
					}
					if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
						t.Errorf("CSV cell starts like a formula: %q", cell)
					}
				}
			case "json":
				var back Connection
				if err := json.Unmarshal(out, &back); err != nil {
					t.Fatal(err)
				}
				if string([]rune(sni)) != back.ClientHello.SNI {
					t.Errorf("JSON SNI %q, want the original", back.ClientHello.SNI)
				}
			case "table":
				// Every table row stays one line: the rows with │ borders and
				// the header count.
				lines := strings.Split(string(out), "\n")
				rows := 0
				for _, l := range lines {
					if strings.HasPrefix(l, "│") {
						rows++
					}
				}
				if rows != 2 {
					t.Errorf("table has %d rows, want header and 1:\n%s", rows, out)
				}
			}
		}
	}
}
