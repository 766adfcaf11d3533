package flows

import (
	"net/netip"
	"slices"
	"time"

	"github.com/tlsscope/tlsscope/decoder"
)

// Event is a transport event worth showing in a connection's ladder.
type Event struct {
	Time time.Time
	From decoder.Side
	// TCP: "SYN", "SYN-ACK", "FIN", "RST", "retransmission", "zero window",
	// "gap"; QUIC: "Initial again", "Retry", "Version Negotiation",
	// "CONNECTION_CLOSE", "HANDSHAKE_DONE".
	Kind string
	Note string
	// Frame is the Wireshark frame.number of the packet that told it: for
	// a loss or gap the segment after the hole, for a retransmission the
	// segment sent again.
	Frame int64
	// Run, for a run of one side's retransmissions told as one event, is
	// how many and the last of them (nil for every other event: a SYN
	// flood makes millions of events, and few are runs).
	Run *EventRun
}

// EventRun is a run of retransmissions told as one event: Count of them,
// the last at Last in frame LastFrame.
type EventRun struct {
	Count     int
	Last      time.Time
	LastFrame int64
}

// cloneEvents copies events for a result, with their runs: the
// connection's go on growing after the snapshot (live mode).
func cloneEvents(events []Event) []Event {
	out := slices.Clone(events)
	for i := range out {
		if r := out[i].Run; r != nil {
			x := *r
			out[i].Run = &x
		}
	}
	return out
}

// retransListed is how many retransmissions of a side the events list one
// by one; those after are one run, so that a long backoff keeps room for
// the events after it.
const retransListed = 6

// TCPSide is what TCP said about one side of a connection.
type TCPSide struct {
	Packets         int
	Retransmissions int
	OutOfOrder      int
	ZeroWindows     int
	Bytes           int64 // payload bytes, first copies only
	GapBytes        int64 // payload bytes missing from the capture, which the peer received
	FIN, RST        time.Time
	LastData        time.Time // last new payload
	// Acks counts its packets with ACK set and no SYN: it had the peer's
	// SYN-ACK (or SYN) even when the capture has none of the peer's packets.
	Acks int32
	// MaxSegment is its largest segment, MSS the maximum segment size its
	// SYN announced (0: none seen).
	MaxSegment int32
	MSS        uint16
	// TTL is its packets' IP TTL (hop limit), TTLVaries says they did not
	// all have the same; RSTTTL is that of its first RST.
	TTL, RSTTTL uint8
	TTLVaries   bool
}

// PathFacts are the rarer facts about the path, by side (role in a
// Result): made with the result, and only when there are some.
type PathFacts struct {
	Side [2]PathSide
}

// PathSide is what the path did to one side's packets. Its facts are
// together so that the roles are applied to all of them at once (byRole):
// a new one cannot be left in direction order.
type PathSide struct {
	Loss Loss
	// AfterRST is the side's first data or FIN after its own RST
	// (AfterRSTFIN: a FIN): a side that goes on sending did not send that
	// reset.
	AfterRST    time.Time
	AfterRSTFIN bool
}

var noPath PathFacts

// PathOf is the path facts, empty when there are none.
func (f *TCPFacts) PathOf() *PathFacts {
	if f.Path == nil {
		return &noPath
	}
	return f.Path
}

// Loss is what a side sent that its peer never received, as the capture
// tells it: bytes missing from the capture that the peer never
// acknowledged (a capture at the receiver, or between the loss and it),
// and segments sent again and again that it never acknowledged (a
// capture at the sender).
type Loss struct {
	// LostBytes are missing from the capture and were never acknowledged;
	// LostHoles counts the holes; DeliveredAfter is the largest segment
	// that arrived after the first hole.
	LostBytes      int64
	LostHoles      int
	DeliveredAfter int
	// Unacked counts segments retransmitted and never acknowledged,
	// UnackedSends their transmissions, UnackedMin/Max their sizes;
	// SACKedBeyond says the peer acknowledged later data (RFC 2018), and
	// AckedAfter is the largest segment after them that it acknowledged.
	Unacked, UnackedSends  int
	UnackedMin, UnackedMax int
	SACKedBeyond           bool
	AckedAfter             int
}

// Lost reports whether the side lost data in the network.
func (l *Loss) Lost() bool { return l.LostBytes > 0 || l.Unacked > 0 }

// TCPFacts are what TCP said about a connection. Side is indexed by
// direction in the connection table and by role (client, server) in a
// Result: the roles are applied once, when the result is made.
type TCPFacts struct {
	SYN, SYNACK, Established time.Time
	Side                     [2]TCPSide
	Truncated                int // packets cut by the snaplen
	// ClientHelloRetransmitted counts retransmissions of the ClientHello's
	// bytes; ClientHelloAcked says the server acknowledged all of them.
	ClientHelloRetransmitted int
	ClientHelloSegments      int
	// ServerFlightRetransmitted counts retransmissions of the server's first
	// flight; ServerFlightAcked says the client acknowledged all of it.
	ServerFlightRetransmitted int
	ClientHelloAcked          bool
	ServerFlightAcked         bool
	// Path: losses and resets that say something of the path (PathOf).
	Path *PathFacts
	// TCPOnly: no TLS byte was seen; the row exists because TLS was
	// expected on the server's port.
	TCPOnly bool
	// Vantage: the connection was seen at two capture points (vantage.go).
	Vantage *VantageFacts
}

// conn is one row of the connection table. Per-side arrays are indexed by
// direction: 0 is the side first guessed to be the client. The decoder
// decides the roles (decoder.Conn.ClientDir), and the result applies them.
type conn struct {
	lifecycle
	ep      [2]netip.AddrPort
	lastPkt [2]int64  // each side's last packet, Unix nanoseconds
	isn     [2]uint32 // initial sequence numbers
	synSeq  [2]uint32 // SYN and SYN-ACK sequence numbers, for the reassembler
	next    [2]uint32 // highest sequence end seen per side (absolute)
	ackMax  [2]uint32
	seqs    *seqFacts // sequence ranges, once the connection carries data
	tcp     TCPFacts
	events  []Event
	tls     *decoder.Conn
	rare    *rareFacts   // what few connections have
	stream  *stream      // its reassembler callbacks, while not finished
	vantage *vantageConn // several inputs: its packets, to count once those seen at two points
	frame   int64        // the frame number of its latest packet
	// Flags, together so that they pack.
	isnSet, ackSet [2]bool
	synSeen        [2]bool // SYN (side 0) and SYN-ACK (side 1)
	rolesByTCP     bool    // a SYN or SYN-ACK told who the client is
	decided        bool
	closed         bool
	endedIdle      bool // expired without FIN or RST
	sawPayload     bool
	socks          bool // a SOCKS exchange whose tunnel has not started
	watching       bool // decided, with keys: its records are still framed (decoder/watch.go)
}

type seqRange struct{ start, end uint32 }

// rareFacts are what few connections have, kept apart so that the many
// others do not pay for them: ICMP errors, a side sending after its RST.
type rareFacts struct {
	icmp []ICMPError
	// after is each direction's first data or FIN after its own RST
	// (PathSide.AfterRST and AfterRSTFIN).
	after [2]PathSide
	// drops: the capture dropped packets while it was open.
	drops *CaptureDrops
}

func (c *conn) rareFacts() *rareFacts {
	if c.rare == nil {
		c.rare = new(rareFacts)
	}
	return c.rare
}

// seqFacts are the sequence ranges of a connection that carries data; a
// connection that never does (a SYN flood's) has none.
type seqFacts struct {
	holes   [2][]seqRange // absolute, still open in the reassembler
	retrans [2][]seqRange // relative ranges retransmitted (first few)
	segs    [2][]seqRange // relative ranges of the first new data segments
	lossy   *lossRanges   // made at the first SACK or hole given up on
}

// lossRanges are the sequence ranges of a connection that lost data.
type lossRanges struct {
	sack    [2]uint32 // highest SACK right edge each side sent (absolute)
	sackSet [2]bool
	skipped [2][]seqRange // absolute, given up on by the reassembler
	blocks  [2][]seqRange // the distinct SACK blocks each side sent (absolute, first few)
}

func (s *seqFacts) loss() *lossRanges {
	if s.lossy == nil {
		s.lossy = new(lossRanges)
	}
	return s.lossy
}

// addSACK keeps a SACK block side sent, once.
func (s *seqFacts) addSACK(side int, b seqRange) {
	l := s.loss()
	for i, x := range l.blocks[side] {
		if x.start == b.start {
			if seqLT(x.end, b.end) {
				l.blocks[side][i].end = b.end
			}
			return
		}
	}
	if len(l.blocks[side]) < 8 {
		l.blocks[side] = append(l.blocks[side], b)
	}
}

// sacked reports whether side's peer acknowledged [start,end) of side's
// bytes (absolute) in a SACK block.
func (s *seqFacts) sacked(side int, start, end uint32) bool {
	if s.lossy == nil {
		return false
	}
	for _, b := range s.lossy.blocks[1-side] {
		if seqLE(b.start, start) && seqLE(end, b.end) {
			return true
		}
	}
	return false
}

const maxEvents = 24

func (c *conn) event(e Event) {
	if e.Frame == 0 {
		e.Frame = c.frame
	}
	if len(c.events) < maxEvents {
		c.events = append(c.events, e)
	}
}

// retransmission records one of side's retransmissions: an event of its
// own among the first retransListed, then in the side's run.
func (c *conn) retransmission(side int, t time.Time, start, n uint32) {
	if c.tcp.Side[side].Retransmissions <= retransListed {
		c.event(Event{Time: t, From: decoder.Side(side), Kind: "retransmission", Note: relNote(start, n)})
		return
	}
	for i := len(c.events) - 1; i >= 0; i-- {
		if e := &c.events[i]; e.Kind == "retransmission" && e.From == decoder.Side(side) && e.Run != nil {
			e.Run.Count++
			e.Run.Last, e.Run.LastFrame = t, c.frame
			return
		}
	}
	c.event(Event{Time: t, From: decoder.Side(side), Kind: "retransmission", Note: relNote(start, n), Run: &EventRun{Count: 1, Last: t, LastFrame: c.frame}})
}

// rel is a sequence number relative to the side's initial sequence number,
// the first payload byte being 0 as in Wireshark's relative numbering.
func (c *conn) rel(side int, seq uint32) uint32 {
	if c.synSeen[side] {
		return seq - c.isn[side] - 1
	}
	return seq - c.isn[side]
}

// abs is the absolute sequence number of a relative one (rel's inverse).
func (c *conn) abs(side int, rel uint32) uint32 {
	if c.synSeen[side] {
		return rel + c.isn[side] + 1
	}
	return rel + c.isn[side]
}

// seqLE compares sequence numbers modulo 2^32 (RFC 793 §3.3).
func seqLT(a, b uint32) bool { return int32(a-b) < 0 }
func seqLE(a, b uint32) bool { return int32(a-b) <= 0 }

// holeLost reports whether the hole the reassembler is skipping in side's
// bytes (its first open one) was lost in the network: the peer never
// acknowledged past its start. Bytes the peer acknowledged were lost by
// the capture only. Without a packet of the peer nothing tells, and the
// capture is blamed, as before.
func (c *conn) holeLost(side int) bool {
	other := 1 - side
	if c.seqs == nil || len(c.seqs.holes[side]) == 0 || c.tcp.Side[other].Packets == 0 {
		return false
	}
	return !c.holeAcked(side, c.seqs.holes[side][c.firstHole(side)])
}

// holeAcked reports whether side's peer acknowledged past the start of a
// hole in side's bytes (absolute): it received them, so the capture lost
// them, not the network.
func (c *conn) holeAcked(side int, h seqRange) bool {
	return c.ackSet[1-side] && seqLT(h.start, c.ackMax[1-side])
}

// firstHole is the index of side's open hole lowest in sequence.
func (c *conn) firstHole(side int) int {
	first := 0
	for i, x := range c.seqs.holes[side] {
		if seqLT(x.start, c.seqs.holes[side][first].start) {
			first = i
		}
	}
	return first
}

// skipHole moves side's open hole i to those given up on.
func (s *seqFacts) skipHole(side, i int) {
	if l := s.loss(); len(l.skipped[side]) < 8 {
		l.skipped[side] = append(l.skipped[side], s.holes[side][i])
	}
	s.holes[side] = append(s.holes[side][:i], s.holes[side][i+1:]...)
}

// lossFacts judges, at the end, what each side sent that its peer never
// received (Loss); the facts are by direction, as c.tcp's.
func (c *conn) lossFacts(f *TCPFacts) {
	var p PathFacts
	if c.rare != nil {
		p.Side = c.rare.after
	}
	if c.seqs != nil {
		c.seqLoss(&p)
	}
	if p != noPath {
		f.Path = new(PathFacts) // only then on the heap: a flood makes millions
		*f.Path = p
	}
}

func (c *conn) seqLoss(p *PathFacts) {
	for side := range 2 {
		other := 1 - side
		l := &p.Side[side].Loss
		if c.tcp.Side[other].Packets == 0 {
			continue // a one-sided capture: no ACK can tell
		}
		acked := uint32(0) // relative: what the peer acknowledged
		if c.ackSet[other] {
			acked = c.rel(side, c.ackMax[other])
		}
		var sacked uint32
		lr := c.seqs.lossy
		if lr == nil {
			lr = &lossRanges{}
		}
		if lr.sackSet[other] {
			sacked = c.rel(side, lr.sack[other])
		}
		// Holes in the capture never acknowledged.
		var firstLost uint32
		var skipped []seqRange
		if c.seqs.lossy != nil {
			skipped = c.seqs.lossy.skipped[side]
		}
		for _, h := range append(slices.Clip(skipped), c.seqs.holes[side]...) {
			if c.holeAcked(side, h) {
				continue // the peer had it: capture loss
			}
			start, end := c.rel(side, h.start), c.rel(side, h.end)
			if l.LostHoles == 0 || seqLT(start, firstLost) {
				firstLost = start
			}
			l.LostHoles++
			l.LostBytes += int64(end - start)
		}
		// Retransmitted segments never acknowledged.
		var unackedEnd uint32
		seen := map[seqRange]bool{}
		for _, r := range c.seqs.retrans[side] {
			if c.ackSet[other] && seqLE(r.end, acked) {
				continue
			}
			l.UnackedSends++
			if seen[r] {
				continue
			}
			seen[r] = true
			n := int(r.end - r.start)
			if l.Unacked == 0 || n < l.UnackedMin {
				l.UnackedMin = n
			}
			l.UnackedMax = max(l.UnackedMax, n)
			l.Unacked++
			if seqLT(unackedEnd, r.end) {
				unackedEnd = r.end
			}
		}
		if l.Unacked > 0 {
			l.UnackedSends += l.Unacked // each was sent once before its retransmissions
			l.SACKedBeyond = lr.sackSet[other] && seqLT(unackedEnd, sacked)
		}
		// What got through after the loss.
		for _, s := range c.seqs.segs[side] {
			n := int(s.end - s.start)
			if l.LostHoles > 0 && seqLE(firstLost, s.start) {
				l.DeliveredAfter = max(l.DeliveredAfter, n)
			}
			if l.Unacked > 0 && seqLE(unackedEnd, s.start) && c.seqs.sacked(side, c.abs(side, s.start), c.abs(side, s.end)) {
				l.AckedAfter = max(l.AckedAfter, n)
			}
		}
	}
}

// acksMissing reports a capture that lacks packets no TCP would leave
// unsent: the last data of the connection was never acknowledged, never
// retransmitted for seconds, and its receiver sent nothing after it. A
// capture filtered to TLS records looks like that; a real loss shows
// retransmissions, a real stall the receiver's ACK.
func (c *conn) acksMissing(end time.Time) bool {
	l := 0 // the side that sent the last data
	if c.tcp.Side[1].LastData.After(c.tcp.Side[0].LastData) {
		l = 1
	}
	o := 1 - l
	ls, os := &c.tcp.Side[l], &c.tcp.Side[o]
	u := unanswered{resent: ls.Retransmissions != 0, closed: !ls.FIN.IsZero() || !ls.RST.IsZero(),
		answered: c.lastPkt[o] >= ls.LastData.UnixNano() || c.ackSet[o] && !seqLT(c.ackMax[o], c.next[l]),
		waited:   end.Sub(ls.LastData), within: tcpAckWait}
	if ls.Bytes > 0 && os.Packets > 0 {
		// A receiver with no packet in the capture is the one-sided
		// rule's (Result.OneSided).
		u.at = ls.LastData
	}
	return u.packetsMissing()
}

// tcpAckWait: no TCP leaves its last data unacknowledged and not sent
// again for this long.
const tcpAckWait = 3 * time.Second

// undeliveredOwed moves what st says is owed to the side whose messages
// the owing side never received: sent, retransmitted, and never
// acknowledged (a capture at the sender of a lost flight).
func (c *conn) undeliveredOwed(st *decoder.State, hs *decoder.Handshake, cd int) {
	y := st.Waiting.Other()
	yd := cd
	if y == decoder.Server {
		yd = 1 - cd
	}
	pd := 1 - yd
	if c.seqs == nil || len(c.seqs.retrans[yd]) == 0 || c.tcp.Side[pd].Packets == 0 {
		return
	}
	acked := int64(0)
	if c.ackSet[pd] {
		acked = int64(int32(c.rel(yd, c.ackMax[pd])))
	}
	unacked := false
	for _, r := range c.seqs.retrans[yd] {
		if int64(r.end) > acked {
			unacked = true
		}
	}
	if !unacked {
		return
	}
	for _, m := range hs.Messages {
		if m.From == y && !m.Undelivered && m.End > acked {
			st.Waiting, st.Next, st.Since = y, m.Type, m.Time
			st.Sending, st.SendingLen, st.SendingHave = 0, 0, 0
			if m.Flight {
				st.Next = decoder.MsgEncryptedExtensions
			}
			return
		}
	}
}
