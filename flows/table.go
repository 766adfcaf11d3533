package flows

import (
	"net/netip"
	"sort"
	"time"

	"github.com/tlsscope/tlsscope/flows/capture"
)

// The connection table, for connections of every transport: their
// places in the expiry lists, expiry, the early judgement when the table
// is full, the end of a connection and its result. Each transport keeps
// its own lookup (TCP by the 4-tuple, QUIC by addresses and connection
// IDs) and plugs its connections in with tableConn.

func key(x, y netip.AddrPort) [2]netip.AddrPort {
	if x.Addr().Less(y.Addr()) || (x.Addr() == y.Addr() && x.Port() < y.Port()) {
		return [2]netip.AddrPort{x, y}
	}
	return [2]netip.AddrPort{y, x}
}

// lifecycle is what the table keeps of a connection whatever carries
// it: its place in one of the expiry lists, its stream number and times,
// how far its verdict went, and its kept frames. A transport's connection
// embeds it and plugs in with tableConn.
type lifecycle struct {
	lk   links[lifecycle]
	self tableConn // the connection it is of
	// id is the tcp.stream, or the udp.stream of its first datagram;
	// input the Merge source of its first packet.
	id          int32
	keptBytes   int32 // of frames (at most maxKeptPerConn)
	input       uint16
	first, last time.Time
	// frames are its frames, with Options.KeepPackets, until its verdict
	// needs them no more.
	frames []capture.Packet
	// live: when the owing side's silence reaches the stall timeout
	// (UnixNano), as judged when its last packet was stallSeen; a later
	// packet makes it stale.
	stallAt, stallSeen int64
	finished           bool // ended: its result given or waiting in done
	reported           bool // live: a verdict was given while open
	provisional        bool // live: that verdict was a stall, to be updated
	judgedEarly        bool // judged before it ended: the table was full
	framesCut          bool // some frames were over the caps
	dropFrames         bool // keeps no more frames
}

func (l *lifecycle) linksOf() *links[lifecycle] { return &l.lk }

// tableConn is what differs between the connections of the transports:
// how a connection is judged, what it holds that must go when it ends,
// and the lookup it must leave.
//
// A transport plugs in with a connection type that embeds lifecycle (its
// self set to it) and implements tableConn, a lookup of its own (TCP's
// table by the 4-tuple; QUIC's by addresses and connection IDs; a
// datagram transport's by its 5-tuple), and one or more connLists with
// their expiry rules, named in NewAnalyzer among a.lists, a.stallLists
// and, over UDP, a.datagramLists. On each packet it moves the connection
// to the back of its list (moveBack) and, when its own caps are passed,
// ends the quietest with judgeEarly; the table does the rest: expiry
// (sweep), the end and the result (end, finish, Finish), stalls said
// while open (Tick) and the verdicts given live (sayOpen).
type tableConn interface {
	life() *lifecycle
	transport() Transport
	// judge returns its result as of life().last; nil when there is
	// none to give (not TLS, another shard's).
	judge(a *Analyzer) *Result
	// release lets go of what the transport holds for it (reassembler,
	// decoder) once it ended at at, before it is judged; false when it is
	// analysed but not reported (another shard's).
	release(a *Analyzer, at time.Time) bool
	// forget takes it out of its transport's lookup, leaving a tombstone
	// for its late packets where the transport keeps them.
	forget(a *Analyzer)
	// closeAt is when it was first closed (FIN, RST, CONNECTION_CLOSE;
	// zero: not yet), and dropped tells it the capture dropped n packets
	// between from and at while it was open (Analyzer.Dropped).
	closeAt() time.Time
	dropped(n uint64, from, at time.Time)
	// mayStall reports, live, whether its handshake may yet be said to
	// stall while it is open (not decided, not closing).
	mayStall() bool
}

// connList is one of the table's lists, with the rule that expires the
// connections at its front.
type connList struct {
	list[lifecycle]
	expire func(a *Analyzer, c *lifecycle) expiry
}

// expiry is what becomes of a connection at the front of its list.
type expiry uint8

const (
	// keepRest: not expired, and neither are those behind it.
	keepRest expiry = iota
	// expired: ended as of its last packet.
	expired
	// keepNext: not expired; one behind it may be.
	keepNext
)

// begin makes c's lifecycle: its stream number, first packet's time and
// input, and c as its self.
func (a *Analyzer) begin(c tableConn, id int32, first time.Time) {
	l := c.life()
	l.self, l.id, l.first = c, id, first
	if a.cur != nil {
		l.input = a.cur.Input
	}
}

// roomForHandshake makes room in a datagram transport's list for one more
// connection in its handshake: at most two fifths of --max-handshakes
// are held at once; past that, the quietest is judged on what was seen,
// as of its last packet.
func (a *Analyzer) roomForHandshake(l *connList) {
	for l.head != nil && l.n >= max(1, a.opts.MaxHandshakes*2/5) {
		old := l.head
		a.judgeEarly(old.self, old.last)
	}
}

// datagramExpiry is the rule of a datagram transport's list (QUIC, DTLS):
// a connection idle for the idle timeout ends, and one closed (zero: not
// closed) ends a moment after it was.
func datagramExpiry(a *Analyzer, c *lifecycle, closed time.Time) expiry {
	idle := a.now.Sub(c.last)
	switch {
	case idle > a.opts.IdleTimeout:
		return expired
	case !closed.IsZero() && a.now.Sub(closed) > closingLinger:
		return expired
	case idle < closingLinger:
		return keepRest // the rest of the list is more recent
	}
	return keepNext
}

// lingerRule expires the connections quiet for longer than linger.
func lingerRule(linger time.Duration) func(*Analyzer, *lifecycle) expiry {
	return func(a *Analyzer, c *lifecycle) expiry {
		if a.now.Sub(c.last) > linger {
			return expired
		}
		return keepRest
	}
}

// sweep expires idle connections and lets the reassembler give up on
// segments that will not come, all on the capture clock. It looks only at
// the fronts of the lists, where the connections quiet the longest are.
func (a *Analyzer) sweep() {
	a.lastSweep = a.now
	a.asm.FlushCloseOlderThan(a.now.Add(-10 * time.Second))
	for _, l := range a.lists {
	list:
		for c := l.head; c != nil; {
			next := c.lk.next
			switch l.expire(a, c) {
			case keepRest:
				break list
			case expired:
				a.end(c.self, c.last)
			}
			c = next
		}
	}
	if a.opts.Shard.On() {
		a.sweepGhosts()
	}
	a.gone.turn(a.now)
}

const (
	closingLinger = 2 * time.Second
	refusedLinger = time.Minute
)

// end ends a connection as of at: it is judged, and taken out of the
// table and its transport's lookup.
func (a *Analyzer) end(c tableConn, at time.Time) {
	if c.life().finished {
		return
	}
	a.finish(c, at)
	c.forget(a)
}

// judgeEarly ends c, still open, to make room in a full table: it is
// judged on what was seen, up to at.
func (a *Analyzer) judgeEarly(c tableConn, at time.Time) {
	c.life().judgedEarly = true
	a.Stats.JudgedEarly++
	a.end(c, at)
}

// quietest is the connection quiet the longest at the fronts of lists.
func quietest(lists ...*connList) *lifecycle {
	var c *lifecycle
	for _, l := range lists {
		if l.head != nil && (c == nil || l.head.last.Before(c.last)) {
			c = l.head
		}
	}
	return c
}

// Finish judges every connection still open at the end of the capture
// and returns the results not yet given to OnResult, ordered by stream.
func (a *Analyzer) Finish() []*Result {
	a.asm.FlushAll()
	var out []*Result
	judge := func(which func(Transport) bool) {
		for _, c := range a.done {
			if !which(c.transport()) {
				continue
			}
			if r := c.judge(a); r != nil {
				out = append(out, r)
			}
			a.dropFrames(c.life())
		}
	}
	// TCP's by stream number, judged before the QUIC connections end:
	// they link the QUIC attempts they followed (fallbackOf).
	for _, c := range a.openTCP() {
		at := a.now // still open: judged up to the capture's end
		if c.closing() {
			at = c.last
		}
		a.finish(c, at)
	}
	judge(func(tr Transport) bool { return tr == TransportTCP })
	// The datagram transports', each by activity.
	for _, l := range a.datagramLists {
		for c := l.head; c != nil; c = l.head {
			a.end(c.self, a.now)
		}
	}
	judge(func(tr Transport) bool { return tr != TransportTCP })
	a.done = nil
	// TCP connections first, then QUIC ones, each by stream number.
	sort.Slice(out, func(i, j int) bool { return out[i].ID().Compare(out[j].ID()) < 0 })
	return out
}

// finish ends a connection. Without OnResult, connections are judged at
// the end, when every port that carried TLS is known. With OnResult they
// are judged now and handed over as they end, with their stream numbers:
// nothing waits for an earlier stream, so memory follows the connections
// open at once, not the capture. Live, a verdict given while the
// connection was open is final unless it was a stall, which the final
// result updates.
func (a *Analyzer) finish(c tableConn, at time.Time) {
	l := c.life()
	if l.finished {
		return
	}
	l.finished = true
	l.last = at
	unlist(l)
	if !c.release(a, at) {
		a.dropFrames(l) // another shard's: analysed, not reported
		return
	}
	if a.OnResult == nil {
		a.done = append(a.done, c)
		return
	}
	if !l.reported || l.provisional {
		if r := c.judge(a); r != nil {
			r.Update = l.provisional
			a.OnResult(r)
		}
	}
	a.dropFrames(l)
}
