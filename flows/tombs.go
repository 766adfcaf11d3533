package flows

import (
	"hash/maphash"
	"net/netip"
	"time"
)

// tombs remember finished connections for a while, so that a late packet
// of one (an ACK, a retransmitted FIN) keeps its stream number as in
// Wireshark instead of opening a new stream. Each is a few bytes under a
// 64-bit hash of its addresses (a collision needs 2^32 tombs at once), in
// two generations: a tomb lives between one and two generations, and
// expiry costs one map swap, not a scan.
type tombs struct {
	seed     maphash.Seed
	cur, old map[uint64]tomb
	since    time.Time // when cur began
}

// tomb is what decides whether a SYN on the same addresses and ports is
// a new connection: the sequence numbers each side started with.
type tomb struct {
	isn         [2]uint32 // by the connection's sides (0: client)
	isnSet      [2]bool
	clientFirst bool // the client is the key's first endpoint
}

const (
	tombGeneration = time.Minute
	// maxTombs bounds one generation; past it the generation turns early.
	maxTombs = 1 << 18
)

func newTombs() tombs {
	return tombs{seed: maphash.MakeSeed(), cur: map[uint64]tomb{}, old: map[uint64]tomb{}}
}

func (g *tombs) hash(k [2]netip.AddrPort) uint64 { return maphash.Comparable(g.seed, k) }

// bury remembers a finished connection.
func (g *tombs) bury(k [2]netip.AddrPort, c *conn, now time.Time) {
	g.turn(now)
	g.cur[g.hash(k)] = tomb{isn: c.isn, isnSet: c.isnSet, clientFirst: c.ep[0] == k[0]}
}

// find returns the tomb of the connection on k, if one is remembered; a
// late packet keeps it for another generation.
func (g *tombs) find(k [2]netip.AddrPort) (tomb, uint64, bool) {
	h := g.hash(k)
	if t, ok := g.cur[h]; ok {
		return t, h, true
	}
	if t, ok := g.old[h]; ok {
		delete(g.old, h)
		g.cur[h] = t
		return t, h, true
	}
	return tomb{}, h, false
}

func (g *tombs) forget(h uint64) {
	delete(g.cur, h)
	delete(g.old, h)
}

// turn starts a new generation when the current one is old or full.
func (g *tombs) turn(now time.Time) {
	if g.since.IsZero() {
		g.since = now
	}
	if now.Sub(g.since) >= tombGeneration || len(g.cur) >= maxTombs {
		g.old, g.cur = g.cur, make(map[uint64]tomb, len(g.cur)/2)
		g.since = now
	}
}

func (g *tombs) len() int { return len(g.cur) + len(g.old) }
