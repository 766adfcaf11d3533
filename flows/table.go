package flows

import (
	"net/netip"
	"sort"
	"time"
)

// The connection table: expiry, the early judgement when full, the end
// of a connection and its result.

func key(x, y netip.AddrPort) [2]netip.AddrPort {
	if x.Addr().Less(y.Addr()) || (x.Addr() == y.Addr() && x.Port() < y.Port()) {
		return [2]netip.AddrPort{x, y}
	}
	return [2]netip.AddrPort{y, x}
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

// sweep expires idle connections and lets the reassembler give up on
// segments that will not come, all on the capture clock. It looks only at
// the fronts of the lists, where the connections quiet the longest are.
func (a *Analyzer) sweep() {
	a.lastSweep = a.now
	a.asm.FlushCloseOlderThan(a.now.Add(-10 * time.Second))
	// A FIN from one side: two seconds of capture time for the other's
	// data and FIN; data after a FIN no longer changes a verdict.
	for c := a.closing.head; c != nil && a.now.Sub(c.last) > closingLinger; c = a.closing.head {
		a.end(key(c.ep[0], c.ep[1]), c)
	}
	for c := a.refused.head; c != nil && a.now.Sub(c.last) > refusedLinger; c = a.refused.head {
		a.end(key(c.ep[0], c.ep[1]), c)
	}
	for _, l := range []*connList{&a.active, &a.handshaking} {
		for c := l.head; c != nil && a.now.Sub(c.last) > a.opts.IdleTimeout; c = l.head {
			c.endedIdle = true
			a.end(key(c.ep[0], c.ep[1]), c)
		}
	}
	if a.opts.Shard.On() {
		a.sweepGhosts()
	}
	a.sweepQUIC()
	a.gone.turn(a.now)
}

const (
	closingLinger = 2 * time.Second
	refusedLinger = time.Minute
)

// end judges a connection now, as of its last packet, and leaves a
// tombstone for its late packets.
func (a *Analyzer) end(k [2]netip.AddrPort, c *conn) { a.endAt(k, c, c.last) }

func (a *Analyzer) endAt(k [2]netip.AddrPort, c *conn, at time.Time) {
	a.finish(c, at)
	if c.list != nil {
		c.list.remove(c)
	}
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

// judgeEarly makes room in a full table: the connection quiet the longest
// is judged on what was seen.
// A connection already reset or closed goes first: its verdict is final,
// and only a SYN again with the same sequence number would now get a new
// stream number.
func (a *Analyzer) judgeEarly() {
	if c := a.refused.head; c != nil {
		a.end(key(c.ep[0], c.ep[1]), c)
		return
	}
	var c *conn
	for _, l := range []*connList{&a.active, &a.handshaking, &a.closing} {
		if l.head != nil && (c == nil || l.head.last.Before(c.last)) {
			c = l.head
		}
	}
	a.judgeEarlyAt(c)
}

// judgeEarlyAt judges c, still open, up to now, as at the end of a capture.
func (a *Analyzer) judgeEarlyAt(c *conn) {
	if c == nil {
		return
	}
	c.judgedEarly = true
	a.Stats.JudgedEarly++
	a.endAt(key(c.ep[0], c.ep[1]), c, a.now)
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
	if c.list != nil {
		c.list.remove(c)
	}
	l.push(c)
}

// Finish judges every connection still open at the end of the capture
// and returns the results not yet given to OnResult, ordered by stream.
func (a *Analyzer) Finish() []*Result {
	a.asm.FlushAll()
	open := make([]*conn, 0, len(a.table))
	for k, c := range a.table {
		open = append(open, c)
		delete(a.table, k)
	}
	sort.Slice(open, func(i, j int) bool { return open[i].id < open[j].id })
	for _, c := range open {
		if c.list != nil {
			c.list.remove(c)
		}
		at := a.now // still open: judged up to the capture's end
		if c.closing() {
			at = c.last
		}
		a.finish(c, at)
	}
	var out []*Result
	for _, c := range a.done {
		if r := a.result(c); r != nil {
			out = append(out, r)
		}
	}
	a.done = nil
	// After the TCP results, which link their QUIC attempts (fallbackOf).
	for c := a.quic.list.head; c != nil; c = a.quic.list.head {
		a.endQUIC(c, a.now)
	}
	for _, c := range a.quic.done {
		if r := a.quicResult(c); r != nil && a.ownQUIC(r) {
			out = append(out, r)
		}
		a.dropQUICFrames(c)
	}
	a.quic.done = nil
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
func (a *Analyzer) finish(c *conn, at time.Time) {
	if c.finished {
		return
	}
	c.finished = true
	c.last = at
	if c.vantage != nil {
		cd := 0
		if c.tls != nil {
			cd = int(c.tls.ClientDir())
		}
		c.tcp.Vantage, c.vantage = c.vantageFacts(a.vantage, cd), nil
	}
	// What waits behind holes the capture will never fill goes to the
	// decoder before the verdict.
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
	if a.opts.Shard.On() && a.foreignConn(c) {
		a.dropFrames(c) // another shard's: analysed, not reported
		return
	}
	if a.OnResult == nil {
		a.done = append(a.done, c)
		return
	}
	if c.reported && !c.provisional {
		a.dropFrames(c)
		return
	}
	if r := a.result(c); r != nil {
		r.Update = c.provisional
		a.OnResult(r)
	}
	a.dropFrames(c)
}
