package decoder

import (
	"encoding/hex"
	"testing"
	"time"
)

// Byte literals for what Go's crypto/tls cannot produce. Each is the first
// TCP payload of the client in the named capture of ../shared/captures
// (tshark -2 -R 'tcp.len>0' -T fields -e tcp.payload), and the expected
// fields are what tshark 4.0.17 shows for it.
var (
	// SSL 2.0 CLIENT-HELLO, version 0x0002: zeek testing/btest/Traces/tls/ssl-v2.pcap.
	ssl2ClientHello = mustHex("802e0100020015000000100700c00500800300800100800600400400800200801c30e2b12f4c04525476f280c07abee5")
	// SSL 3.0 ClientHello: snet tests/pcap/data/decrypt_by_keylog/ssl3_0.pcap, stream 1.
	ssl3ClientHello = mustHex("160300003501000031030065a4b8b59e899470344168f7503a79622e1608acef20cf9a2adcc478dc01f9e800000a003900330035002f00ff0100")
	// TLS 1.3 draft 23 (0x7f17) from Chrome 67 canary, with GREASE:
	// zeek testing/btest/Traces/tls/tls13draft23-chrome67.0.3368.0-canary.pcap.
	draft23ClientHello = mustHex("1603010200010001fc030386be7d080a9cd26f7d89b538c83d450c60c1393f14574c3269af7f6d1052bb8f201f9f238511d3ac9d69ed29b12c25c56e1592431adab44b39f867eff6ca99286e00229a9a130113021303c02bc02fc02cc030cca9cca8c013c014009c009d002f0035000a010001914a4a0000ff010001000000001d001b000018746c7331332e63727970746f2e6d6f7a696c6c612e6f72670017000000230000000d00140012040308040401050308050501080606010201000500050100000000001200000010000e000c02683208687474702f312e3175500000000b000201000033002b00299a9a000100001d0020d95beecc2091f2ec862ea2cff3aef1ec8a65877ff594a040c94ac878a2455731002d00020101002b000b0adada7f17030303020301000a000a00089a9a001d0017001800180004001001027a7a000100001500bb00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000")
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

var t0 = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

func TestSSLv2ClientHello(t *testing.T) {
	c := NewConn(true)
	c.Feed(0, ssl2ClientHello, t0)
	ch := c.Snapshot().ClientHello
	if ch == nil || !ch.SSLv2 || ch.Version != VersionSSL20 {
		t.Fatalf("SSL 2.0 hello: %+v, problems %v", ch, c.Snapshot().Problems)
	}
	// 7 cipher specs, all SSL 2.0 kinds (first byte non-zero): no TLS suites.
	if len(ch.CipherSuites) != 0 || len(ch.Random) != 16 {
		t.Errorf("suites %v, challenge %d bytes; want none and 16", ch.CipherSuites, len(ch.Random))
	}
	if st := c.State(); st.Phase != PhaseHandshaking || st.Waiting != Server || st.Next != MsgServerHello {
		t.Errorf("state %+v", st)
	}
}

func TestSSL3ClientHello(t *testing.T) {
	c := NewConn(true)
	c.Feed(0, ssl3ClientHello, t0)
	ch := c.Snapshot().ClientHello
	if ch == nil || ch.Version != VersionSSL30 || ch.SSLv2 {
		t.Fatalf("SSL 3.0 hello: %+v, problems %v", ch, c.Snapshot().Problems)
	}
	// tshark: 0x0039 0x0033 0x0035 0x002f 0x00ff, no extensions.
	want := []uint16{0x39, 0x33, 0x35, 0x2f, 0xff}
	if len(ch.CipherSuites) != len(want) || len(ch.Extensions) != 0 {
		t.Fatalf("suites %x, extensions %v", ch.CipherSuites, ch.Extensions)
	}
	for i := range want {
		if ch.CipherSuites[i] != want[i] {
			t.Errorf("suite %d: %#04x, want %#04x", i, ch.CipherSuites[i], want[i])
		}
	}
	if CipherSuiteName(0xff) != "TLS_EMPTY_RENEGOTIATION_INFO_SCSV" {
		t.Errorf("0x00ff is %s", CipherSuiteName(0xff))
	}
}

func TestDraft23ClientHello(t *testing.T) {
	c := NewConn(true)
	// Fed in three pieces, cut inside the record header and the SNI.
	c.Feed(0, draft23ClientHello[:3], t0)
	c.Feed(0, draft23ClientHello[3:120], t0)
	c.Feed(0, draft23ClientHello[120:], t0)
	ch := c.Snapshot().ClientHello
	if ch == nil {
		t.Fatalf("no hello: %v", c.Snapshot().Problems)
	}
	if ch.ServerName != "tls13.crypto.mozilla.org" {
		t.Errorf("SNI %q", ch.ServerName)
	}
	if ch.MaxVersion() != 0x7f17 || VersionName(ch.MaxVersion()) != "TLS 1.3 (draft 23)" {
		t.Errorf("max version %#04x %q", ch.MaxVersion(), VersionName(ch.MaxVersion()))
	}
	// tshark's tls.handshake.ja3_full for this hello: GREASE removed.
	full, _ := ch.JA3()
	want := "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53-10,65281-0-23-35-13-5-18-16-30032-11-51-45-43-10-24-21,29-23-24,0"
	if full != want {
		t.Errorf("JA3 %s\nwant %s", full, want)
	}
	if !IsGREASE(ch.CipherSuites[0]) || CipherSuiteName(ch.CipherSuites[0]) != "GREASE" {
		t.Errorf("first suite %#04x should be GREASE", ch.CipherSuites[0])
	}
	if len(ch.ALPN) != 2 || ch.ALPN[0] != "h2" || ch.ALPN[1] != "http/1.1" {
		t.Errorf("ALPN %q", ch.ALPN)
	}
}

func TestRecordLimits(t *testing.T) {
	// A record header claiming more than TLS allows is not buffered.
	c := NewConn(true)
	c.Feed(0, []byte{0x16, 0x03, 0x01, 0xff, 0xff, 0x01}, t0)
	if c.rl[0].mode != frameDead || len(c.Snapshot().Problems) == 0 {
		t.Errorf("oversized record: mode %d, problems %v", c.rl[0].mode, c.Snapshot().Problems)
	}
	// A handshake message claiming 16 MiB is skipped, not buffered.
	c = NewConn(true)
	rec := []byte{0x16, 0x03, 0x03, 0x00, 0x08, 0x0b, 0xff, 0xff, 0xff, 1, 2, 3, 4}
	c.Feed(1, rec, t0)
	if len(c.hr[1].buf) != 0 || c.hr[1].skip == 0 || len(c.Snapshot().Problems) == 0 {
		t.Errorf("huge message: buffered %d, skip %d, problems %v", len(c.hr[1].buf), c.hr[1].skip, c.Snapshot().Problems)
	}
	// Length fields alone reserve little: a record header claiming 18 KiB
	// with 10 bytes come, and a Certificate claiming 200 KiB in a record
	// of 8, are buffered at most four times over.
	c = NewConn(true)
	c.Feed(1, []byte{0x16, 0x03, 0x03, 0x48, 0x00, 0x0b, 0x03, 0x20, 0x00, 0x00}, t0)
	if n := cap(c.rl[1].buf); n > 40 {
		t.Errorf("partial record of 10 bytes: %d reserved", n)
	}
	c = NewConn(true)
	c.Feed(1, []byte{0x16, 0x03, 0x03, 0x00, 0x08, 0x0b, 0x03, 0x20, 0x00, 1, 2, 3, 4}, t0)
	if n := cap(c.hr[1].buf); len(c.hr[1].buf) != 8 || n > 32 {
		t.Errorf("partial message of 8 bytes: %d buffered, %d reserved", len(c.hr[1].buf), n)
	}
	// Plain text that is not TLS is recognised at once.
	c = NewConn(true)
	c.Feed(0, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), t0)
	if c.State().Phase != PhaseNotTLS {
		t.Errorf("HTTP: phase %v", c.State().Phase)
	}
}

func TestSTARTTLSPreamble(t *testing.T) {
	c := NewConn(true)
	c.Feed(1, []byte("220 mail.example ESMTP\r\n"), t0)
	c.Feed(0, []byte("EHLO me\r\nSTARTTLS\r\n"), t0)
	c.Feed(1, []byte("220 2.0.0 Ready to start TLS\r\n"), t0)
	c.Feed(0, ssl3ClientHello, t0)
	if c.Snapshot().ClientHello == nil || c.Snapshot().Preamble[Client] != int64(len("EHLO me\r\nSTARTTLS\r\n")) {
		t.Errorf("hello %v, preamble %d", c.Snapshot().ClientHello != nil, c.Snapshot().Preamble[Client])
	}
}
