package flows

import (
	"bytes"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/tlsscope/tlsscope/flows/capture"
	"github.com/tlsscope/tlsscope/internal/capgen"
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

// TestRetireFreesReassembler: once a handshake is decided the reassembler
// lets go of its connection at once, not after the flush window; only
// connections still undecided remain in it.
func TestRetireFreesReassembler(t *testing.T) {
	var buf bytes.Buffer
	if _, err := capgen.WriteLoad(&buf, capgen.LoadOptions{Conns: 60, Data: 20 << 10}); err != nil {
		t.Fatal(err)
	}
	src, err := capture.OpenReader("load", &buf)
	if err != nil {
		t.Fatal(err)
	}
	a := NewAnalyzer(DefaultOptions)
	a.OnResult = func(*Result) {}
	// Stop while connections are open: 60 start 5 ms apart.
	var first time.Time
	for {
		p, err := src.Next()
		if err != nil {
			t.Fatal(err)
		}
		if first.IsZero() {
			first = p.CI.Timestamp
		}
		if p.CI.Timestamp.Sub(first) > 250*time.Millisecond {
			break
		}
		a.Packet(p.Data, p.CI, p.Link)
	}
	undecided, decided := 0, 0
	for _, c := range a.table {
		if c.decided {
			decided++
		} else if !c.finished {
			undecided++
		}
	}
	held := a.asm.FlushAll()
	if decided == 0 {
		t.Fatal("no decided connection left open: the test shows nothing")
	}
	if held > undecided {
		t.Errorf("the reassembler holds %d connections; %d are undecided (%d decided ones are open)", held, undecided, decided)
	}
	t.Logf("open: %d decided, %d undecided; the reassembler held %d", decided, undecided, held)
}

// TestDecidedPacketsDoNotAllocate: the packets of a connection whose
// handshake is decided (its application data) take the fast path: no
// reassembly, no decoder, no allocation.
func TestDecidedPacketsDoNotAllocate(t *testing.T) {
	var buf bytes.Buffer
	// Connection 25 of the load is TLS 1.2 with 197,975 bytes of data.
	if _, err := capgen.WriteLoad(&buf, capgen.LoadOptions{Conns: 26}); err != nil {
		t.Fatal(err)
	}
	src, err := capture.OpenReader("load", &buf)
	if err != nil {
		t.Fatal(err)
	}
	var pkts []capture.Packet
	client := []byte{10, 0, 0, 25}
	for {
		p, err := src.Next()
		if err != nil {
			break
		}
		// Ethernet, then IPv4: source at 26, destination at 30.
		if len(p.Data) >= 34 && (bytes.Equal(p.Data[26:30], client) || bytes.Equal(p.Data[30:34], client)) {
			pkts = append(pkts, capture.Packet{Data: append([]byte(nil), p.Data...), CI: p.CI, Link: p.Link})
		}
	}
	a := NewAnalyzer(DefaultOptions)
	a.OnResult = func(*Result) {}
	i := 0
	for ; i < len(pkts) && !(len(a.table) == 1 && a.table[key(a.one.seg.src, a.one.seg.dst)].decided); i++ {
		a.Packet(pkts[i].Data, pkts[i].CI, pkts[i].Link)
	}
	rest := pkts[i : len(pkts)-4] // leave the FIN exchange out
	if len(rest) < 50 {
		t.Fatalf("only %d packets after the verdict", len(rest))
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range rest {
		a.Packet(rest[i].Data, rest[i].CI, rest[i].Link)
	}
	runtime.ReadMemStats(&after)
	// Counted over the whole process: allow for the runtime's own.
	if allocs := after.Mallocs - before.Mallocs; allocs > 2 {
		t.Errorf("%d allocations for %d packets of a decided connection", allocs, len(rest))
	}
	t.Logf("%d packets after the verdict: %d allocations", len(rest), after.Mallocs-before.Mallocs)
}
