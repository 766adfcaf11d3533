package flows

import (
	"net/netip"
	"slices"
	"time"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows/capture"
)

// EndedBy is how a connection ended.
type EndedBy uint8

const (
	EndedCaptureEnd EndedBy = iota // still open when the capture ended
	EndedFIN
	EndedRST
	EndedIdle // no packet for the idle timeout
	EndedOpen // live: still open when the verdict was said
	EndedICMP // an ICMP error refused the SYN (port unreachable, prohibited)
	// EndedQUICClose: a QUIC CONNECTION_CLOSE (RFC 9000 §10.2).
	EndedQUICClose
)

var endedByNames = [...]string{"capture_end", "fin", "rst", "idle", "open", "icmp", "connection_close"}

func (e EndedBy) String() string { return endedByNames[e] }

// Transport is what carried the TLS handshake.
type Transport uint8

const (
	TransportTCP Transport = iota
	TransportQUIC
	TransportDTLS
)

func (t Transport) String() string {
	switch t {
	case TransportQUIC:
		return "quic"
	case TransportDTLS:
		return "dtls"
	}
	return "tcp"
}

// OverUDP reports a transport carried in UDP datagrams (QUIC, DTLS): its
// connections are numbered by udp.stream.
func (t Transport) OverUDP() bool { return t == TransportQUIC || t == TransportDTLS }

// Result is the judged connection: a snapshot that nothing writes after
// it is made, so that another goroutine may read it while the analysis
// goes on (live mode reports a stall while the connection is open).
type Result struct {
	Stream         int // Wireshark's tcp.stream (udp.stream for QUIC and DTLS)
	Input          int // the input (file) its first packet came from
	Transport      Transport
	Client, Server netip.AddrPort
	Start, End     time.Time
	Outcome        Outcome
	// Reason is why: decided with the outcome, never again elsewhere.
	Reason     Reason
	EndedBy    EndedBy
	ClosedBy   *decoder.Side // who sent the first FIN or RST
	Stall      *Stall
	Alert      *decoder.Alert // the alert of a failed handshake
	Resumption string
	CompleteAt time.Time
	Midstream  bool
	// JudgedEarly: judged before it ended, the connection table being full.
	JudgedEarly bool
	// OneSided: the capture holds no packet of the Missing side, though the
	// other one talked to it (asymmetric routing, a capture filter): that
	// side's silence is not judged.
	OneSided bool
	Missing  decoder.Side
	// AcksMissing: the owing side's last data was never acknowledged and
	// its peer sent nothing after it, which no TCP does: the capture lacks
	// packets (a filter that kept only TLS records), so its silence is not
	// judged.
	AcksMissing bool
	// ICMP are the ICMP errors about its packets.
	ICMP   []ICMPError
	HS     *decoder.Handshake // a copy, sides by role
	Events []Event
	// Drops, when not nil: the capturing side dropped packets while it
	// was open (Analyzer.Dropped).
	Drops *CaptureDrops
	// TCP is the transport's part for TCP connections, QUIC for QUIC
	// ones, DTLS for DTLS ones.
	TCP  *TCPFacts
	QUIC *QUICFacts
	DTLS *DTLSFacts
	// Fallback links a QUIC attempt that got no answer and the TCP
	// connection to the same server name that followed it (on both).
	Fallback *Fallback
	// Open: live, the connection was still open when this was said.
	// Update: live, this replaces an earlier result for the same stream.
	Open, Update bool
	// Packets are the connection's frames (with Options.KeepPackets);
	// PacketsCut says some were left out by the caps.
	Packets    []capture.Packet
	PacketsCut bool
	// ServerChain and ClientChain are the chains judged (Options.Validator;
	// nil when not judged or not sent).
	ServerChain, ClientChain *ChainCheck
}

// EventLabel names a transport event for a ladder: "TCP SYN", "QUIC Retry".
func (r *Result) EventLabel(e Event) string {
	switch r.Transport {
	case TransportQUIC:
		return "QUIC " + e.Kind
	case TransportDTLS:
		return "DTLS " + e.Kind
	}
	return "TCP " + e.Kind
}

// TCPOnly reports a row that exists because TLS was expected on the
// server's port, though no TLS byte was seen.
func (r *Result) TCPOnly() bool { return r.TCP != nil && r.TCP.TCPOnly }

// resultParts is a result and what it points to, allocated at once: a
// SYN flood makes millions.
type resultParts struct {
	r        Result
	frames   [4]int64 // the reason's evidence, most often this few
	tcp      TCPFacts
	stall    Stall
	closedBy decoder.Side
}

// noHandshake is the handshake of a connection that carried no TLS byte:
// shared by all of them, and never written.
var noHandshake decoder.Handshake

// result judges a connection and returns its snapshot; nil when the
// connection is not one to report (not TLS, no TLS expected).
func (a *Analyzer) result(c *conn) *Result {
	var st decoder.State
	cd := 0
	if c.tls != nil {
		st, cd = c.tls.State(), int(c.tls.ClientDir())
	}
	// One allocation for the result and the parts it points to.
	x := new(resultParts)
	r := &x.r
	*r = Result{Stream: int(c.id), Input: int(c.input), Transport: TransportTCP, Client: c.ep[cd], Server: c.ep[1-cd], Start: c.first, End: c.last,
		Midstream: !c.synSeen[0] && !c.synSeen[1]}
	// The roles, applied once: directions become client and server.
	f := &x.tcp
	*f = c.tcp
	c.lossFacts(f)
	events := cloneEvents(c.events)
	byRole(&f.Side, cd)
	if p := f.Path; p != nil {
		byRole(&p.Side, cd)
	}
	for i := range events {
		events[i].From = sideOf(events[i].From, cd)
	}
	helloFacts(c, f, cd)
	for s := range 2 {
		if p := &f.Side[1-s]; f.Side[s].Packets == 0 && (p.Bytes > 0 || p.Acks > 0) {
			r.OneSided, r.Missing = true, decoder.Side(s)
		}
	}
	r.Events = events
	if c.rare != nil {
		r.ICMP = slices.Clone(c.rare.icmp)
		r.Drops = c.rare.drops.copy()
	}
	for i := range r.ICMP {
		r.ICMP[i].About = sideOf(r.ICMP[i].About, cd)
	}
	r.Packets, r.PacketsCut = slices.Clip(c.frames), c.framesCut
	next := Owed{}
	switch st.Phase {
	case decoder.PhaseNotTLS:
		return nil
	case decoder.PhaseNone:
		if !a.tlsPorts[r.Server.Port()] || f.Side[0].Bytes > 0 || f.Side[1].Bytes > 0 {
			return nil
		}
		if f.SYN.IsZero() && f.SYNACK.IsZero() {
			return nil // no handshake and no data: nothing to say
		}
		f.TCPOnly = true
		// TCP itself did not get as far as a ClientHello.
		switch {
		case f.SYNACK.IsZero():
			st = decoder.State{Phase: decoder.PhaseHandshaking, Waiting: decoder.Server, Since: f.SYN}
			next.SYNACK = true
		default:
			st = decoder.State{Phase: decoder.PhaseHandshaking, Waiting: decoder.Client, Next: decoder.MsgClientHello, Since: f.SYNACK}
		}
	}
	r.TCP = f
	r.HS = &noHandshake
	if c.tls != nil {
		r.HS = c.tls.Snapshot()
	}
	r.JudgedEarly = c.judgedEarly
	r.Fallback = a.quic.fallbackOf(r)
	r.CompleteAt = st.CompleteAt
	r.Resumption = st.Resumption
	// How the connection ended.
	r.EndedBy = EndedCaptureEnd
	if c.endedIdle {
		r.EndedBy = EndedIdle
	}
	endAt := r.End
	var firstClose time.Time
	for s := range 2 {
		for _, tm := range []time.Time{f.Side[s].RST, f.Side[s].FIN} {
			if !tm.IsZero() && (firstClose.IsZero() || tm.Before(firstClose)) {
				firstClose = tm
				x.closedBy = decoder.Side(s)
				r.ClosedBy = &x.closedBy
			}
		}
	}
	if !firstClose.IsZero() {
		r.EndedBy = EndedFIN
		if rst := f.Side[*r.ClosedBy].RST; !rst.IsZero() && !rst.After(firstClose) {
			r.EndedBy = EndedRST
		}
		endAt = firstClose
	}
	ev := evidence(x.frames[:0])
	switch st.Phase {
	case decoder.PhaseComplete:
		r.Outcome, r.Reason.Kind = Complete, ReasonFinished
		ev.message(r.HS, decoder.Client, decoder.MsgClientHello, time.Time{})
		ev.lastBefore(r.HS, nil, st.CompleteAt)
	case decoder.PhaseResumed:
		r.Outcome, r.Reason.Kind = Resumed, ReasonResumed
		ev.message(r.HS, decoder.Client, decoder.MsgClientHello, time.Time{})
		ev.lastBefore(r.HS, nil, st.CompleteAt)
	case decoder.PhaseFailed:
		r.Outcome, r.Reason.Kind = Failed, ReasonAlert
		if st.Alert != nil {
			a := *st.Alert
			r.Alert = &a
			r.Reason.Side = a.From
			ev.message(r.HS, a.From, decoder.MsgAlert, a.Time)
			if a.Probable || a.Encrypted {
				ev.message(r.HS, a.From, decoder.MsgEncryptedRecord, a.Time)
				ev.message(r.HS, a.From, decoder.MsgApplicationData, a.Time)
			}
		}
	case decoder.PhaseNotObserved:
		r.Outcome, r.Reason.Kind = NotObserved, ReasonBeforeCapture
		for _, m := range r.HS.Messages {
			if len(ev) < 2 {
				ev.add(m.Frame)
			}
		}
	case decoder.PhaseHandshaking:
		if c.tls != nil {
			// Judge each side by what its peer received: messages sent
			// again and again and never acknowledged did not arrive, so
			// their sender still owes the first of them.
			c.undeliveredOwed(&st, r.HS, cd)
		}
		if !next.SYNACK {
			next.Msg = st.Next
		}
		w := int(st.Waiting)
		quietFrom := st.Since
		if quietFrom.After(endAt) {
			// The other side spoke after the end (an alert answering a
			// FIN): the silence began at what it said before.
			quietFrom = time.Time{}
			for _, m := range r.HS.Messages {
				if m.From != st.Waiting && !m.Undelivered && !m.Time.After(endAt) {
					quietFrom = m.Time
				}
			}
		}
		if last := f.Side[w].LastData; last.After(quietFrom) && !last.After(endAt) {
			// Still sending: a message too large to decode is no silence.
			quietFrom = last
		}
		if quietFrom.IsZero() {
			quietFrom = r.Start
		}
		x.stall = Stall{Waiting: st.Waiting, Next: next, Since: quietFrom,
			Sending: st.Sending, SendingLen: st.SendingLen, SendingHave: st.SendingHave}
		a.silence(&x.stall, endAt, r.EndedBy == EndedIdle)
		r.Stall = &x.stall
		// Whatever ended it, the stall facts stay: who owed what, and how
		// long that side had been silent (a client giving up after 0.5 s).
		r.AcksMissing = !r.TCPOnly() && c.acksMissing(endAt)
		if next.SYNACK {
			for _, e := range r.ICMP {
				if !e.PathMTU() && e.About == decoder.Client {
					// TCP takes a hard ICMP error for a refusal, as a RST
					// (RFC 1122 §4.2.3.9).
					r.EndedBy = EndedICMP
				}
			}
		}
		r.Outcome, r.Reason = a.tcpUnfinished(r, &ev)
	}
	a.checkChains(r)
	// Drops first: a verdict made incomplete by them is not explained
	// by a certificate.
	droppedVerdict(r, &ev)
	explain(r, &ev)
	r.Reason.Frames = ev.sorted()
	return r
}

// tcpUnfinished judges a TCP handshake that did not finish: the outcome
// and its reason, with the evidence frames added to ev.
func (a *Analyzer) tcpUnfinished(r *Result, ev *evidence) (Outcome, Reason) {
	s, f, hs := r.Stall, r.TCP, r.HS
	owes := s.Waiting
	// What the owing side was silent after: its peer's last message.
	silence := func() {
		peer := owes.Other()
		ev.lastBefore(hs, &peer, s.Since)
		if s.Next.SYNACK {
			ev.event(r.Events, decoder.Client, "SYN", 0)
		}
		if r.TCPOnly() && !s.Next.SYNACK {
			ev.event(r.Events, decoder.Server, "SYN-ACK", 1)
		}
	}
	closing := func() (Outcome, Reason) {
		out := Closed
		kind := "FIN"
		if r.EndedBy == EndedRST {
			out, kind = Reset, "RST"
		}
		by := *r.ClosedBy
		ev.event(r.Events, by, kind, 1)
		switch {
		case r.TCPOnly() && s.Next.SYNACK:
			ev.event(r.Events, decoder.Client, "SYN", 1)
			return out, Reason{Kind: ReasonRefused, Side: by}
		case hs.NotTLSAnswer != "" && hs.ServerHello == nil:
			ev.message(hs, decoder.Client, decoder.MsgClientHello, time.Time{})
			return out, Reason{Kind: ReasonNotTLS, Side: by}
		case out == Reset && rstInjected(f, by):
			ev.firstEvent(r.Events, by, "FIN", f.Side[by].RST)
			return out, Reason{Kind: ReasonInjectedReset, Side: by}
		case by != owes:
			// The closer was the one waiting: it gave up.
			silence()
			return out, Reason{Kind: ReasonGaveUp, Side: by}
		}
		ev.lastBefore(hs, nil, r.CloseAt())
		return out, Reason{Kind: ReasonClosedInstead, Side: by}
	}
	// The owing side sent its message and the network lost it.
	lost := func() bool {
		if !f.PathOf().Side[owes].Loss.Lost() {
			return false
		}
		ev.event(r.Events, owes, "retransmission", 0)
		ev.event(r.Events, owes, "loss", 0)
		return true
	}
	switch {
	case r.EndedBy == EndedICMP:
		ev.event(r.Events, decoder.Server, "ICMP", 0)
		ev.event(r.Events, decoder.Client, "SYN", 0)
		return Reset, Reason{Kind: ReasonRefusedICMP, Side: decoder.Server}
	case r.OneSided && r.Missing == owes:
		return Incomplete, Reason{Kind: ReasonOneSided, Side: r.Missing} // its silence is the capture's
	case r.AcksMissing:
		ev.lastBefore(hs, nil, time.Time{})
		return Incomplete, Reason{Kind: ReasonAcksMissing, Side: owes}
	case a.stalled(s):
		switch {
		case s.Next.SYNACK:
			silence()
			return Stalled, Reason{Kind: ReasonSYNUnanswered, Side: decoder.Server}
		case lost():
			return Stalled, Reason{Kind: ReasonLost, Side: owes}
		case s.SendingLen > 0 && owes == decoder.Client && s.Sending == decoder.MsgClientHello:
			ev.message(hs, decoder.Client, decoder.MsgClientHello, time.Time{})
			ev.lastBefore(hs, nil, time.Time{})
			return Stalled, Reason{Kind: ReasonClientHelloIncomplete, Side: owes}
		}
		silence()
		return Stalled, Reason{Kind: ReasonSilent, Side: owes}
	case r.EndedBy == EndedRST, r.EndedBy == EndedFIN:
		return closing()
	case lost():
		return Incomplete, Reason{Kind: ReasonLost, Side: owes}
	case s.SendingLen > 0:
		return Incomplete, Reason{Kind: ReasonStillSending, Side: owes}
	}
	silence()
	return Incomplete, Reason{Kind: ReasonSilent, Side: owes}
}

// rstInjected reports a RST in side's name that side did not send: side
// went on sending data or a FIN after it, which no TCP does once it has
// reset the connection (RFC 9293 §3.10.7.1). A differing TTL alone is
// not proof (a route change, a load balancer), so it is a finding, not
// the verdict.
func rstInjected(f *TCPFacts, side decoder.Side) bool {
	return !f.PathOf().Side[side].AfterRST.IsZero()
}

// CloseAt is when the first FIN or RST came, or zero.
func (r *Result) CloseAt() time.Time {
	if r.TCP == nil || r.ClosedBy == nil {
		return time.Time{}
	}
	sd := &r.TCP.Side[*r.ClosedBy]
	t := sd.FIN
	if !sd.RST.IsZero() && (t.IsZero() || sd.RST.Before(t)) {
		t = sd.RST
	}
	return t
}

// helloFacts relates retransmissions and acknowledgements to the
// ClientHello and the server's first flight, by stream offset; cd is the
// client's direction.
func helloFacts(c *conn, f *TCPFacts, cd int) {
	if c.tls == nil || c.seqs == nil {
		return
	}
	cl, sv := cd, 1-cd
	var chEnd, flightEnd int64 = -1, -1
	state := 0 // 0: before the ClientHello, 1: awaiting the server, 2: in its flight
	for _, m := range c.tls.Messages() {
		switch {
		case state == 0 && m.From == decoder.Client && m.Type == decoder.MsgClientHello:
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
		for _, r := range c.seqs.retrans[cl] {
			if int64(r.start) < chEnd {
				f.ClientHelloRetransmitted++
			}
		}
		for _, s := range c.seqs.segs[cl] {
			if int64(s.start) < chEnd {
				f.ClientHelloSegments++
			}
		}
		f.ClientHelloAcked = acked(cl, chEnd)
	}
	if flightEnd > 0 {
		for _, r := range c.seqs.retrans[sv] {
			if int64(r.start) < flightEnd {
				f.ServerFlightRetransmitted++
			}
		}
		f.ServerFlightAcked = acked(sv, flightEnd)
	}
}
