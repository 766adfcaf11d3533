package flows

import (
	"net/netip"
	"testing"
	"time"
)

// TestTombsGenerations: a tomb is found for at least one generation, a
// late packet keeps it another, and without one it is gone after two.
func TestTombsGenerations(t *testing.T) {
	g := newTombs()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cli, srv := netip.MustParseAddrPort("10.0.0.1:50000"), netip.MustParseAddrPort("10.0.0.2:443")
	k := key(cli, srv)
	c := &conn{ep: [2]netip.AddrPort{cli, srv}, isn: [2]uint32{100, 200}, isnSet: [2]bool{true, true}}
	g.bury(k, c, t0)
	if tb, _, ok := g.find(k); !ok || tb.isn != c.isn || tb.clientFirst != (k[0] == cli) {
		t.Fatalf("tomb not found or wrong: %+v %v", tb, ok)
	}
	if _, _, ok := g.find(key(cli, netip.MustParseAddrPort("10.0.0.2:8443"))); ok {
		t.Fatal("a tomb found for other ports")
	}
	g.turn(t0.Add(tombGeneration))
	if _, _, ok := g.find(k); !ok {
		t.Fatal("tomb lost after one generation")
	}
	// That late packet moved it to the new generation.
	g.turn(t0.Add(2 * tombGeneration))
	if _, _, ok := g.find(k); !ok {
		t.Fatal("tomb lost though a late packet came in the generation before")
	}
	g.turn(t0.Add(3 * tombGeneration))
	g.turn(t0.Add(4 * tombGeneration))
	if _, _, ok := g.find(k); ok || g.len() != 0 {
		t.Fatalf("tomb kept two generations without packets (%d left)", g.len())
	}
	// A full generation turns early: memory stays bounded.
	for i := range maxTombs + 10 {
		g.bury(key(cli, netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), uint16(i>>16))), c, t0.Add(5*tombGeneration))
	}
	if g.len() > 2*maxTombs {
		t.Errorf("%d tombs kept, cap %d", g.len(), 2*maxTombs)
	}
}
