package flows

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/tlsscope/tlsscope/decoder"
)

// TCP segments: the connection a segment belongs to (port reuse, late
// packets), and the transport facts it tells.

func (a *Analyzer) newConn(seg *segment, t time.Time) *conn {
	tcp := &seg.tcp
	c := &conn{}
	a.begin(c, a.newStream(TransportTCP), t)
	if a.opts.Shard.On() {
		a.markForeign(c, seg)
	}
	if testHookNewConn != nil {
		testHookNewConn(int(c.id), seg, t)
	}
	// Who is the client: the SYN's sender, the SYN-ACK's receiver, else the
	// side talking to a well-known TLS port or the higher port.
	switch {
	case tcp.SYN && !tcp.ACK:
		c.ep = [2]netip.AddrPort{seg.src, seg.dst}
		c.rolesByTCP = true
	case tcp.SYN && tcp.ACK:
		c.ep = [2]netip.AddrPort{seg.dst, seg.src}
		c.rolesByTCP = true
	case a.tlsPorts[seg.dst.Port()] && !a.tlsPorts[seg.src.Port()], seg.src.Port() > seg.dst.Port():
		c.ep = [2]netip.AddrPort{seg.src, seg.dst}
	default:
		c.ep = [2]netip.AddrPort{seg.dst, seg.src}
	}
	return c
}

func (a *Analyzer) segment(seg *segment, ci gopacket.CaptureInfo) {
	tcp := &seg.tcp
	t := ci.Timestamp
	if a.opts.Shard.On() && a.otherShard(seg, t) {
		return
	}
	k := key(seg.src, seg.dst)
	c := a.table[k]
	side := 0
	if c != nil && c.ep[1] == seg.src {
		side = 1
	}
	// Port reuse, as Wireshark decides it: a SYN whose sequence number
	// differs from the one this side started with opens a new stream.
	if c != nil && newSYN(tcp, c.isnSet[side], c.isn[side]) {
		// Out of its list too (finish): expiring later, it would take the
		// new connection out of the table.
		a.finish(c, c.last)
		c = nil
	}
	if c == nil {
		if a.lateOfGone(k, seg) {
			return
		}
		c = a.newConn(seg, t)
		a.table[k] = c
		side = 0
		if c.ep[1] == seg.src {
			side = 1
		}
	}
	if a.vantage != nil && a.vantageCopy(c, side, seg, t) {
		return // seen at another capture point already: counted once
	}
	if t.After(c.last) {
		c.last = t
	}
	c.frame = a.cur.Frame
	a.tcpFacts(c, side, tcp, t, seg.truncated || ci.CaptureLength < ci.Length)
	if a.opts.KeepPackets && !c.dropFrames {
		a.keepFrame(&c.lifecycle)
	}
	if !c.decided || c.watching {
		a.reassemble(c, side, seg, ci)
		if a.ackedHole {
			// The peer acknowledged bytes the capture lacks: capture loss,
			// and no retransmission will fill the hole.
			a.ackedHole = false
			a.skipHoles(c, 1-side, t, false)
		}
		if c.socks && c.tls != nil && c.tls.TunnelStarted() {
			// Wireshark's SOCKS dissector (TCP port 1080) makes a second
			// conversation at the tunnel's first packet, which takes a
			// tcp.stream number: so do we, for the numbers to agree.
			c.socks = false
			a.newStream(TransportTCP)
		}
		if (tcp.FIN || tcp.RST) && c.tls != nil && !c.decided {
			// After its bytes: an alert-sized record just before proves an alert.
			c.tls.Closed(decoder.Dir(side), t)
			if tcp.RST {
				c.tls.Reset()
			}
			if c.tls.Decided() {
				a.decide(c)
			}
		}
	}
	a.place(c)
	if c.closed && c.sawPayload && c.tcp.Side[0].RST.IsZero() && c.tcp.Side[1].RST.IsZero() {
		// A FIN from each side after data: nothing that comes later changes
		// the verdict, and the tombstone keeps the stream number for late
		// packets. A reset lingers briefly instead: what its named sender
		// does after it tells whether it really sent it.
		a.end(c, c.last)
	}
	a.tcpFull()
}

// newSYN reports a SYN that starts another stream on the same addresses
// and ports, as Wireshark decides port reuse: its sequence number differs
// from the one that side started with.
func newSYN(tcp *tcpHeader, isnSet bool, isn uint32) bool {
	return tcp.SYN && !tcp.ACK && isnSet && tcp.Seq != isn
}

func (a *Analyzer) noteTLSPort(c *conn) {
	if c.tls != nil && c.tls.ServerHelloSeen() {
		a.tlsPorts[c.ep[1-c.tls.ClientDir()].Port()] = true
	}
}

// tcpFacts records the TCP-level facts of one segment.
func (a *Analyzer) tcpFacts(c *conn, side int, tcp *tcpHeader, t time.Time, truncated bool) {
	f := &c.tcp
	sf := &f.Side[side]
	sf.Packets++
	c.lastPkt[side] = t.UnixNano()
	switch {
	case tcp.RST:
		if sf.RST.IsZero() { // that of the RST the facts keep, the first
			sf.RSTTTL = tcp.TTL
		}
	case sf.Packets == 1 || sf.TTL == 0 && sf.RSTTTL != 0 && !sf.TTLVaries:
		sf.TTL = tcp.TTL
	case tcp.TTL != sf.TTL:
		sf.TTLVaries = true
	}
	if tcp.ACK && !tcp.SYN {
		sf.Acks++
	}
	if tcp.SYN && tcp.MSS != 0 {
		sf.MSS = tcp.MSS
	}
	if !tcp.RST && !sf.RST.IsZero() && (len(tcp.Payload) > 0 || tcp.FIN) {
		if x := c.rareFacts(); x.after[side].AfterRST.IsZero() {
			x.after[side].AfterRST, x.after[side].AfterRSTFIN = t, tcp.FIN
		}
	}
	if tcp.HasSACK {
		if c.seqs == nil {
			c.seqs = new(seqFacts)
		}
		if l := c.seqs.loss(); !l.sackSet[side] || seqLT(l.sack[side], tcp.SACK) {
			l.sack[side], l.sackSet[side] = tcp.SACK, true
		}
		for _, b := range tcp.SACKBlocks[:tcp.NSACK] {
			c.seqs.addSACK(side, b)
		}
	}
	if truncated {
		if f.Truncated < 3 {
			// The first few, for the finding to cite.
			c.event(Event{Time: t, From: decoder.Side(side), Kind: "truncated"})
		}
		f.Truncated++
	}
	if !c.isnSet[side] {
		c.isn[side], c.isnSet[side] = tcp.Seq, true
		c.next[side] = tcp.Seq
		if tcp.SYN {
			c.next[side] = tcp.Seq + 1
		}
	}
	if tcp.SYN && c.closed {
		// The same SYN again after a reset: the connection starts over
		// (Wireshark keeps its stream number); forget how it ended.
		for i := range f.Side {
			f.Side[i].FIN, f.Side[i].RST = time.Time{}, time.Time{}
		}
		c.closed = false
	}
	switch {
	case tcp.SYN && !tcp.ACK:
		c.synSeq[side] = tcp.Seq
		if f.SYN.IsZero() {
			f.SYN = t
			c.synSeen[side] = true
			c.event(Event{Time: t, From: decoder.Side(side), Kind: "SYN"})
		} else {
			c.event(Event{Time: t, From: decoder.Side(side), Kind: "SYN", Note: "retransmitted"})
		}
	case tcp.SYN && tcp.ACK:
		c.synSeq[side] = tcp.Seq
		if f.SYNACK.IsZero() {
			f.SYNACK = t
			c.synSeen[side] = true
			c.event(Event{Time: t, From: decoder.Side(side), Kind: "SYN-ACK"})
		}
	}
	if tcp.ACK {
		if !c.ackSet[side] || seqLT(c.ackMax[side], tcp.Ack) {
			c.ackMax[side], c.ackSet[side] = tcp.Ack, true
			if c.seqs != nil && len(c.seqs.holes[1-side]) > 0 {
				a.ackedHole = true // skipHoles after this segment is assembled
			}
		}
		if f.Established.IsZero() && !f.SYNACK.IsZero() && side == 0 && !tcp.SYN {
			f.Established = t
		}
	}
	if tcp.Window == 0 && !tcp.SYN && !tcp.RST && !tcp.FIN {
		f.Side[side].ZeroWindows++
		if f.Side[side].ZeroWindows == 1 {
			c.event(Event{Time: t, From: decoder.Side(side), Kind: "zero window"})
		}
	}
	if n := uint32(len(tcp.Payload)); n > 0 {
		sf.MaxSegment = max(sf.MaxSegment, int32(n))
		if c.seqs == nil {
			c.seqs = new(seqFacts)
		}
		start, end := tcp.Seq, tcp.Seq+n
		switch {
		case seqLE(end, c.next[side]):
			// Old data: a hole being filled (out of order) or a retransmission.
			if c.fillHole(side, start, end) {
				f.Side[side].OutOfOrder++
			} else {
				f.Side[side].Retransmissions++
				if len(c.seqs.retrans[side]) < 16 {
					c.seqs.retrans[side] = append(c.seqs.retrans[side], seqRange{c.rel(side, start), c.rel(side, end)})
				}
				c.retransmission(side, t, c.rel(side, start), n)
			}
		default:
			if seqLT(c.next[side], start) && len(c.seqs.holes[side]) < 8 {
				c.seqs.holes[side] = append(c.seqs.holes[side], seqRange{c.next[side], start})
			}
			if seqLT(start, c.next[side]) {
				// Partly old, partly new: count the new part.
				n = end - c.next[side]
			}
			f.Side[side].Bytes += int64(n)
			f.Side[side].LastData = t
			c.next[side] = end
			if !c.decided && len(c.seqs.segs[side]) < 64 { // the ClientHello's and the server flight's
				c.seqs.segs[side] = append(c.seqs.segs[side], seqRange{c.rel(side, start), c.rel(side, end)})
			}
		}
	}
	if tcp.FIN {
		if f.Side[side].FIN.IsZero() {
			f.Side[side].FIN = t
			c.event(Event{Time: t, From: decoder.Side(side), Kind: "FIN"})
		}
		c.next[side] = tcp.Seq + uint32(len(tcp.Payload)) + 1
	}
	if tcp.RST && f.Side[side].RST.IsZero() {
		f.Side[side].RST = t
		c.event(Event{Time: t, From: decoder.Side(side), Kind: "RST"})
	}
	if !f.Side[0].RST.IsZero() || !f.Side[1].RST.IsZero() || (!f.Side[0].FIN.IsZero() && !f.Side[1].FIN.IsZero()) {
		c.closed = true
	}
}

func relNote(start, n uint32) string {
	return "seq " + strconv.Itoa(int(start)) + ", " + strconv.Itoa(int(n)) + " bytes"
}

// fillHole reports whether [start,end) falls in a hole left by an earlier
// jump in sequence numbers, and shrinks that hole.
func (c *conn) fillHole(side int, start, end uint32) bool {
	for i, h := range c.seqs.holes[side] {
		if seqLE(h.start, start) && seqLE(end, h.end) || seqLT(start, h.end) && seqLT(h.start, end) {
			switch {
			case seqLE(start, h.start) && seqLE(h.end, end):
				c.seqs.holes[side] = append(c.seqs.holes[side][:i], c.seqs.holes[side][i+1:]...)
			case seqLE(start, h.start):
				c.seqs.holes[side][i].start = end
			case seqLE(h.end, end):
				c.seqs.holes[side][i].end = start
			default:
				c.seqs.holes[side][i].end = start
				if len(c.seqs.holes[side]) < 8 {
					c.seqs.holes[side] = append(c.seqs.holes[side], seqRange{end, h.end})
				}
			}
			return true
		}
	}
	return false
}

// socksPort is the port Wireshark's SOCKS dissector is registered on.
const socksPort = 1080

// testHookNewConn, when set by a test, sees each new stream number.
var testHookNewConn func(id int, seg *segment, t time.Time)

// closing reports whether either side sent FIN or RST.
func (c *conn) closing() bool {
	f := &c.tcp
	return c.closed || !f.Side[0].FIN.IsZero() || !f.Side[1].FIN.IsZero() || !f.Side[0].RST.IsZero() || !f.Side[1].RST.IsZero()
}
