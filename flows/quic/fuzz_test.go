package quic

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzParseDatagram parses a datagram, opens each packet with the Initial
// keys of its DCID and reads the frames of what opens; then it seals the
// input as an Initial's payload and checks that it comes back.
func FuzzParseDatagram(f *testing.F) {
	f.Add(unhex(f, rfc9001A2Packet), int8(-1))
	f.Add(unhex(f, rfc9369A3Packet), int8(0))
	f.Add(unhex(f, rfcVersions[0].retry), int8(8))
	f.Add(unhex(f, rfcVersions[1].chacha), int8(0))
	f.Add([]byte{0x80, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 1}, int8(4))
	f.Add(unhex(f, rfcServerPayload), int8(8))
	f.Fuzz(func(t *testing.T, b []byte, dcidLen int8) {
		pkts, _ := ParseDatagram(b, int(dcidLen)%24)
		total := 0
		for i := range pkts {
			p := &pkts[i]
			total += len(p.Raw)
			if p.PNOffset < 0 || p.PNOffset > len(p.Raw) {
				t.Fatalf("PNOffset %d of %d", p.PNOffset, len(p.Raw))
			}
			if !p.Version.Known() || p.PNOffset == 0 {
				continue
			}
			co, so, err := InitialOpeners(p.Version, p.DCID)
			if err != nil {
				t.Fatal(err)
			}
			raw := bytes.Clone(p.Raw)
			for _, o := range []*Opener{co, so} {
				if _, payload, err := o.Open(p, -1); err == nil {
					_ = ParseFrames(payload, func(Frame) error { return nil })
				}
			}
			if !bytes.Equal(raw, p.Raw) {
				t.Fatal("Open changed the datagram")
			}
		}
		if total > len(b) {
			t.Fatalf("packets of %d bytes in a datagram of %d", total, len(b))
		}
		_ = ParseFrames(b, func(Frame) error { return nil })

		// The input as a payload: sealed, parsed and opened back.
		if len(b) < 4 {
			return
		}
		dcid := b[:min(len(b), 8)]
		cs, _, _ := InitialSealers(V2, dcid)
		co, _, _ := InitialOpeners(V2, dcid)
		raw, err := cs.Seal(Header{Type: Initial, DCID: dcid, PNLen: 1 + int(b[0]&3)}, int64(b[1]), b)
		if err != nil {
			t.Fatal(err)
		}
		pkts, err = ParseDatagram(raw, -1)
		if err != nil || len(pkts) != 1 {
			t.Fatalf("sealed packet: %v", err)
		}
		pn, payload, err := co.Open(&pkts[0], int64(b[1])-1)
		if err != nil || pn != int64(b[1]) || !bytes.Equal(payload, b) {
			t.Fatalf("round trip: pn %d, %v", pn, err)
		}
	})
}

// FuzzCryptoStream adds pieces of a known stream at offsets and lengths
// the input says (with some far past the limits) and checks that what
// comes out is the stream's prefix and that the bounds hold.
func FuzzCryptoStream(f *testing.F) {
	f.Add([]byte{0, 10, 5, 0, 0, 10, 0, 20, 30})
	f.Add([]byte{0xff, 0xff, 0xff, 0, 0, 1})
	f.Fuzz(func(t *testing.T, ops []byte) {
		ref := make([]byte, 1<<16)
		for i := range ref {
			ref[i] = byte(i) ^ byte(i>>8)
		}
		var s CryptoStream
		var got []byte
		for len(ops) >= 3 {
			off := uint64(binary.BigEndian.Uint16(ops))
			n := int(ops[2]) * 4
			ops = ops[3:]
			var data []byte
			if off+uint64(n) <= uint64(len(ref)) {
				data = ref[off : off+uint64(n)]
			} else {
				// Past the reference: hostile offsets, refused.
				off, data = off<<46, ref[:n]
			}
			err := s.Add(off, data)
			if err == nil && off > MaxCryptoOffset {
				t.Fatalf("Add at %#x accepted", off)
			}
			got = append(got, s.Read()...)
			if s.Buffered() > MaxCryptoBuffered || len(s.pieces) > maxCryptoPieces {
				t.Fatalf("holding %d bytes in %d runs", s.Buffered(), len(s.pieces))
			}
			if s.Missing() != (s.Buffered() > 0) {
				t.Fatalf("Missing %v with %d held", s.Missing(), s.Buffered())
			}
		}
		if uint64(len(got)) != s.Offset() || !bytes.Equal(got, ref[:len(got)]) {
			t.Fatalf("read %d bytes, offset %d, equal %v", len(got), s.Offset(), bytes.Equal(got, ref[:min(len(got), len(ref))]))
		}
	})
}
