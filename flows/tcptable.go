package flows

import (
	"net/netip"
	"sort"
	"time"
)

// A TCP connection in the table: its lists and their lingers, the caps
// that judge it early, and what it lets go of when it ends.

func (c *conn) life() *lifecycle     { return &c.lifecycle }
func (c *conn) transport() Transport { return TransportTCP }
func (c *conn) judge(a *Analyzer) *Result {
	return a.result(c)
}

// mayStall: a handshake decided, or a connection closing, says no stall
// while open.
func (c *conn) mayStall() bool { return !c.decided && !c.closing() }

// tcpLists gives the TCP lists their expiry rules. A FIN from one side:
// two seconds of capture time for the other's data and FIN; data after a
// FIN no longer changes a verdict. Reset or closed before any data: a
// minute, for a SYN again with the same sequence number, which Wireshark
// counts as the same stream. The others: the idle timeout.
func (a *Analyzer) tcpLists() {
	a.closing.expire = lingerRule(closingLinger)
	a.refused.expire = lingerRule(refusedLinger)
	idle := func(a *Analyzer, c *lifecycle) expiry {
		if a.now.Sub(c.last) > a.opts.IdleTimeout {
			c.self.(*conn).endedIdle = true
			return expired
		}
		return keepRest
	}
	a.active.expire, a.handshaking.expire = idle, idle
}

// lateOfGone reports whether seg is a late packet of a connection already
// judged, which keeps its stream number, as in Wireshark; a SYN with a new
// sequence number forgets the tombstone and starts another connection.
func (a *Analyzer) lateOfGone(k [2]netip.AddrPort, seg *segment) bool {
	g, h, ok := a.gone.find(k)
	if !ok {
		return false
	}
	gs := 0
	if (seg.src == k[0]) != g.clientFirst {
		gs = 1
	}
	if !newSYN(&seg.tcp, g.isnSet[gs], g.isn[gs]) {
		return true
	}
	a.gone.forget(h)
	return false
}

// place moves a connection that just had a packet to the back of its list.
func (a *Analyzer) place(c *conn) {
	l := &a.active
	switch {
	case c.closed && !c.sawPayload:
		l = &a.refused
	case c.closing():
		l = &a.closing
	case c.tls != nil && !c.decided && !c.finished:
		l = &a.handshaking
	}
	moveBack(&l.list, &c.lifecycle)
}

// tcpFull judges early what the caps do not hold: past MaxConnections
// the connection quiet the longest, past MaxHandshakes the quietest
// handshake, each up to now. A connection already reset or closed before
// data goes first, as of its last packet and not counted as judged
// early: its verdict is final, and only a SYN again with the same
// sequence number would now get a new stream number.
func (a *Analyzer) tcpFull() {
	if len(a.table) > a.opts.MaxConnections {
		if c := a.refused.head; c != nil {
			a.end(c.self, c.last)
		} else if c := quietest(&a.active, &a.handshaking, &a.closing); c != nil {
			a.judgeEarly(c.self, a.now)
		}
	}
	if c := a.handshaking.head; a.handshaking.n > a.opts.MaxHandshakes && c != nil {
		a.judgeEarly(c.self, a.now)
	}
}

// release: what waits behind holes the capture will never fill goes to
// the decoder before the verdict, and the reassembler and the decoder let
// the connection go.
func (c *conn) release(a *Analyzer, at time.Time) bool {
	if c.vantage != nil {
		cd := 0
		if c.tls != nil {
			cd = int(c.tls.ClientDir())
		}
		c.tcp.Vantage, c.vantage = c.vantageFacts(a.vantage, cd), nil
	}
	for side := range 2 {
		a.skipHoles(c, side, at, true)
	}
	// Let the reassembler free its side now, not after its flush window:
	// ten seconds of a busy capture's connections.
	a.retire(c)
	if c.stream != nil {
		// The reassembler may keep its half of a quiet connection for a
		// while: let it hold nothing of ours.
		c.stream.c = nil
		c.stream = nil
	}
	if c.tls != nil {
		c.tls.Release()
		if c.tls.Decided() {
			a.noteTLSPort(c)
		}
	}
	return !a.opts.Shard.On() || !a.foreignConn(c)
}

// forget takes the connection out of the table and leaves a tombstone
// for its late packets.
func (c *conn) forget(a *Analyzer) {
	k := key(c.ep[0], c.ep[1])
	delete(a.table, k)
	a.gone.bury(k, c, a.now)
	// A map that keeps taking and losing entries fills with deleted
	// slots that lookups must step over; copy it anew now and then.
	if a.deletes++; a.deletes > 4*len(a.table)+4096 {
		fresh := make(map[[2]netip.AddrPort]*conn, len(a.table))
		for k, c := range a.table {
			fresh[k] = c
		}
		a.table = fresh
		a.deletes = 0
	}
}

// openTCP empties the table at the end of the capture: its connections,
// by stream number.
func (a *Analyzer) openTCP() []*conn {
	open := make([]*conn, 0, len(a.table))
	for k, c := range a.table {
		open = append(open, c)
		delete(a.table, k)
	}
	sort.Slice(open, func(i, j int) bool { return open[i].id < open[j].id })
	return open
}
