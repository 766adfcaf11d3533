package quic

import (
	"bytes"
	"testing"
)

// TestInitialOpenerOneSide: one side's Initial opener alone opens what
// that side's Initial sealer protects, and not the other side's.
func TestInitialOpenerOneSide(t *testing.T) {
	dcid := []byte{0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08} // RFC 9001 Appendix A
	for _, v := range []Version{V1, V2, Draft29} {
		cs, ss, err := InitialSealers(v, dcid)
		if err != nil {
			t.Fatal(err)
		}
		for i, sealer := range []*Sealer{cs, ss} {
			payload := append([]byte{0x01}, make([]byte, 40)...) // PING, PADDING
			raw, err := sealer.Seal(Header{Type: Initial, Version: v, DCID: dcid, SCID: []byte{1}, PNLen: 2}, 7, payload)
			if err != nil {
				t.Fatal(err)
			}
			for j, server := range []bool{false, true} {
				o, err := InitialOpener(v, dcid, server)
				if err != nil {
					t.Fatal(err)
				}
				pkts, err := ParseDatagram(raw, -1)
				if err != nil || len(pkts) != 1 {
					t.Fatalf("%s: %v", v, err)
				}
				pn, got, err := o.Open(&pkts[0], -1)
				switch {
				case i == j && (err != nil || pn != 7 || !bytes.Equal(got, payload)):
					t.Errorf("%s side %d: pn %d, %v", v, i, pn, err)
				case i != j && err == nil:
					t.Errorf("%s: side %d's opener opened side %d's packet", v, j, i)
				}
			}
		}
	}
}
