package flows

import (
	"time"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows/capture"
)

// CaptureDrops is what the capturing side dropped while a connection was
// open: packets the capture never saw, which may or may not be its own
// (a kernel's counters do not say whose).
type CaptureDrops struct {
	// Count is the sum of the rises of the drop counters told while it
	// was open.
	Count uint64
	// From and To bound when they were dropped: the counters rose between
	// the report before the first rise (or the capture's start) and the
	// last rise.
	From, To time.Time
	// Frame is the connection's latest frame when the first rise was
	// told: the drops came before it or soon after.
	Frame int64
}

// Dropped tells the analysis what the capturing side says it dropped so
// far (counted from the start, capture.DropSource), at time at (the time
// of the last packet read, live the clock). When the total rose, every
// connection open at that moment is marked as having lived through the
// rise (Result.Drops): its silence may be packets the capture dropped.
func (a *Analyzer) Dropped(at time.Time, d capture.Drops) { a.dropped(at, d, nil) }

// dropped is Dropped with, for several inputs (a Merge), each one's
// counts: a rise marks only the connections of the input that dropped
// (Result.Input), since one capture's drops are not another's.
func (a *Analyzer) dropped(at time.Time, d capture.Drops, inputs []capture.Drops) {
	prev := a.Stats.Drops
	if d == prev {
		return
	}
	from := a.dropsSaid
	if from.IsZero() {
		from = a.Stats.First
	}
	a.Stats.Drops, a.dropsSaid = d, at
	if inputs == nil {
		if d.Dropped() > prev.Dropped() {
			a.markDrops(-1, d.Dropped()-prev.Dropped(), from, at)
		}
	} else {
		for i, di := range inputs {
			var was uint64
			if i < len(a.dropsIn) {
				was = a.dropsIn[i].Dropped()
			}
			if di.Dropped() > was {
				a.markDrops(i, di.Dropped()-was, from, at)
			}
		}
		a.dropsIn = append(a.dropsIn[:0], inputs...)
	}
	if a.OnDrops != nil && d.Dropped() > prev.Dropped() {
		a.OnDrops(d)
	}
}

// markDrops marks the connections of input (-1: all) open now as having
// lived through n drops told at at, since from.
func (a *Analyzer) markDrops(input int, n uint64, from, at time.Time) {
	for _, l := range a.lists {
		for c := l.head; c != nil; c = c.lk.next {
			// One closed by the last report before the rise had its end
			// seen: the drops came after it.
			if closeAt := c.self.closeAt(); (input < 0 || int(c.input) == input) && (closeAt.IsZero() || closeAt.After(from)) {
				c.self.dropped(n, from, at)
			}
		}
	}
}

// dropped: the capture dropped n packets while c was open.
func (c *conn) dropped(n uint64, from, at time.Time) {
	c.rareFacts().drops = addDrops(c.rareFacts().drops, n, from, at, c.frame)
}

func (c *quicConn) dropped(n uint64, from, at time.Time) {
	c.drops = addDrops(c.drops, n, from, at, 0) // its latest frame is not kept
}

// closeAt is when its CONNECTION_CLOSE came (zero: none).
func (c *quicConn) closeAt() time.Time {
	if cc := c.facts.Close; cc != nil {
		return cc.At
	}
	return time.Time{}
}

// addDrops adds a rise of n told at at, the window since from, to what a
// connection lived through.
func addDrops(d *CaptureDrops, n uint64, from, at time.Time, frame int64) *CaptureDrops {
	if d == nil {
		return &CaptureDrops{Count: n, From: from, To: at, Frame: frame}
	}
	d.Count += n
	d.To = at
	return d
}

// closeAt is when a side of c first sent a FIN or RST (zero: not yet).
func (c *conn) closeAt() time.Time {
	var t time.Time
	for s := range 2 {
		for _, x := range []time.Time{c.tcp.Side[s].FIN, c.tcp.Side[s].RST} {
			if !x.IsZero() && (t.IsZero() || x.Before(t)) {
				t = x
			}
		}
	}
	return t
}

// droppedVerdict judges anew a connection that lived through capture
// drops, if its verdict rests on silence that may be those drops: it is
// then incomplete (ReasonCaptureDropped), its evidence the last message
// before the drops and how it ended. The verdicts that rest on what was
// seen stand.
func droppedVerdict(r *Result, ev *evidence) {
	if r.Drops == nil || !restsOnSilence(r) {
		return
	}
	*ev = (*ev)[:0]
	r.Outcome, r.Reason = Incomplete, Reason{Kind: ReasonCaptureDropped}
	ev.lastBefore(r.HS, nil, r.Drops.To)
	ev.add(r.Drops.Frame)
	if r.ClosedBy != nil {
		kind := "FIN"
		if r.EndedBy == EndedRST {
			kind = "RST"
		}
		ev.event(r.Events, *r.ClosedBy, kind, 1)
		ev.firstEvent(r.Events, *r.ClosedBy, "CONNECTION_CLOSE", time.Time{})
	}
}

// restsOnSilence reports a verdict that rests on packets the capture did
// not see: a side that owed a message and sent none, a side that closed
// instead of sending it or gave up waiting for it. Those packets may be
// among the capture's drops. What was seen decides anyway: both Finished
// (complete, resumed), an alert or a QUIC error read (failed), the
// server's answer that is not TLS, an ICMP error, a RST the named side
// went on after.
//
// A RST or FIN that was seen proves the connection ended, not why: a
// dropped alert before it makes the handshake failed, a dropped message
// makes "closed instead of sending" false and "gave up waiting" unproven.
// So reset and closed on silence become incomplete too (the RST or FIN
// stays in the facts and the evidence). The one RST kept is the server's
// answer to a SYN (refused): the server's TCP refused it, and nothing it
// might have sent before is missing (a SYN-ACK it sent would have been
// answered, not reset).
func restsOnSilence(r *Result) bool {
	switch r.Reason.Kind {
	case ReasonFinished, ReasonResumed, ReasonAlert, ReasonQUICClose, ReasonNoCommonVersion,
		ReasonRefusedICMP, ReasonNotTLS, ReasonInjectedReset, ReasonOneSided:
		return false
	case ReasonRefused:
		return r.Reason.Side != decoder.Server
	case ReasonBeforeCapture:
		// Encrypted records with no handshake: the handshake may be among
		// the drops if they could have come before the connection's first
		// packet seen.
		return r.Drops.From.Before(r.Start)
	}
	return true
}

// copy is a snapshot of d for a result: live, the connection's go on
// growing.
func (d *CaptureDrops) copy() *CaptureDrops {
	if d == nil {
		return nil
	}
	x := *d
	return &x
}
