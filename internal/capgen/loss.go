package capgen

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sort"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// The loss model (issue #14): what the network loses, what only the
// capture misses, where the capture is, and what else is on the path.
//
// It acts twice. Inside the sim (pathSim), bytes behind a segment the
// network never delivers are withheld from the reading side, as TCP
// delivers in order: the TLS endpoints see silence, not a corrupt stream.
// After the sim (Path.apply), the lossless segments are replayed through a
// small TCP model: sender and receiver state on a true clock, losses,
// duplicate ACKs with SACK blocks, retransmissions on an RTO, ICMP errors,
// injected resets, then what a capture at the vantage point records.

// Sides, also the vantage points.
const (
	AtClient = 0
	AtServer = 1
)

// Path is what happens to a connection's packets between its two ends.
type Path struct {
	// Vantage is where the capture is (AtClient or AtServer). It records
	// its own side's packets as they are sent, lost or not, and the
	// peer's as they arrive, half a round trip after they were sent.
	Vantage int
	// IPv6 must match the scenario: the headers a path MTU leaves room for.
	IPv6 bool
	// NetDrop: packets the network loses.
	NetDrop []Drop
	// CaptureDrop: packets delivered but missing from the capture.
	CaptureDrop []Drop
	// TTL of each side's packets as the capture sees them (0 is 64).
	TTL [2]uint8
	// InjectRST: resets forged by a middlebox in the name of the peer.
	InjectRST []InjectedRST
	// Until: nothing is retransmitted after this (default: 3 s after
	// the last packet the endpoints sent of their own).
	Until time.Duration
}

// Drop selects TCP segments.
type Drop struct {
	From int  // the sending side
	SYN  bool // the SYN (or SYN-ACK) instead of data
	// Write and Segment select data: the From side's Write-th write (1 is
	// the first, 0 any) and its Segment-th segment (0 any).
	Write, Segment int
	// MaxPayload > 0 selects only segments carrying more than this many
	// bytes: a path MTU black hole (MTU minus 40 bytes of IPv4 and TCP
	// headers, 60 with IPv6).
	MaxPayload int
	// Retransmissions: the retransmissions of a selected segment are lost
	// too; otherwise only its first transmission is.
	Retransmissions bool
	// ICMP, when set, answers the first packet dropped (NetDrop only).
	ICMP *ICMP
}

// ICMPKind is an ICMP error, by meaning; each has a v4 and a v6 form.
type ICMPKind uint8

const (
	FragNeeded      ICMPKind = iota + 1 // v4 3/4 fragmentation needed, v6 2 packet too big
	PortUnreachable                     // v4 3/3, v6 1/4
	AdminProhibited                     // v4 3/13, v6 1/1
	HostUnreachable                     // v4 3/1, v6 1/3 address unreachable
)

// ICMP is an error sent back to the sender of a dropped packet.
type ICMP struct {
	Kind ICMPKind
	MTU  int // next-hop MTU (FragNeeded)
	// FromPeer: sent from the peer's own address (a host firewall), not
	// from a router.
	FromPeer bool
	// Hop is the one-way time from the dropped packet's sender to where
	// the error comes from (default: half the RTT from the peer, 2 ms
	// from a router).
	Hop   time.Duration
	Every bool  // answer every dropped packet, not only the first
	TTL   uint8 // as received (0: 64 from the peer, 62 from a router)
}

// InjectedRST is a RST forged in the name of the To side's peer, with
// that peer's sequence numbers right, so that the To side accepts it.
type InjectedRST struct {
	To int
	// It reaches To Delay after the last segment of To's AfterWrite-th write.
	AfterWrite int
	Delay      time.Duration
	TTL        uint8 // 0 is 64
}

var (
	routerV4 = net.IPv4(203, 0, 113, 1)
	routerV6 = net.ParseIP("2001:db8:ff::1")
)

// icmpError is a segment that is an ICMP error quoting another.
type icmpError struct {
	kind   ICMPKind
	mtu    int
	router bool
	quoted segment
}

type sackBlock struct{ left, right uint32 }

// sackOptions are the SACK-permitted and SACK options of s, two NOPs
// ahead of each as Linux aligns them.
func sackOptions(s segment) []layers.TCPOption {
	nop := layers.TCPOption{OptionType: layers.TCPOptionKindNop, OptionLength: 1}
	if s.sackOK {
		return []layers.TCPOption{nop, nop, {OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2}}
	}
	if len(s.sack) == 0 {
		return nil
	}
	data := make([]byte, 0, 8*len(s.sack))
	for _, b := range s.sack {
		data = binary.BigEndian.AppendUint32(data, b.left)
		data = binary.BigEndian.AppendUint32(data, b.right)
	}
	return []layers.TCPOption{nop, nop, {OptionType: layers.TCPOptionKindSACK, OptionLength: uint8(2 + len(data)), OptionData: data}}
}

// frameICMP frames an ICMP error. It goes to the side that sent the
// quoted segment and quotes its IP and whole TCP header, no payload: more
// than the 8 bytes RFC 792 asks for, less than Linux (up to 576 bytes for
// IPv4, 1280 for IPv6), as many routers do. A quoted payload would be
// dissected again by Wireshark as part of the stream.
func frameICMP(s segment, ep endpoints, l Link) ([]byte, error) {
	e := s.icmp
	quoted := e.quoted
	quoted.payload = nil
	q, err := frame(quoted, ep, LinkEthernet)
	if err != nil {
		return nil, err
	}
	q = q[14:]
	ipLen := 20
	if q[0]>>4 == 6 {
		ipLen = 40
	}
	q = q[:ipLen+int(q[ipLen+12]>>4)*4] // without the Ethernet padding
	// The IP header keeps the length the packet had.
	if ipLen == 40 {
		binary.BigEndian.PutUint16(q[4:], uint16(len(q)-40+len(e.quoted.payload)))
	} else {
		binary.BigEndian.PutUint16(q[2:], uint16(len(q)+len(e.quoted.payload)))
		binary.BigEndian.PutUint16(q[10:], 0)
		binary.BigEndian.PutUint16(q[10:], ^ipChecksum(q[:20]))
	}
	to := e.quoted.from
	dst, peer := ep.client, ep.server
	smac, dmac := macServer, macClient
	if to == 1 {
		dst, peer, smac, dmac = peer, dst, dmac, smac
	}
	ttl := s.ttl
	if ttl == 0 {
		ttl = 64
	}
	if dst.To4() == nil {
		src := peer
		if e.router {
			src = routerV6
		}
		tc := map[ICMPKind][2]uint8{FragNeeded: {2, 0}, PortUnreachable: {1, 4}, AdminProhibited: {1, 1}, HostUnreachable: {1, 3}}[e.kind]
		ip := &layers.IPv6{Version: 6, HopLimit: ttl, NextHeader: layers.IPProtocolICMPv6, SrcIP: src, DstIP: dst}
		icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(tc[0], tc[1])}
		icmp.SetNetworkLayerForChecksum(ip)
		// The 4 bytes after the checksum: the MTU of a packet too big, else unused.
		body := binary.BigEndian.AppendUint32(nil, uint32(e.mtu*boolInt(e.kind == FragNeeded)))
		body = append(body, q...)
		return serialize(l, 1-to, smac, dmac, layers.EthernetTypeIPv6, ip, icmp, gopacket.Payload(body))
	}
	src := peer
	if e.router {
		src = routerV4
	}
	code := map[ICMPKind]uint8{FragNeeded: 4, PortUnreachable: 3, AdminProhibited: 13, HostUnreachable: 1}[e.kind]
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: ttl, Protocol: layers.IPProtocolICMPv4, SrcIP: src.To4(), DstIP: dst.To4()}
	// RFC 1191: the next-hop MTU is the low 16 bits of the unused word.
	icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, code)}
	if e.kind == FragNeeded {
		icmp.Seq = uint16(e.mtu)
	}
	return serialize(l, 1-to, smac, dmac, layers.EthernetTypeIPv4, ip, icmp, gopacket.Payload(q))
}

func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// matches reports whether d selects transmission attempt (0 the first)
// of segment g.
func (d Drop) matches(g segment, attempt int) bool {
	if g.from != d.From || g.icmp != nil || g.rst || attempt > 0 && !d.Retransmissions {
		return false
	}
	if d.SYN {
		return g.syn
	}
	return len(g.payload) > 0 && !g.syn && (d.Write == 0 || g.write == d.Write) &&
		(d.Segment == 0 || g.index == d.Segment) && (d.MaxPayload == 0 || len(g.payload) > d.MaxPayload)
}

func (p *Path) lost(g segment, attempt int) (bool, int) {
	for i, d := range p.NetDrop {
		if d.matches(g, attempt) {
			return true, i
		}
	}
	return false, -1
}

func (p *Path) hdr() int {
	if p.IPv6 {
		return 60
	}
	return 40
}

// rto0 is the first retransmission timeout of data: Linux's 200 ms
// minimum over the smoothed RTT. A SYN's is 1 s (RFC 6298).
func rto0(rtt time.Duration) time.Duration { return 200*time.Millisecond + rtt }

// ---- inside the sim ----

// pathSim is the sim's view of the path: which bytes reach the reader.
type pathSim struct {
	p  *Path
	sh Shaping
	// hole[r]: the stream to side r has a hole the network never fills;
	// nothing after it is delivered, not even the FIN.
	hole    [2]bool
	aborted [2]bool // an injected RST reset this side's connection
	over    [2]bool // the side's connection is gone: it sends nothing more
	mss     [2]int  // lowered by an ICMP fragmentation needed
	icmped  map[int]bool
}

var errStalled = errors.New("stalled until the capture ends (simulated)")

func newPathSim(sh Shaping) *pathSim {
	if sh.Path == nil {
		return nil
	}
	return &pathSim{p: sh.Path, sh: sh, icmped: map[int]bool{}}
}

func (ps *pathSim) stalled(side int) bool { return ps != nil && ps.hole[side] }
func (ps *pathSim) gone(side int) bool    { return ps != nil && ps.over[side] }

func (ps *pathSim) readErr(side int) error {
	if ps != nil && ps.aborted[side] {
		return errReset
	}
	return nil
}

// resetSeen: a side that read the peer's RST has no connection left.
func (ps *pathSim) resetSeen(side int) {
	if ps != nil {
		ps.over[side] = true
	}
}

// stop ends a side waiting behind a hole: it would wait for its own
// timeout, and the capture ends first.
func (ps *pathSim) stop(side int) error {
	ps.over[side] = true
	return errStalled
}

// sizes cuts a write as segments() does.
func (ps *pathSim) sizes(side, write, n int) []int {
	size := ps.sh.MSS
	if size == 0 {
		size = 1448
	}
	if side == 0 && write == 1 && ps.sh.SplitClientHello {
		size = (n + 1) / 2
	}
	if side == 1 && write == 1 && ps.sh.ServerMSS > 0 {
		size = ps.sh.ServerMSS
	}
	if m := ps.mss[side]; m > 0 && size > m {
		size = m
	}
	var out []int
	for off := 0; off < n; off += size {
		out = append(out, min(size, n-off))
	}
	return out
}

// deliver returns the part of a write the reader gets: up to the first
// segment the network never delivers. A segment lost only once arrives
// later: the clock moves on by the time its recovery takes.
func (ps *pathSim) deliver(s *sim, side int, data []byte) []byte {
	if ps == nil {
		return data
	}
	reader, write := 1-side, s.writes[side]
	defer func() {
		for _, in := range ps.p.InjectRST {
			if in.To == side && in.AfterWrite == write {
				ps.aborted[side], ps.over[side] = true, true
			}
		}
	}()
	if ps.aborted[reader] {
		// No connection there: the reader's stack answers with RSTs.
		s.closed[reader], s.reset[reader] = true, true
		return nil
	}
	if ps.hole[reader] {
		return nil
	}
	var delay time.Duration
	off := 0
	for i, n := range ps.sizes(side, write, len(data)) {
		g := segment{from: side, payload: data[off : off+n], write: write, index: i + 1}
		if lost, d := ps.p.lost(g, 0); lost {
			rule := ps.p.NetDrop[d]
			switch {
			case rule.ICMP != nil && rule.ICMP.Kind == FragNeeded:
				// The sender resends in smaller segments when the error is back.
				if !ps.icmped[d] {
					ps.icmped[d] = true
					delay = max(delay, 2*rule.ICMP.hop(s.rtt))
				}
				ps.mss[side] = rule.ICMP.MTU - ps.p.hdr()
			case rule.Retransmissions:
				ps.hole[reader] = true
				return data[:off]
			default:
				delay = max(delay, rto0(s.rtt))
			}
		}
		off += n
	}
	s.clock += delay
	return data
}

func (e *ICMP) hop(rtt time.Duration) time.Duration {
	switch {
	case e.Hop > 0:
		return e.Hop
	case e.FromPeer:
		return rtt / 2
	}
	return 2 * time.Millisecond
}

// ---- after the sim ----

// tx is one packet on the wire.
type tx struct {
	seg     segment
	sent    time.Duration // at its sender
	arrive  time.Duration // at the receiver (when not lost)
	lost    bool
	attempt int
	to      int  // the side it travels to
	forged  bool // not from an endpoint: an ICMP error or an injected RST
}

type queued struct {
	seg    segment
	tries  int
	sacked bool
}

type item struct {
	at   time.Duration
	prio int // arrivals, then timers, then the endpoints' own sends
	n    int
	fn   func()
}

// replay is the TCP model Path.apply runs.
type replay struct {
	p       *Path
	oneWay  time.Duration
	rtt     time.Duration
	now     time.Duration
	q       []item
	n       int
	horizon time.Duration

	synSeen [2]bool // side has received the peer's SYN
	rcvNxt  [2]uint32
	sndUna  [2]uint32
	sndNxt  [2]uint32
	lastAck [2]uint32
	acked   [2]bool
	ofo     [2][]sackBlock // out-of-order data held by each side, most recent first
	rtxq    [2][]*queued
	rtoGen  [2]int
	backoff [2]int
	armed   [2]bool
	gone    [2]bool
	mss     [2]int
	finSent [2]bool
	// held: new data a sender in loss recovery cannot send yet (after an
	// RTO its window is one segment, taken by the retransmission).
	held   [2][]segment
	icmped map[int]bool
	out    []tx
}

func (r *replay) schedule(at time.Duration, prio int, fn func()) {
	r.n++
	r.q = append(r.q, item{at: at, prio: prio, n: r.n, fn: fn})
}

func (r *replay) next() (item, bool) {
	if len(r.q) == 0 {
		return item{}, false
	}
	best := 0
	for i, it := range r.q {
		b := r.q[best]
		if it.at < b.at || it.at == b.at && (it.prio < b.prio || it.prio == b.prio && it.n < b.n) {
			best = i
		}
	}
	it := r.q[best]
	r.q = append(r.q[:best], r.q[best+1:]...)
	return it, true
}

func seqLen(g segment) uint32 {
	n := uint32(len(g.payload))
	if g.syn {
		n++
	}
	if g.fin {
		n++
	}
	return n
}

// apply replays lossless segments (times as seen at the client) through
// the path and returns what the capture at the vantage point records.
func (p *Path) apply(segs []segment, rtt time.Duration) []segment {
	r := &replay{p: p, oneWay: rtt / 2, rtt: rtt, icmped: map[int]bool{}}
	var last time.Duration
	for i := range segs {
		g := segs[i]
		sent := g.at
		if g.from == 1 {
			sent -= r.oneWay // the server sent it half a round trip before the client saw it
		}
		last = max(last, sent)
		r.schedule(sent, 2, func() { r.send(g) })
		for _, in := range p.InjectRST {
			// After the last segment of the write.
			if in.To == g.from && g.write == in.AfterWrite && len(g.payload) > 0 &&
				(i+1 == len(segs) || segs[i+1].write != g.write || segs[i+1].from != g.from) {
				r.schedule(sent+in.Delay, 0, func() { r.inject(in) })
			}
		}
	}
	r.horizon = p.Until
	if r.horizon == 0 {
		r.horizon = last + 3*time.Second
	}
	for {
		it, ok := r.next()
		if !ok {
			break
		}
		r.now = it.at
		it.fn()
	}
	return r.record()
}

// record is what the capture at the vantage point writes.
func (r *replay) record() []segment {
	v := r.p.Vantage
	var out []segment
	for _, t := range r.out {
		g := t.seg
		switch {
		case !t.forged && g.from == v:
			g.at = t.sent
		case t.to == v && !t.lost:
			g.at = t.arrive
		default:
			continue
		}
		if t.attempt == 0 && !t.forged && r.captureDrops(g) {
			continue
		}
		out = append(out, g)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].at < out[j].at })
	return out
}

func (r *replay) captureDrops(g segment) bool {
	for _, d := range r.p.CaptureDrop {
		if d.matches(g, 0) {
			return true
		}
	}
	return false
}

func (r *replay) ttl(side int) uint8 { return r.p.TTL[side] }

// send is an endpoint's own segment, as the lossless run had it, now
// with what that side has really received.
func (r *replay) send(g segment) {
	s := g.from
	if r.gone[s] || (g.ack || !g.syn) && !r.synSeen[s] {
		return // no connection (any more), or the peer's SYN never came
	}
	if g.ack {
		g.ackNo = min(g.ackNo, r.rcvNxt[s])
	}
	pure := len(g.payload) == 0 && !g.syn && !g.fin && !g.rst
	if pure && r.acked[s] && g.ackNo <= r.lastAck[s] {
		return // it acknowledged data that did not arrive: the dup ACKs stand for it
	}
	// A lone FIN goes out regardless (Linux tcp_cwnd_test).
	if len(g.payload) > 0 && r.backoff[s] > 0 && len(r.rtxq[s]) > 0 {
		r.held[s] = append(r.held[s], g)
		return
	}
	if m := r.mss[s]; m > 0 && len(g.payload) > m {
		for off := 0; off < len(g.payload); off += m {
			c := g
			c.payload = g.payload[off:min(off+m, len(g.payload))]
			c.seq = g.seq + uint32(off)
			c.psh = g.psh && off+m >= len(g.payload)
			r.transmit(c, 0)
		}
		return
	}
	r.transmit(g, 0)
}

// transmit puts a segment on the wire: attempt 0 is new data.
func (r *replay) transmit(g segment, attempt int) {
	s := g.from
	if g.ack {
		r.lastAck[s], r.acked[s] = max(r.lastAck[s], g.ackNo), true
	}
	r.finSent[s] = r.finSent[s] || g.fin
	g.sack = nil
	if !g.rst && !g.syn && len(r.ofo[s]) > 0 {
		g.sack = append([]sackBlock(nil), r.ofo[s][:min(len(r.ofo[s]), 4)]...)
	}
	g.sackOK = g.syn
	g.ttl = r.ttl(s)
	lost, rule := r.p.lost(g, attempt)
	t := tx{seg: g, sent: r.now, arrive: r.now + r.oneWay, lost: lost, attempt: attempt, to: 1 - s}
	r.out = append(r.out, t)
	if n := seqLen(g); n > 0 {
		if attempt == 0 {
			r.rtxq[s] = append(r.rtxq[s], &queued{seg: g})
			r.sndNxt[s] = max(r.sndNxt[s], g.seq+n)
		}
		if !r.armed[s] {
			r.arm(s)
		}
	}
	if !lost {
		r.schedule(t.arrive, 0, func() { r.arrive(t.seg) })
	} else if e := r.p.NetDrop[rule].ICMP; e != nil && (e.Every || !r.icmped[rule]) {
		r.icmped[rule] = true
		r.icmp(g, e)
	}
	if g.rst {
		r.close(s)
	}
}

func (r *replay) close(s int) {
	r.gone[s], r.rtxq[s], r.armed[s] = true, nil, false
	r.rtoGen[s]++
}

// icmp sends e back to the sender of g.
func (r *replay) icmp(g segment, e *ICMP) {
	hop := e.hop(r.rtt)
	ttl := e.TTL
	if ttl == 0 && !e.FromPeer {
		ttl = 62
	}
	if ttl == 0 {
		ttl = r.ttl(1 - g.from)
	}
	at := r.now + 2*hop
	m := segment{from: 1 - g.from, ttl: ttl, icmp: &icmpError{kind: e.Kind, mtu: e.MTU, router: !e.FromPeer, quoted: g}}
	r.out = append(r.out, tx{seg: m, sent: r.now + hop, arrive: at, to: g.from, forged: true})
	if e.Kind == FragNeeded {
		r.schedule(at, 0, func() { r.pathMTU(g.from, e.MTU) })
	}
	// Other errors are soft for a connection being opened (RFC 1122
	// 4.2.3.9 as Windows and BSD read it): the SYN is sent again.
}

// pathMTU: the sender lowers its MSS and at once resends, cut to it,
// whatever is outstanding and larger (Linux tcp_simple_retransmit).
func (r *replay) pathMTU(s, mtu int) {
	if r.gone[s] {
		return
	}
	m := mtu - r.p.hdr()
	if r.mss[s] > 0 && r.mss[s] <= m {
		return
	}
	r.mss[s] = m
	var q []*queued
	for _, e := range r.rtxq[s] {
		if e.sacked || len(e.seg.payload) <= m {
			q = append(q, e)
			continue
		}
		for off := 0; off < len(e.seg.payload); off += m {
			c := e.seg
			c.payload = e.seg.payload[off:min(off+m, len(e.seg.payload))]
			c.seq = e.seg.seq + uint32(off)
			c.psh = e.seg.psh && off+m >= len(e.seg.payload)
			c.fin = e.seg.fin && off+m >= len(e.seg.payload)
			if c.ack {
				c.ackNo = r.rcvNxt[s]
			}
			n := &queued{seg: c, tries: e.tries + 1}
			q = append(q, n)
			r.transmit(c, n.tries)
		}
	}
	r.rtxq[s] = q
	r.arm(s)
}

func (r *replay) arm(s int) {
	r.rtoGen[s]++
	r.armed[s] = len(r.rtxq[s]) > 0
	if !r.armed[s] {
		return
	}
	rto := rto0(r.rtt)
	if r.rtxq[s][0].seg.syn {
		rto = time.Second
	}
	gen := r.rtoGen[s]
	r.schedule(r.now+rto<<r.backoff[s], 1, func() {
		if r.rtoGen[s] == gen {
			r.timeout(s)
		}
	})
}

// timeout retransmits the first segment not acknowledged or SACKed, and
// backs off.
func (r *replay) timeout(s int) {
	r.armed[s] = false
	if r.gone[s] || r.now > r.horizon {
		return
	}
	for _, e := range r.rtxq[s] {
		if e.sacked {
			continue
		}
		g := e.seg
		if g.ack {
			g.ackNo = r.rcvNxt[s]
		}
		e.tries++
		r.backoff[s]++
		r.transmit(g, e.tries)
		r.arm(s)
		return
	}
}

// ack sends a pure ACK from side s now.
func (r *replay) ack(s int) {
	if r.gone[s] {
		return
	}
	r.transmit(segment{from: s, ack: true, seq: r.sndNxt[s], ackNo: r.rcvNxt[s]}, 0)
}

// inject forges the peer's RST to in.To, arriving now.
func (r *replay) inject(in InjectedRST) {
	peer := 1 - in.To
	g := segment{from: peer, rst: true, ack: true, seq: r.sndNxt[peer], ackNo: r.sndNxt[in.To], ttl: in.TTL}
	r.out = append(r.out, tx{seg: g, sent: r.now, arrive: r.now, to: in.To, forged: true})
	r.arrive(g)
}

// arrive is segment g reaching its receiver now.
func (r *replay) arrive(g segment) {
	s := 1 - g.from
	if r.gone[s] {
		if !g.rst {
			// RFC 9293 3.10.7.1: no connection, so a RST answers, its
			// sequence number taken from the segment's acknowledgement.
			rst := segment{from: s, rst: true, seq: g.ackNo}
			if !g.ack {
				rst.ack, rst.seq, rst.ackNo = true, 0, g.seq+seqLen(g)
			}
			r.transmit(rst, 0)
		}
		return
	}
	if g.rst {
		switch {
		case g.seq == r.rcvNxt[s]:
			r.close(s)
		case g.seq > r.rcvNxt[s]:
			r.ack(s) // RFC 5961 3.2: in the window but not exact, a challenge ACK
		}
		return
	}
	if g.syn {
		r.synSeen[s], r.rcvNxt[s] = true, g.seq+1
	}
	if g.ack && g.ackNo > r.sndUna[s] {
		r.sndUna[s] = g.ackNo
		q := r.rtxq[s][:0]
		for _, e := range r.rtxq[s] {
			if e.seg.seq+seqLen(e.seg) > g.ackNo {
				q = append(q, e)
			}
		}
		r.rtxq[s], r.backoff[s] = q, 0
		r.arm(s)
		held := r.held[s]
		r.held[s] = nil
		for _, h := range held {
			if h.ack {
				h.ackNo = r.rcvNxt[s]
			}
			r.send(h)
		}
	}
	for _, b := range g.sack {
		for _, e := range r.rtxq[s] {
			if e.seg.seq >= b.left && e.seg.seq+seqLen(e.seg) <= b.right {
				e.sacked = true
			}
		}
	}
	n := seqLen(g)
	if n == 0 || g.syn {
		return
	}
	switch {
	case g.seq == r.rcvNxt[s]:
		r.rcvNxt[s] += n
		filled := len(r.ofo[s]) > 0
		for merged := true; merged; {
			merged = false
			for i, b := range r.ofo[s] {
				if b.left <= r.rcvNxt[s] {
					r.rcvNxt[s] = max(r.rcvNxt[s], b.right)
					r.ofo[s] = append(r.ofo[s][:i], r.ofo[s][i+1:]...)
					merged = true
					break
				}
			}
		}
		if filled || g.fin && r.finSent[s] {
			// A hole filled, or the FIN answering ours: acknowledged at once.
			r.ack(s)
			return
		}
		// Delayed ACK, unless the endpoint's own next segment carries it.
		r.schedule(r.now+40*time.Millisecond, 1, func() {
			if r.rcvNxt[s] > r.lastAck[s] {
				r.ack(s)
			}
		})
	case g.seq > r.rcvNxt[s]:
		b := sackBlock{g.seq, g.seq + n}
		var rest []sackBlock
		for _, o := range r.ofo[s] {
			if o.right >= b.left && o.left <= b.right {
				b = sackBlock{min(b.left, o.left), max(b.right, o.right)}
			} else {
				rest = append(rest, o)
			}
		}
		r.ofo[s] = append([]sackBlock{b}, rest...)
		r.ack(s) // out of order: a duplicate ACK at once, with SACK
	default:
		r.ack(s) // already had it
	}
}

// ---- scenarios ----

// lazyCert is a certificate made on first use, so that its key and
// signature draw randomness after every scenario built before it.
type lazyCert struct {
	p    *pki
	cert *tls.Certificate
}

// get returns a certificate for shop.example with 220 more names: a
// server flight of five segments at MSS 1448.
func (l *lazyCert) get() tls.Certificate {
	if l.cert == nil {
		names := []string{"shop.example"}
		for i := range 220 {
			names = append(names, fmt.Sprintf("shop-%03d.example", i))
		}
		from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
		c := leaf(l.p.ca, l.p.caKey, mustECKey(), 0x1005, "shop.example", names, from, to, false)
		l.cert = &c
	}
	return *l.cert
}

// lossScenarios are the captures of loss, vantage points and faults on
// the path (issue #14).
func lossScenarios(p *pki) []*Scenario {
	eth := []Link{LinkEthernet}
	big := &lazyCert{p: p}
	bigServer := func(c net.Conn) { server(with(serverConfig(p, big.get()), tls12))(c) }
	shopClient := clientConfig(p, "shop.example")
	client12 := with(shopClient, tls12)
	server12 := server(with(serverConfig(p, p.shop), tls12))
	wait := [2]time.Duration{5 * time.Second, 0}
	// A router on the path forwards nothing over 1000 bytes.
	blackhole := []Drop{{From: AtServer, MaxPayload: 1000 - 40, Retransmissions: true}}
	fragNeeded := []Drop{{From: AtServer, MaxPayload: 1000 - 40, Retransmissions: true, ICMP: &ICMP{Kind: FragNeeded, MTU: 1000}}}
	clientHelloLost := []Drop{{From: AtClient, Write: 1, Retransmissions: true}}
	synRefused := func(e *ICMP) []Drop { return []Drop{{From: AtClient, SYN: true, Retransmissions: true, ICMP: e}} }
	return []*Scenario{
		{Name: "mtu-blackhole-client-side.pcap", Doc: "TLS 1.2, captured at the client: the network drops every server segment over 1000 bytes (a path MTU black hole, no ICMP); only the last, small one arrives and is SACKed; the client resets after 5 s", Links: eth,
			conns: []connSpec{{client: client(client12, true), server: bigServer, timeout: wait,
				shaping: Shaping{Path: &Path{Vantage: AtClient, NetDrop: blackhole}}}},
			Expect: map[int]string{0: "1"}},
		{Name: "mtu-blackhole-server-side.pcap", Doc: "the path MTU black hole captured at the server: its full-size segments are retransmitted and never acknowledged, the client SACKs the small last one, then resets after 5 s", Links: eth,
			conns: []connSpec{{client: client(client12, true), server: bigServer, timeout: wait,
				shaping: Shaping{Path: &Path{Vantage: AtServer, NetDrop: blackhole}}}},
			Expect: map[int]string{0: "1,2,11,12,14"}},
		{Name: "mtu-icmp-frag-needed.pcap", Doc: "TLS 1.2, captured at the server: a router answers its first full-size segment with ICMP fragmentation needed (MTU 1000); the server resends in 960-byte segments and the handshake completes", Links: eth,
			conns: []connSpec{{client: client(client12, false), server: bigServer,
				shaping: Shaping{Path: &Path{Vantage: AtServer, NetDrop: fragNeeded}}}},
			Expect: map[int]string{0: "1,2,11,12,14,16"}},
		{Name: "capture-gap-certificate.pcap", Doc: "TLS 1.2, captured at the client: the middle segment of the server's Certificate is missing from the capture only (the client acknowledges it); the handshake completes", Links: eth,
			conns: []connSpec{{client: client(client12, false), server: bigServer,
				shaping: Shaping{Path: &Path{Vantage: AtClient, CaptureDrop: []Drop{{From: AtServer, Write: 1, Segment: 2}}}}}},
			Expect: map[int]string{0: "1,2,16"}}, // the rest of the flight is lost with the gap
		{Name: "client-hello-tail-server-side.pcap", Doc: "TLS 1.3, captured at the server: the first segment of a two-segment ClientHello is lost in the network with every retransmission; only its tail arrives, after a hole, and the server dup-ACKs it with SACK; the client's FIN after 5 s is SACKed too, never acknowledged", Links: eth,
			conns: []connSpec{{client: client(shopClient, false), server: server(serverConfig(p, p.shop)), timeout: wait,
				shaping: Shaping{Path: &Path{Vantage: AtServer, NetDrop: []Drop{{From: AtClient, Write: 1, Segment: 1, Retransmissions: true}}}}}},
			Expect: map[int]string{}},
		{Name: "client-hello-lost-client-side.pcap", Doc: "TLS 1.2, captured at the client: a filter drops the ClientHello and every retransmission of it (five over 7 s); the server SACKs the client's FIN when it gives up after 5 s", Links: eth,
			conns: []connSpec{{client: client(client12, false), server: server12, timeout: wait,
				shaping: Shaping{Path: &Path{Vantage: AtClient, NetDrop: clientHelloLost}}}},
			Expect: map[int]string{0: "1"}},
		{Name: "reset-injected-ttl.pcap", Doc: "captured at the client: the server's packets come with TTL 52; right after the ClientHello (which a middlebox drops) a RST in the server's name arrives with TTL 64", Links: eth,
			conns: []connSpec{{client: client(client12, false), server: server12,
				shaping: Shaping{Path: &Path{Vantage: AtClient, TTL: [2]uint8{64, 52}, NetDrop: clientHelloLost,
					InjectRST: []InjectedRST{{To: AtClient, AfterWrite: 1, Delay: 5 * time.Millisecond, TTL: 64}}}}}},
			Expect: map[int]string{0: "1"}},
		{Name: "reset-injected-server-goes-on.pcap", Doc: "captured at the client: a RST forged with the server's TTL arrives after the ClientHello; the real server's flight follows in four segments, and the client's stack, with no connection left, answers each segment with a RST", Links: eth,
			conns: []connSpec{{client: client(client12, false), server: bigServer,
				shaping: Shaping{Path: &Path{Vantage: AtClient, TTL: [2]uint8{64, 52},
					InjectRST: []InjectedRST{{To: AtClient, AfterWrite: 1, Delay: 5 * time.Millisecond, TTL: 52}}}}}},
			Expect: map[int]string{0: "1,2,11,12,14"}},
		{Name: "icmp-port-unreachable.pcap", Doc: "the SYN to port 443 is answered by ICMP port unreachable from the server's address (a host firewall rejecting it); the client sends the SYN three times", Links: eth,
			conns: []connSpec{{client: noTLS, server: noTLS,
				shaping: Shaping{Path: &Path{Vantage: AtClient, TTL: [2]uint8{64, 52}, NetDrop: synRefused(&ICMP{Kind: PortUnreachable, FromPeer: true, Every: true})}}}},
			Expect: map[int]string{}},
		{Name: "icmp-admin-prohibited.pcap", Doc: "the SYN to port 443 is answered by ICMP administratively prohibited from a router (203.0.113.1); the client sends the SYN three times", Links: eth,
			conns: []connSpec{{client: noTLS, server: noTLS,
				shaping: Shaping{Path: &Path{Vantage: AtClient, NetDrop: synRefused(&ICMP{Kind: AdminProhibited, Hop: 8 * time.Millisecond, Every: true, TTL: 54})}}}},
			Expect: map[int]string{}},
		{Name: "ipv6-packet-too-big.pcap", Doc: "TLS 1.2 over IPv6, captured at the server: a router answers its first full-size segment with ICMPv6 packet too big (MTU 1280); the server resends in 1220-byte segments and the handshake completes", Links: eth, IPv6: true,
			conns: []connSpec{{client: client(client12, false), server: bigServer,
				shaping: Shaping{Path: &Path{Vantage: AtServer, IPv6: true,
					NetDrop: []Drop{{From: AtServer, MaxPayload: 1280 - 60, Retransmissions: true, ICMP: &ICMP{Kind: FragNeeded, MTU: 1280}}}}}}},
			Expect: map[int]string{0: "1,2,11,12,14,16"}},
	}
}

// laterLossScenarios are loss captures added after the others: last in the
// list, so that the bytes of the others stay the same.
func laterLossScenarios(p *pki) []*Scenario {
	client12 := with(clientConfig(p, "shop.example"), tls12)
	server12 := server(with(serverConfig(p, p.shop), tls12))
	return []*Scenario{
		{Name: "client-hello-lost-long-wait.pcap", Doc: "as client-hello-lost-client-side.pcap, but the client waits 60 s: eight retransmissions of the ClientHello, more than a ladder lists one by one", Links: []Link{LinkEthernet},
			conns: []connSpec{{client: client(client12, false), server: server12, timeout: [2]time.Duration{60 * time.Second, 0},
				shaping: Shaping{Path: &Path{Vantage: AtClient, NetDrop: []Drop{{From: AtClient, Write: 1, Retransmissions: true}}}}}},
			Expect: map[int]string{0: "1"}},
	}
}
