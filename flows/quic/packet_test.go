package quic

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// secretFor is a traffic secret of the suite's hash length.
func secretFor(suite uint16, seed byte) []byte {
	n := 32
	if suite == 0x1302 {
		n = 48
	}
	s := make([]byte, n)
	for i := range s {
		s[i] = seed + byte(i)
	}
	return s
}

// TestSealOpenRoundTrip seals and opens every packet type, packet-number
// length, suite and version, and checks that a changed byte does not
// authenticate.
func TestSealOpenRoundTrip(t *testing.T) {
	dcid, scid := []byte{1, 2, 3, 4, 5, 6, 7, 8}, []byte{9, 10, 11}
	payload := bytes.Repeat([]byte{0x01}, 30) // PINGs
	for _, v := range []Version{V1, V2, Draft29, 0xff000020, 0xff00001b} {
		for _, suite := range []uint16{0x1301, 0x1302, 0x1303} {
			for _, typ := range []PacketType{Initial, ZeroRTT, Handshake, OneRTT} {
				for pnLen := 1; pnLen <= 4; pnLen++ {
					name := fmt.Sprintf("%s/%#04x/%s/%d", v, suite, typ, pnLen)
					s, err := NewSealer(v, suite, secretFor(suite, byte(pnLen)))
					if err != nil {
						t.Fatal(name, err)
					}
					o, _ := NewOpener(v, suite, secretFor(suite, byte(pnLen)))
					pn := int64(0x12345678) & (1<<(8*pnLen) - 1)
					h := Header{Type: typ, DCID: dcid, SCID: scid, PNLen: pnLen, Token: []byte("tok")}
					raw, err := s.Seal(h, pn+5, payload)
					if err != nil {
						t.Fatal(name, err)
					}
					pkts, err := ParseDatagram(raw, len(dcid))
					if err != nil || len(pkts) != 1 {
						t.Fatalf("%s: ParseDatagram: %v", name, err)
					}
					p := pkts[0]
					if p.Type != typ || !bytes.Equal(p.DCID, dcid) || len(p.Raw) != len(raw) {
						t.Fatalf("%s: parsed %+v", name, p)
					}
					if typ == Initial && string(p.Token) != "tok" {
						t.Fatalf("%s: token %q", name, p.Token)
					}
					got, plain, err := o.Open(&p, pn+4)
					if err != nil || got != pn+5 || !bytes.Equal(plain, payload) {
						t.Fatalf("%s: Open: pn %d, %v", name, got, err)
					}
					for _, i := range []int{p.PNOffset, len(raw) - 1, p.PNOffset + 6} {
						bad := bytes.Clone(raw)
						bad[i] ^= 0x40
						p.Raw = bad
						if _, _, err := o.Open(&p, pn+4); !errors.Is(err, ErrDecrypt) {
							t.Fatalf("%s: byte %d changed: %v", name, i, err)
						}
					}
				}
			}
		}
	}
}

// TestKeyUpdate: Next's keys open what the sealer's Next seals, and the
// old keys do not.
func TestKeyUpdate(t *testing.T) {
	for _, v := range []Version{V1, V2} {
		s, _ := NewSealer(v, 0x1301, secretFor(0x1301, 7))
		o, _ := NewOpener(v, 0x1301, secretFor(0x1301, 7))
		raw, err := s.Next().Seal(Header{Type: OneRTT, KeyPhase: true}, 9, []byte{1, 0, 0, 0})
		if err != nil {
			t.Fatal(err)
		}
		pkts, _ := ParseDatagram(raw, 0)
		if _, _, err := o.Open(&pkts[0], 8); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("%s: old keys: %v", v, err)
		}
		if _, _, err := o.Next().Open(&pkts[0], 8); err != nil {
			t.Fatalf("%s: next keys: %v", v, err)
		}
	}
}

func TestKeyErrors(t *testing.T) {
	if _, err := NewOpener(V1, 0x1304, secretFor(0x1301, 0)); err == nil || !strings.Contains(err.Error(), "0x1304") {
		t.Errorf("CCM suite: %v", err)
	}
	if _, err := NewOpener(V1, 0x1302, secretFor(0x1301, 0)); err == nil {
		t.Error("32-byte secret for a SHA-384 suite accepted")
	}
	if _, _, err := InitialOpeners(0x1a2a3a4a, []byte{1}); err == nil {
		t.Error("Initial keys of an unknown version")
	}
	s, _ := NewSealer(V1, 0x1301, secretFor(0x1301, 0))
	if _, err := s.Seal(Header{Type: OneRTT, PNLen: 1}, 0, []byte{1, 2}); err == nil {
		t.Error("sealed a packet too short for a sample")
	}
	if _, err := s.Seal(Header{Type: Retry}, 0, make([]byte, 20)); err == nil {
		t.Error("sealed a Retry")
	}
	o, _ := NewOpener(V1, 0x1301, secretFor(0x1301, 0))
	for _, p := range []Packet{
		{Type: OneRTT, Raw: make([]byte, 30)},              // DCID length unknown
		{Type: OneRTT, Raw: make([]byte, 10), PNOffset: 1}, // no sample
		{Type: Initial, Raw: make([]byte, 10), PNOffset: 50},
	} {
		if _, _, err := o.Open(&p, -1); err == nil || errors.Is(err, ErrDecrypt) {
			t.Errorf("Open(%+v) = %v, want a format error", p, err)
		}
	}
}

// TestCoalesced parses an Initial, a Handshake and a 1-RTT packet in one
// datagram (RFC 9000 §12.2) and opens each with its own keys.
func TestCoalesced(t *testing.T) {
	dcid := []byte{0xaa, 0xbb, 0xcc, 0xdd, 0xee}
	ci, _, _ := InitialSealers(V1, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	oi, _, _ := InitialOpeners(V1, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	hs, _ := NewSealer(V1, 0x1303, secretFor(0x1303, 1))
	ho, _ := NewOpener(V1, 0x1303, secretFor(0x1303, 1))
	as, _ := NewSealer(V1, 0x1302, secretFor(0x1302, 2))
	ao, _ := NewOpener(V1, 0x1302, secretFor(0x1302, 2))
	p1, _ := ci.Seal(Header{Type: Initial, DCID: dcid, PNLen: 1}, 0, []byte{0x06, 0x00, 0x03, 'a', 'b', 'c'})
	p2, _ := hs.Seal(Header{Type: Handshake, DCID: dcid, PNLen: 2}, 1, []byte{0x06, 0x00, 0x01, 'd'})
	p3, _ := as.Seal(Header{Type: OneRTT, DCID: dcid, PNLen: 3}, 2, []byte{0x01, 0, 0, 0, 0, 0})
	dgram := append(append(append([]byte(nil), p1...), p2...), p3...)
	pkts, err := ParseDatagram(dgram, len(dcid))
	if err != nil || len(pkts) != 3 {
		t.Fatalf("%d packets, %v", len(pkts), err)
	}
	for i, c := range []struct {
		typ  PacketType
		raw  []byte
		o    *Opener
		want string
	}{{Initial, p1, oi, "abc"}, {Handshake, p2, ho, "d"}, {OneRTT, p3, ao, ""}} {
		p := pkts[i]
		if p.Type != c.typ || !bytes.Equal(p.Raw, c.raw) || !bytes.Equal(p.DCID, dcid) {
			t.Fatalf("packet %d: %s of %d bytes", i, p.Type, len(p.Raw))
		}
		pn, payload, err := c.o.Open(&p, -1)
		if err != nil || pn != int64(i) {
			t.Fatalf("packet %d: pn %d, %v", i, pn, err)
		}
		if c.want != "" && string(payload[3:]) != c.want {
			t.Fatalf("packet %d: payload %q", i, payload)
		}
	}
	// Zero bytes after a long header are padding (RFC 9000 §14.1).
	padded := append(append([]byte(nil), p1...), make([]byte, 100)...)
	if pkts, err := ParseDatagram(padded, -1); err != nil || len(pkts) != 1 {
		t.Fatalf("zero padding: %d packets, %v", len(pkts), err)
	}
	// The short header's DCID is left empty when its length is unknown.
	if pkts, _ := ParseDatagram(p3, -1); len(pkts) != 1 || len(pkts[0].DCID) != 0 || pkts[0].PNOffset != 0 {
		t.Fatalf("short header without a DCID length: %+v", pkts)
	}
}

// TestParseErrors: each malformed header is an error that names its
// field, and the packets before it are returned.
func TestParseErrors(t *testing.T) {
	ci, _, _ := InitialSealers(V1, []byte{1, 2, 3, 4})
	good, _ := ci.Seal(Header{Type: Initial, DCID: []byte{1, 2, 3, 4}}, 0, make([]byte, 20))
	long := func(rest ...byte) []byte { return append([]byte{0xc0, 0, 0, 0, 1}, rest...) }
	for _, c := range []struct {
		name, want string
		b          []byte
	}{
		{"short long header", "shorter than 7", []byte{0xc0, 0, 0, 0, 1, 0}},
		{"DCID too long", "destination connection ID length 21 > 20", long(append([]byte{21}, make([]byte, 30)...)...)},
		{"SCID too long", "source connection ID length 200 > 20", long(0, 200, 0, 0)},
		{"DCID truncated", "destination connection ID of 8 bytes: truncated", long(8, 1, 2)},
		{"token length past end", "token length 1000 runs past the datagram", long(0, 0, 0x43, 0xe8, 0, 0)},
		{"token varint truncated", "token length: truncated varint", long(0, 0, 0x80, 0)},
		{"length past end", "Initial: length 100 runs past the datagram", long(0, 0, 0, 0x40, 100, 0, 0)},
		{"handshake length varint", "Handshake: length: truncated varint", []byte{0xe0, 0, 0, 0, 1, 0, 0, 0xc0}},
		{"retry without tag", "too short for the 16-byte integrity tag", []byte{0xf0, 0, 0, 0, 1, 0, 0, 1, 2, 3}},
		{"VN odd list", "not a multiple of 4", []byte{0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2}},
		{"short header too short", "too short for a 8-byte connection ID", []byte{0x40, 1, 2}},
	} {
		dgram := append(bytes.Clone(good), c.b...)
		pkts, err := ParseDatagram(dgram, 8)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
			continue
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("packet 2 at offset %d", len(good))) {
			t.Errorf("%s: error %q does not say where", c.name, err)
		}
		if len(pkts) != 1 || !bytes.Equal(pkts[0].Raw, good) {
			t.Errorf("%s: the good packet before it is lost", c.name)
		}
	}
}

// TestVersionNegotiation parses a VN packet's versions (RFC 9000 §17.2.1)
// with connection IDs longer than v1 allows (RFC 8999 §6).
func TestVersionNegotiation(t *testing.T) {
	b := []byte{0xbf, 0, 0, 0, 0, 25}
	b = append(b, bytes.Repeat([]byte{7}, 25)...)
	b = append(b, 3, 8, 8, 8)
	for _, v := range []Version{V2, V1, 0x0a1a2a3a} {
		b = binary.BigEndian.AppendUint32(b, uint32(v))
	}
	pkts, err := ParseDatagram(b, -1)
	if err != nil || len(pkts) != 1 {
		t.Fatalf("%v", err)
	}
	p := pkts[0]
	if p.Type != VersionNegotiation || len(p.DCID) != 25 || len(p.SCID) != 3 || fmt.Sprint(p.SupportedVersions) != "[0x6b3343cf 0x00000001 0x0a1a2a3a]" {
		t.Fatalf("parsed %+v", p)
	}
	if !LooksLikeQUIC(b) {
		t.Error("LooksLikeQUIC false for VN")
	}
	// An unknown version keeps its invariant fields only (RFC 8999 §5.1).
	u := []byte{0xc0, 0x1a, 0x2a, 0x3a, 0x4a, 2, 1, 2, 1, 3, 0xff, 0xff}
	pkts, err = ParseDatagram(u, -1)
	if err != nil || len(pkts) != 1 || pkts[0].Type != UnknownVersion || len(pkts[0].Raw) != len(u) || len(pkts[0].SCID) != 1 {
		t.Fatalf("unknown version: %+v, %v", pkts, err)
	}
	// 0x1a2a3a4a is a reserved version (RFC 9000 §15): clients send it to
	// make the server answer with Version Negotiation, so it is QUIC; an
	// unknown version outside that pattern is not taken for QUIC.
	if !LooksLikeQUIC(u) {
		t.Error("LooksLikeQUIC false for a reserved version")
	}
	other := append([]byte{0xc0, 0x12, 0x34, 0x56, 0x78}, u[5:]...)
	if LooksLikeQUIC(other) {
		t.Error("LooksLikeQUIC true for an unknown version")
	}
}

func TestLooksLikeQUIC(t *testing.T) {
	ci, _, _ := InitialSealers(V2, []byte{1, 2, 3, 4})
	init, _ := ci.Seal(Header{Type: Initial, DCID: []byte{1, 2, 3, 4}}, 0, make([]byte, 20))
	for _, c := range []struct {
		b    []byte
		want bool
	}{
		{init, true},
		{nil, false},
		{[]byte{0x12, 0x34, 0x01, 0x00, 0x00, 0x01}, false},                         // a DNS query's start
		{append([]byte{0x40}, make([]byte, 30)...), true},                           // short header
		{append([]byte{0x00}, make([]byte, 30)...), false},                          // fixed bit clear
		{[]byte{0x80, 0, 0, 0, 1, 0, 0, 0}, false},                                  // v1 long header, fixed bit clear
		{[]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03}, false}, // TLS over UDP by mistake
	} {
		if got := LooksLikeQUIC(c.b); got != c.want {
			t.Errorf("LooksLikeQUIC(%x) = %v", c.b, got)
		}
	}
}

func TestVersionString(t *testing.T) {
	if V1.String() != "0x00000001" || V2.String() != "0x6b3343cf" || !Draft29.Known() || Version(0xff00001a).Known() || !Version(0xff00001b).Known() || Version(0xff000021).Known() {
		t.Fatal("Version String or Known wrong")
	}
	if Initial.String() != "Initial" || OneRTT.String() != "1-RTT" || PacketType(99).String() != "PacketType(99)" {
		t.Fatal("PacketType String wrong")
	}
}
