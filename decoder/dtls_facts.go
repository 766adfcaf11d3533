package decoder

import (
	"fmt"
	"slices"
	"time"
)

// What a DTLSConn tells its caller beyond each datagram: the handshake as
// TLS's and QUIC's (State, Snapshot), and what only DTLS shows: how often
// each message was sent (flights retransmitted on timers, RFC 6347
// §4.2.4) and what the datagrams held.

// State returns the handshake's state. A side that owes a message and
// sent part of it (a fragmented flight whose other fragments never came:
// a path that drops large datagrams) shows it in Sending.
func (c *DTLSConn) State() State {
	st := c.m.State()
	if st.Phase == PhaseNone && c.clientHelloBegun() {
		st.Phase, st.Waiting, st.Next = PhaseHandshaking, Client, MsgClientHello
	}
	if st.Phase == PhaseHandshaking {
		st.Sending, st.SendingLen, st.SendingHave = c.inProgress(c.dirOf(st.Waiting))
	}
	return st
}

// clientHelloBegun reports a ClientHello of which some fragments came.
func (c *DTLSConn) clientHelloBegun() bool {
	typ, _, _ := c.inProgress(c.dirOf(Client))
	return typ == MsgClientHello
}

// inProgress is the message d was in the middle of sending: the next one
// in message_seq order of which some bytes came, its length and how many
// came (nothing once released).
func (c *DTLSConn) inProgress(d Dir) (MsgType, int, int) {
	r := &c.hs[d]
	var p *dtlsPending
	for _, q := range r.pending {
		if !q.complete() && (p == nil || q.seq < p.seq) {
			p = q
		}
	}
	if p == nil {
		return 0, 0, 0
	}
	have := 0
	for _, x := range p.pieces {
		have += x.end - x.off
	}
	return MsgType(p.typ), p.length, have
}

// Decided reports whether the outcome can no longer change.
func (c *DTLSConn) Decided() bool { return decided(c.m.State(), &c.m) }

// Snapshot returns a copy of the handshake so far that the decoder will
// not write again, sides by role.
func (c *DTLSConn) Snapshot() *Handshake {
	hs := c.m.HS.clone()
	hs.Decryption = c.decryption()
	return hs
}

// Handshake is the handshake so far (read-only, and only until the next
// Datagram).
func (c *DTLSConn) Handshake() *Handshake { return &c.m.HS }

// Closed says that side's transport ended at t (nothing in UDP says so;
// a caller that learns it, from an ICMP error say, may tell).
func (c *DTLSConn) Closed(side Side, t time.Time) { c.m.Closed(side, t) }

// Transmissions lists the handshake messages read, client's then
// server's, each in the order first seen, with how often each was sent.
func (c *DTLSConn) Transmissions() []DTLSTransmission {
	out := slices.Clone(c.hs[c.dirOf(Client)].sent)
	return append(out, c.hs[c.dirOf(Server)].sent...)
}

// Sent says how often side sent messages of type typ (message_seq values
// summed: a ClientHello before and after a HelloVerifyRequest are two),
// and the frames of the first and last.
func (c *DTLSConn) Sent(side Side, typ MsgType) (times int, first, last int64) {
	for _, e := range c.hs[c.dirOf(side)].sent {
		if e.Type != typ {
			continue
		}
		if times == 0 || e.FirstFrame < first {
			first = e.FirstFrame
		}
		last = max(last, e.LastFrame)
		times += e.Times
	}
	return times, first, last
}

// Stats counts what the datagrams held, by Side.
func (c *DTLSConn) Stats() DTLSStats {
	s := &c.stats
	by := func(a [2]int) [2]int { return [2]int{a[c.dirOf(Client)], a[c.dirOf(Server)]} }
	return DTLSStats{Datagrams: by(s.datagrams), Records: by(s.records), Duplicates: by(s.duplicates),
		Unified: by(s.unified), CIDRecords: by(s.cid), ACKs: by(s.acks), Opened13: by(s.opened13), ACKed: by(s.acked), Retransmitted: by(s.retransmitted),
		ChangeCipherSpecs: by(s.ccs), Trailing: by(s.trailing), CIDGuessed: s.cidGuessed}
}

// Held is the bytes of incomplete handshake messages held.
func (c *DTLSConn) Held() int { return c.held }

// Release drops what is held for incomplete messages: the caller feeds no
// more (the verdict is in).
func (c *DTLSConn) Release() {
	for i := range c.hs {
		c.hs[i].release(&c.held)
	}
	if c.budget != nil {
		c.budget.used -= c.charged
		c.charged = 0
	}
}

// SetBudget makes the association account what it holds to b, shared
// with the other connections.
func (c *DTLSConn) SetBudget(b *Budget) { c.budget = b }

// account updates the budget after a datagram. Over it, the association
// lets go of its incomplete messages and takes only fragments holding a
// whole message from then on, with a problem that says so.
func (c *DTLSConn) account(d Dir) {
	b := c.budget
	if b == nil {
		return
	}
	b.used += int64(c.held) - c.charged
	c.charged = int64(c.held)
	if b.Limit <= 0 || b.used <= b.Limit || c.overBudget {
		return
	}
	c.overBudget = true
	b.Exceeded++
	side := c.role(d)
	c.m.problem(side, Pos{Time: c.m.sides[side].lastTLS, Frame: c.frame}, ProblemBudget,
		fmt.Sprintf("the budget for buffered handshake bytes (%d MiB across all connections) ran out: fragmented DTLS handshake messages were no longer reassembled", b.Limit>>20))
	for i := range c.hs {
		c.hs[i].release(&c.held)
		c.hs[i].wholeOnly = true
	}
	b.used -= c.charged
	c.charged = 0
}
