package flows

import (
	"net/netip"
	"time"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows/capture"
)

// Stall says who a handshake waited for, for what, and how long.
type Stall struct {
	Waiting decoder.Side
	Next    string
	Since   time.Time
	Silent  time.Duration
}

// Result is the judged connection.
type Result struct {
	Stream         int // Wireshark's tcp.stream
	Client, Server netip.AddrPort
	Start, End     time.Time
	Outcome        Outcome
	// EndedBy: "fin", "rst", "capture_end" or "idle"; ClosedBy the side
	// that sent the first FIN or RST.
	EndedBy    string
	ClosedBy   *decoder.Side
	Stall      *Stall
	Alert      *decoder.Alert // the alert of a failed handshake
	Resumption string
	CompleteAt time.Time
	// TCPOnly: no TLS byte was seen; the row exists because TLS was
	// expected on the server's port.
	TCPOnly   bool
	Midstream bool
	HS        *decoder.Handshake
	TCP       TCPFacts
	Events    []Event
	// Open: live, the connection was still open when this was said.
	// Update: live, this replaces an earlier result for the same stream.
	Open, Update bool
	// Packets are the connection's frames (with Options.KeepPackets);
	// PacketsCut says some were left out by the caps.
	Packets    []capture.Packet
	PacketsCut bool
}

// result builds the Result of a finished connection; nil when the
// connection is not one to report (not TLS, no TLS expected).
func (a *Analyzer) result(c *conn) *Result {
	st := c.tls.State()
	flip := c.tls.Flipped()
	r := &Result{Stream: c.id, Client: c.ep[0], Server: c.ep[1], Start: c.first, End: c.last, HS: &c.tls.HS,
		Midstream: !c.synSeen[0] && !c.synSeen[1]}
	f := c.tcp
	events := append([]Event(nil), c.events...)
	if flip {
		r.Client, r.Server = r.Server, r.Client
		f = flipFacts(f)
		for i := range events {
			events[i].From = events[i].From.Other()
		}
	}
	helloFacts(c, &f, flip)
	r.TCP, r.Events = f, events
	r.Packets, r.PacketsCut = c.frames, c.framesCut
	switch st.Phase {
	case decoder.PhaseNotTLS:
		return nil
	case decoder.PhaseNone:
		if !a.tlsPorts[r.Server.Port()] || f.Bytes[0] > 0 || f.Bytes[1] > 0 {
			return nil
		}
		if f.SYN.IsZero() && f.SYNACK.IsZero() {
			return nil // no handshake and no data: nothing to say
		}
		r.TCPOnly = true
		// TCP itself did not get as far as a ClientHello.
		switch {
		case f.SYNACK.IsZero():
			st = decoder.State{Phase: decoder.PhaseHandshaking, Waiting: decoder.Server, Next: "SYN-ACK", Since: f.SYN}
		default:
			st = decoder.State{Phase: decoder.PhaseHandshaking, Waiting: decoder.Client, Next: "ClientHello", Since: f.SYNACK}
		}
	}
	r.CompleteAt = st.CompleteAt
	r.Resumption = st.Resumption
	// How the connection ended.
	r.EndedBy = "capture_end"
	if c.endedIdle {
		r.EndedBy = "idle"
	}
	endAt := r.End
	var firstClose time.Time
	for s := 0; s < 2; s++ {
		for _, tm := range []time.Time{f.RST[s], f.FIN[s]} {
			if !tm.IsZero() && (firstClose.IsZero() || tm.Before(firstClose)) {
				firstClose = tm
				side := decoder.Side(s)
				r.ClosedBy = &side
			}
		}
	}
	if !firstClose.IsZero() {
		r.EndedBy = "fin"
		if *r.ClosedBy == decoder.Client && !f.RST[0].IsZero() && !f.RST[0].After(firstClose) ||
			*r.ClosedBy == decoder.Server && !f.RST[1].IsZero() && !f.RST[1].After(firstClose) {
			r.EndedBy = "rst"
		}
		endAt = firstClose
	}
	switch st.Phase {
	case decoder.PhaseComplete:
		r.Outcome = Complete
	case decoder.PhaseResumed:
		r.Outcome = Resumed
	case decoder.PhaseFailed:
		r.Outcome = Failed
		r.Alert = st.Alert
	case decoder.PhaseNotObserved:
		r.Outcome = NotObserved
	case decoder.PhaseHandshaking:
		w := int(st.Waiting)
		quietFrom := st.Since
		if last := f.LastData[w]; last.After(quietFrom) && !st.Since.IsZero() {
			quietFrom = last
		}
		if quietFrom.IsZero() {
			quietFrom = r.Start
		}
		silent := endAt.Sub(quietFrom)
		if silent < 0 {
			silent = 0
		}
		r.Stall = &Stall{Waiting: st.Waiting, Next: st.Next, Since: quietFrom, Silent: silent}
		switch {
		case silent >= a.opts.StallTimeout:
			r.Outcome = Stalled
		case r.EndedBy == "rst":
			r.Outcome = Reset
		case r.EndedBy == "fin":
			r.Outcome = Closed
		default:
			r.Outcome = Incomplete
		}
		if r.Outcome == Reset || r.Outcome == Closed {
			r.Stall = nil
		}
	}
	return r
}

func flipFacts(f TCPFacts) TCPFacts {
	sw := func(a *[2]int) { a[0], a[1] = a[1], a[0] }
	sw(&f.Retransmissions)
	sw(&f.OutOfOrder)
	sw(&f.ZeroWindows)
	sw(&f.Packets)
	f.Bytes[0], f.Bytes[1] = f.Bytes[1], f.Bytes[0]
	f.GapBytes[0], f.GapBytes[1] = f.GapBytes[1], f.GapBytes[0]
	f.FIN[0], f.FIN[1] = f.FIN[1], f.FIN[0]
	f.RST[0], f.RST[1] = f.RST[1], f.RST[0]
	f.LastData[0], f.LastData[1] = f.LastData[1], f.LastData[0]
	return f
}

// helloFacts relates retransmissions and acknowledgements to the
// ClientHello and the server's first flight, by stream offset.
func helloFacts(c *conn, f *TCPFacts, flip bool) {
	cl, sv := 0, 1
	if flip {
		cl, sv = 1, 0
	}
	var chEnd, flightEnd int64 = -1, -1
	state := 0 // 0: before the ClientHello, 1: awaiting the server, 2: in its flight
	for _, m := range c.tls.HS.Messages {
		switch {
		case state == 0 && m.From == decoder.Client && m.Type == "ClientHello":
			chEnd, state = m.End, 1
		case state >= 1 && m.From == decoder.Server:
			flightEnd, state = m.End, 2
		case state == 2:
			state = 3
		}
		if state == 3 {
			break
		}
	}
	acked := func(side int, end int64) bool {
		other := 1 - side
		if !c.ackSet[other] || !c.isnSet[side] {
			return false
		}
		base := c.isn[side]
		if c.synSeen[side] {
			base++
		}
		return int64(int32(c.ackMax[other]-base)) >= end
	}
	if chEnd > 0 {
		for _, r := range c.retrans[cl] {
			if int64(r.start) < chEnd {
				f.ClientHelloRetransmitted++
			}
		}
		for _, s := range c.segStarts[cl] {
			if int64(s) < chEnd {
				f.ClientHelloSegments++
			}
		}
		f.ClientHelloAcked = acked(cl, chEnd)
	}
	if flightEnd > 0 {
		for _, r := range c.retrans[sv] {
			if int64(r.start) < flightEnd {
				f.ServerFlightRetransmitted++
			}
		}
		f.ServerFlightAcked = acked(sv, flightEnd)
	}
}
