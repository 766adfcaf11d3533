package decoder

import "fmt"

// Budget bounds the bytes all connections together hold for records and
// handshake messages not yet complete. Each connection's share is also
// bounded (a record, maxHandshakeMessage), but ten thousand connections
// each sending the start of a 256 KiB message would hold 2.5 GB. A Budget
// is used by one goroutine.
type Budget struct {
	Limit int64 // bytes; 0 is no limit
	used  int64
	// Exceeded counts the connections that stopped being decoded because
	// the budget was spent.
	Exceeded int64
}

// Used is what the connections hold now.
func (b *Budget) Used() int64 { return b.used }

// SetBudget makes the connection account what it buffers to b.
func (c *Conn) SetBudget(b *Budget) { c.budget = b }

// held is what the connection buffers now.
func (c *Conn) held() int64 {
	var n int
	for d := range c.rl {
		n += cap(c.rl[d].buf) + cap(c.hr[d].buf)
	}
	return int64(n)
}

// account updates the budget after a Feed. Over it, the connection is
// decoded no further: its buffers go, and the handshake is judged on what
// was seen, with a problem that says so.
func (c *Conn) account(d Dir) {
	b := c.budget
	if b == nil {
		return
	}
	now := c.held()
	b.used += now - c.charged
	c.charged = now
	if b.Limit <= 0 || b.used <= b.Limit || c.overBudget {
		return
	}
	c.overBudget = true
	b.Exceeded++
	side := c.role(d)
	what := "more of the handshake"
	if l := c.hr[d].pending(); l > 0 {
		what = fmt.Sprintf("a %s of %d bytes", HandshakeTypeName(c.hr[d].buf[0]), l)
	}
	c.m.problem(side, Pos{Time: c.m.sides[side].lastTLS, Frame: c.frame}, ProblemBudget,
		fmt.Sprintf("the %s was still sending %s when the budget for buffered handshake bytes (%d MiB across all connections) ran out; it was not decoded", side, what, b.Limit>>20))
	// From now on records are framed but not held: what does not fit in
	// the bytes at hand is counted by its header and read past (alerts and
	// the places of records still tell how the handshake ended).
	for i := range c.rl {
		l := &c.rl[i]
		l.headersOnly = true
		c.hr[i].Release()
		c.hr[i].skip = 0
		if l.mode == frameRecords && len(l.buf) >= 5 {
			n := 5 + (int(l.buf[3])<<8 | int(l.buf[4]))
			l.skipBody = int32(n - len(l.buf))
			l.bytes += int64(len(l.buf))
			l.consume(len(l.buf))
			l.buf = nil
		}
	}
	c.budget.used -= c.charged
	c.charged = c.held()
	c.budget.used += c.charged
}
