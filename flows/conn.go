package flows

import (
	"net/netip"
	"time"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows/capture"
)

// Event is a TCP event worth showing in a connection's ladder.
type Event struct {
	Time time.Time
	From decoder.Side
	Kind string // "SYN", "SYN-ACK", "FIN", "RST", "retransmission", "zero window", "gap"
	Note string
}

// TCPSide is what TCP said about one side of a connection.
type TCPSide struct {
	Packets         int
	Retransmissions int
	OutOfOrder      int
	ZeroWindows     int
	Bytes           int64 // payload bytes, first copies only
	GapBytes        int64 // payload bytes missing from the capture
	FIN, RST        time.Time
	LastData        time.Time // last new payload
}

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
	ClientHelloAcked         bool
	ClientHelloSegments      int
	// ServerFlightRetransmitted counts retransmissions of the server's first
	// flight; ServerFlightAcked says the client acknowledged all of it.
	ServerFlightRetransmitted int
	ServerFlightAcked         bool
	// TCPOnly: no TLS byte was seen; the row exists because TLS was
	// expected on the server's port.
	TCPOnly bool
}

// conn is one row of the connection table. Per-side arrays are indexed by
// direction: 0 is the side first guessed to be the client. The decoder
// decides the roles (decoder.Conn.ClientDir), and the result applies them.
type conn struct {
	id          int
	ep          [2]netip.AddrPort
	rolesByTCP  bool // a SYN or SYN-ACK told who the client is
	first, last time.Time
	isn         [2]uint32
	isnSet      [2]bool
	synSeen     [2]bool   // SYN (side 0) and SYN-ACK (side 1)
	synSeq      [2]uint32 // their sequence numbers, for the reassembler
	next        [2]uint32 // highest sequence end seen per side (absolute)
	seqs        *seqFacts // sequence ranges, once the connection carries data
	ackMax      [2]uint32
	ackSet      [2]bool
	tcp         TCPFacts
	events      []Event
	tls         *decoder.Conn
	decided     bool
	closed      bool
	finished    bool // result produced
	endedIdle   bool // expired without FIN or RST
	reported    bool // live: a verdict was given while open
	provisional bool // live: that verdict was a stall, to be updated
	frames      []capture.Packet
	keptBytes   int
	framesCut   bool
	dropFrames  bool
	netFlow     [2][6]byte // the stream id and direction, for the reassembler's flows
	judgedEarly bool       // judged before it ended: the table was full
	// prev, next and list place it in one of the analyzer's lists.
	prevConn, nextConn *conn
	list               *connList
	sawPayload         bool
	stream             *stream // its reassembler callbacks, while not finished
}

type seqRange struct{ start, end uint32 }

// seqFacts are the sequence ranges of a connection that carries data; a
// connection that never does (a SYN flood's) has none.
type seqFacts struct {
	holes     [2][]seqRange
	retrans   [2][]seqRange // relative ranges retransmitted (first few)
	segStarts [2][]uint32   // relative starts of the first data segments
}

const maxEvents = 24

func (c *conn) event(e Event) {
	if len(c.events) < maxEvents {
		c.events = append(c.events, e)
	}
}

// rel is a sequence number relative to the side's initial sequence number,
// the first payload byte being 0 as in Wireshark's relative numbering.
func (c *conn) rel(side int, seq uint32) uint32 {
	if c.synSeen[side] {
		return seq - c.isn[side] - 1
	}
	return seq - c.isn[side]
}

// seqLE compares sequence numbers modulo 2^32 (RFC 793 §3.3).
func seqLT(a, b uint32) bool { return int32(a-b) < 0 }
func seqLE(a, b uint32) bool { return int32(a-b) <= 0 }

// connList is a list of connections, least recently active first.
type connList struct {
	head, tail *conn
	n          int
}

func (l *connList) push(c *conn) {
	c.prevConn, c.nextConn, c.list = l.tail, nil, l
	if l.tail != nil {
		l.tail.nextConn = c
	} else {
		l.head = c
	}
	l.tail = c
	l.n++
}

func (l *connList) remove(c *conn) {
	if c.prevConn != nil {
		c.prevConn.nextConn = c.nextConn
	} else {
		l.head = c.nextConn
	}
	if c.nextConn != nil {
		c.nextConn.prevConn = c.prevConn
	} else {
		l.tail = c.prevConn
	}
	c.prevConn, c.nextConn, c.list = nil, nil, nil
	l.n--
}
