package flows

import (
	"net/netip"
	"time"
)

// Sharding (Options.Shard): n processes or machines read the same
// captures, each keeps the connections of its shard, and the union of
// their outputs is one whole run's, stream numbers included.
//
// A connection's shard is FlowHash of its endpoints modulo N. FlowHash is
// fixed, so every machine agrees: 64-bit FNV-1a over the endpoints
// ordered as Community ID v1 orders them (the smaller address first, on
// equal addresses the smaller port), each as its address bytes (4 for
// IPv4, IPv4-mapped IPv6 taken as IPv4; 16 for IPv6) and its port (2
// bytes, big-endian), then the protocol byte (6, TCP):
//
//	fmix64(FNV-1a-64(ip1 ‖ port1 ‖ ip2 ‖ port2 ‖ 0x06)) mod N
//
// where fmix64 is MurmurHash3's 64-bit finalizer (h ^= h>>33; h *=
// 0xff51afd7ed558ccd; h ^= h>>33; h *= 0xc4ceb9fe1a85ec53; h ^= h>>33):
// the low bits of FNV-1a depend only on the low bits of each byte, so
// without it connections numbered in step (10.0.0.i:1024+i) all fall in
// one shard of 4.
//
// Stream numbers are Wireshark's tcp.stream: every connection of the
// capture counts, in capture order. So a sharded run still numbers the
// connections of other shards, with a ghost each: the few bytes that
// decide when a packet opens a new stream (the analyzer's segment, end
// and sweep, less everything TLS): each side's initial sequence number
// (a SYN with another starts a new stream), FIN and RST seen, data seen,
// and the last packet's time, in the same three expiry lists (closing,
// refused, others) with the same lingers; an ended ghost leaves the same
// tombstone as a connection, in the same tombs, so that its late packets
// keep its number. A ghost is about 72 bytes plus its map entry (about
// 100 bytes in all), and at most Options.MaxConnections are kept (past
// it the quietest is ended, as the table's cap does): 8 MiB at the
// default cap.
//
// What a sharded run cannot see of other shards' connections, and how
// it is made up for:
//   - A SOCKS connection (TCP port 1080) takes a second stream number
//     when its tunnel starts, which only decoding tells: connections on
//     port 1080 are analysed in full by every shard, and reported only
//     by their own.
//   - Ports learned as TLS ports from a ServerHello (a connection with no
//     bytes on such a port is still reported, and a connection seen
//     without its SYN takes the TLS port as the server): a ghost's first
//     payload from each side that begins a TLS handshake record holding
//     a ServerHello teaches its sender's port. This is the analyzer's
//     rule whenever the ServerHello starts a segment; a ServerHello after
//     a plaintext prelude (STARTTLS) is not seen, and the port is learned
//     when the ServerHello is seen, not when the handshake is decided.
//   - The caps (MaxConnections, MaxHandshakes, HandshakeBudget) are each
//     shard's own: a shard judges early only when its own share fills
//     them. Output differs from a whole run only for connections that the
//     whole run judged early.

// Shard selects connections by FlowHash: I in [0, N). N 0 or 1: all.
type Shard struct{ I, N int }

// On reports whether the shard selects a part.
func (s Shard) On() bool { return s.N > 1 }

// FlowHash is the shard hash of a TCP connection between x and y (either
// order): see the package's sharding notes. It allocates nothing.
func FlowHash(x, y netip.AddrPort) uint64 {
	k := key(x, y)
	h := uint64(fnvOffset)
	h = fnvAddr(h, k[0].Addr())
	h = fnvByte(fnvByte(h, byte(k[0].Port()>>8)), byte(k[0].Port()))
	h = fnvAddr(h, k[1].Addr())
	h = fnvByte(fnvByte(h, byte(k[1].Port()>>8)), byte(k[1].Port()))
	h = fnvByte(h, 6)
	// fmix64
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvByte(h uint64, b byte) uint64 { return (h ^ uint64(b)) * fnvPrime }

func fnvAddr(h uint64, a netip.Addr) uint64 {
	if a.Is4() || a.Is4In6() {
		b := a.Unmap().As4()
		for _, c := range b {
			h = fnvByte(h, c)
		}
		return h
	}
	b := a.As16()
	for _, c := range b {
		h = fnvByte(h, c)
	}
	return h
}

// Of reports the shard of a connection between x and y.
func (s Shard) Of(x, y netip.AddrPort) int { return int(FlowHash(x, y) % uint64(s.N)) }

// shardState is a sharded analyzer's: the ghosts of other shards'
// connections and the connections analysed but not reported.
type shardState struct {
	ghosts                 map[uint64]*ghost // by the tombs' hash of the key
	closing, refused, idle list[ghost]
	n                      int                // ghosts in the lists
	foreign                map[*conn]struct{} // other shards' connections analysed in full (SOCKS)
}

// ghost is what numbering needs of another shard's connection. Its sides
// are by the key's order (0: the key's first endpoint).
type ghost struct {
	lk       links[ghost]
	h        uint64 // the tombs' hash of its key
	last     int64  // the last packet's time, Unix nanoseconds
	isn      [2]uint32
	isnSet   [2]bool
	fin, rst [2]bool
	payload  [2]bool
	closed   bool
}

func (g *ghost) linksOf() *links[ghost] { return &g.lk }

// otherShard takes a segment of another shard's connection: it is
// counted and numbered, and goes no further. It reports false for the
// segments of this shard's connections (and of SOCKS connections, which
// are analysed in full).
func (a *Analyzer) otherShard(seg *segment, t time.Time) bool {
	s := a.opts.Shard
	if a.shardOf(seg) == s.I || seg.src.Port() == socksPort || seg.dst.Port() == socksPort {
		return false
	}
	a.Stats.OtherShards++
	st := &a.shard
	if st.ghosts == nil {
		st.ghosts = map[uint64]*ghost{}
	}
	tcp := &seg.tcp
	k := key(seg.src, seg.dst)
	h := a.gone.hash(k)
	side := 0
	if seg.src != k[0] {
		side = 1
	}
	g := st.ghosts[h]
	// As segment: a SYN with a new sequence number is a new stream.
	if g != nil && newSYN(tcp, g.isnSet[side], g.isn[side]) {
		if g.lk.list != nil {
			unlist(g)
			st.n--
		}
		g = nil
	}
	if g == nil {
		if a.lateOfGone(k, seg) {
			return true
		}
		g = &ghost{h: h, last: t.UnixNano()}
		st.ghosts[h] = g
		a.newStream(TransportTCP)
	}
	if ns := t.UnixNano(); ns > g.last {
		g.last = ns
	}
	// As tcpFacts.
	if !g.isnSet[side] {
		g.isn[side], g.isnSet[side] = tcp.Seq, true
	}
	if tcp.SYN && g.closed {
		g.fin, g.rst, g.closed = [2]bool{}, [2]bool{}, false
	}
	g.fin[side] = g.fin[side] || tcp.FIN
	g.rst[side] = g.rst[side] || tcp.RST
	if g.rst[0] || g.rst[1] || g.fin[0] && g.fin[1] {
		g.closed = true
	}
	if p := tcp.Payload; len(p) > 0 && !g.payload[side] {
		g.payload[side] = true
		// A ServerHello teaches its port (noteTLSPort).
		if len(p) >= 6 && p[0] == 0x16 && p[1] == 3 && p[5] == 2 {
			a.tlsPorts[seg.src.Port()] = true
		}
	}
	// As place.
	sawPayload := g.payload[0] || g.payload[1]
	l := &st.idle
	switch {
	case g.closed && !sawPayload:
		l = &st.refused
	case g.closed || g.fin[0] || g.fin[1] || g.rst[0] || g.rst[1]:
		l = &st.closing
	}
	if g.lk.list != nil {
		unlist(g)
	} else {
		st.n++ // new
	}
	push(l, g)
	if g.closed && sawPayload && !g.rst[0] && !g.rst[1] {
		a.endGhost(g)
	}
	if st.n > a.opts.MaxConnections {
		// Bounded as the table is: the quietest goes.
		var q *ghost
		for _, l := range []*list[ghost]{&st.refused, &st.idle, &st.closing} {
			if l.head != nil && (q == nil || l.head.last < q.last) {
				q = l.head
			}
		}
		a.endGhost(q)
	}
	return true
}

// shardOf is the shard of a segment's connection.
func (a *Analyzer) shardOf(seg *segment) int { return a.opts.Shard.Of(seg.src, seg.dst) }

// endGhost ends another shard's connection as endAt ends one: out of its
// list and of the table, and a tombstone for its late packets.
func (a *Analyzer) endGhost(g *ghost) {
	st := &a.shard
	if g.lk.list != nil {
		unlist(g)
		st.n--
	}
	delete(st.ghosts, g.h)
	a.gone.turn(a.now)
	a.gone.cur[g.h] = tomb{isn: g.isn, isnSet: g.isnSet, clientFirst: true}
}

// sweepGhosts expires ghosts as sweep expires connections.
func (a *Analyzer) sweepGhosts() {
	st := &a.shard
	now := a.now.UnixNano()
	for _, x := range []struct {
		l      *list[ghost]
		linger time.Duration
	}{{&st.closing, closingLinger}, {&st.refused, refusedLinger}, {&st.idle, a.opts.IdleTimeout}} {
		for g := x.l.head; g != nil && time.Duration(now-g.last) > x.linger; g = x.l.head {
			a.endGhost(g)
		}
	}
}

// markForeign notes a new connection of another shard that is analysed
// in full all the same.
func (a *Analyzer) markForeign(c *conn, seg *segment) {
	if a.shardOf(seg) == a.opts.Shard.I {
		return
	}
	if a.shard.foreign == nil {
		a.shard.foreign = map[*conn]struct{}{}
	}
	a.shard.foreign[c] = struct{}{}
}

// foreignConn reports, once, whether a finished connection belongs to
// another shard: its result is not given.
func (a *Analyzer) foreignConn(c *conn) bool {
	if _, ok := a.shard.foreign[c]; ok {
		delete(a.shard.foreign, c)
		return true
	}
	return false
}
