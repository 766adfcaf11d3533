package flows

import (
	"encoding/hex"
	"slices"
	"time"

	"github.com/tlsscope/tlsscope/decoder"
)

// Fallback links a QUIC attempt that got no answer and the TLS-over-TCP
// connection to the same server name that followed it, as browsers fall
// back (RFC 9114 §3.1 leaves the choice to them).
type Fallback struct {
	Transport Transport // the other connection's
	Stream    int
}

// fallbackWindow: how long after a QUIC attempt a TCP connection to the
// same name counts as its fallback.
const fallbackWindow = 30 * time.Second

// quicResult judges a QUIC connection.
func (a *Analyzer) quicResult(c *quicConn) *Result {
	f := c.facts
	f.ClientInitials = slices.Clone(f.ClientInitials)
	f.UDPStreams = slices.Clone(f.UDPStreams)
	f.VersionNegotiation = slices.Clone(f.VersionNegotiation)
	r := &Result{Stream: int(c.id), Input: int(c.input), Transport: TransportQUIC, Client: c.ep[0], Server: c.ep[1], Packets: slices.Clip(c.frames), PacketsCut: c.framesCut,
		Start: c.first, End: c.last, QUIC: &f}
	// Mid-stream when no client Initial was seen, unless the client's
	// first packet was of a reserved version: a first flight too.
	r.Midstream = f.OriginalDCID == nil && !f.Offered.Reserved()
	r.Fallback = c.fallback
	r.Drops = c.drops.copy()
	r.Events = slices.Clone(c.events)
	hs := c.m.Snapshot()
	hs.Decryption = a.quicDecryption(c)
	r.HS = hs
	st := c.m.State()
	cl, sv := decoder.Client, decoder.Server
	r.EndedBy = EndedCaptureEnd
	if a.quicIdled(c) {
		r.EndedBy = EndedIdle
	}
	// When the handshake completed: with keys, the machine saw the
	// client's Finished (or the server's HANDSHAKE_DONE confirmed it,
	// RFC 9001 §4.1.2); without, the client sent 1-RTT packets after
	// Handshake packets both ways, which it does only once it has sent
	// its Finished.
	completeAt := c.completeAt(&st)
	if cc := f.Close; cc != nil {
		r.EndedBy = EndedQUICClose
		from := cc.From
		r.ClosedBy = &from
	}
	var ev evidence
	closed := func() {
		if cc := f.Close; cc != nil {
			ev.firstEvent(r.Events, cc.From, "CONNECTION_CLOSE", time.Time{})
		}
	}
	switch cc := f.Close; {
	case r.Midstream && completeAt.IsZero() && (cc == nil || cc.Code == 0):
		r.Outcome, r.Reason.Kind = NotObserved, ReasonBeforeCapture
	case !completeAt.IsZero() && (cc == nil || !cc.At.Before(completeAt)):
		r.Outcome, r.CompleteAt, r.Reason.Kind = Complete, completeAt, ReasonFinished
		if st.Phase == decoder.PhaseResumed || hs.ServerHello != nil && hs.ServerHello.PSKAccepted {
			r.Outcome, r.Resumption, r.Reason.Kind = Resumed, "psk", ReasonResumed
		}
		ev.message(hs, cl, decoder.MsgClientHello, time.Time{})
		ev.firstEvent(r.Events, sv, "HANDSHAKE_DONE", time.Time{})
	case cc != nil && (cc.Code != 0 || cc.Application):
		r.Outcome, r.Reason = Failed, Reason{Kind: ReasonQUICClose, Side: cc.From}
		if alert, ok := cc.TLSAlert(); ok {
			r.Alert = &alert
			hs.Alerts = append(hs.Alerts, *r.Alert)
			r.Reason.Kind = ReasonAlert
		}
		closed()
	case cc != nil:
		// Closed without an error before the handshake finished: by the
		// side that waited (it gave up) or by the one that owed.
		r.Outcome = Closed
		r.Stall = a.quicStall(c, &f, hs, &st)
		r.Reason = Reason{Kind: ReasonClosedInstead, Side: cc.From}
		if cc.From != r.Stall.Waiting {
			r.Reason.Kind = ReasonGaveUp
		}
		closed()
	case f.VersionNegotiation != nil && !slices.Contains(f.VersionNegotiation, f.Version) && !f.Offered.Reserved():
		// The server supports none of the client's versions, and the
		// client did not try one of them (RFC 9000 §6.2). After a
		// reserved version the client owes its Initial in a real one.
		r.Outcome, r.Reason = Failed, Reason{Kind: ReasonNoCommonVersion, Side: sv}
		ev.firstEvent(r.Events, sv, "Version Negotiation", time.Time{})
	default:
		r.Stall = a.quicStall(c, &f, hs, &st)
		if f.Packets[sv] == [3]int{} && f.VersionNegotiation == nil && !f.Retry &&
			(f.Packets[cl][spaceHandshake] > 0 || f.Packets[cl][spaceApp] > 0) {
			// The client went on as if answered: the capture lacks the
			// server's packets.
			r.OneSided, r.Missing = true, sv
		}
		if typ, n := c.readers[cl][spaceInitial].InProgress(); hs.ClientHello == nil && typ == decoder.MsgClientHello && n > 0 && !r.OneSided {
			// Only the start of the ClientHello came (a middlebox that
			// passes the first datagram of a flow): the client owes the
			// rest, whatever the server did with the part it got.
			a.helloCut(c, r, n, &ev)
			break
		}
		r.AcksMissing = quicPacketsMissing(c, &f, a.opts.StallTimeout)
		r.Outcome = Incomplete
		if a.stalled(r.Stall) {
			r.Outcome = Stalled
		}
		owes, helloAcked := r.Stall.Waiting, c.helloAcked()
		r.Reason.Side = owes
		switch {
		case r.OneSided:
			r.Outcome, r.Reason = Incomplete, Reason{Kind: ReasonOneSided, Side: sv}
		case r.AcksMissing:
			r.Outcome, r.Reason.Kind = Incomplete, ReasonAcksMissing
			ev.message(hs, cl, decoder.MsgClientHello, time.Time{})
		case f.Retries > 1 && f.Packets[sv] == [3]int{}:
			r.Reason = Reason{Kind: ReasonRetryLoop, Side: sv}
			ev.event(r.Events, sv, "Retry", 0)
		case hs.ServerHello == nil && helloAcked > 0 && helloAcked < len(c.helloPNs):
			// The server acknowledged some of the ClientHello's Initials and
			// never the others: they were lost on the way, and the server
			// never had the whole ClientHello.
			f.HelloAcked = helloAcked
			r.Reason = Reason{Kind: ReasonLost, Side: cl}
			r.Stall.Waiting, r.Stall.Next = cl, OwedMsg(decoder.MsgClientHello)
			ev.message(hs, cl, decoder.MsgClientHello, time.Time{})
		case hs.ServerHello == nil && f.Packets[sv][spaceInitial] == 0 && f.Packets[sv][spaceHandshake] > 0:
			r.Reason = Reason{Kind: ReasonServerInitialMissing, Side: sv}
			ev.message(hs, cl, decoder.MsgClientHello, time.Time{})
		case f.Packets[sv] == [3]int{} && f.VersionNegotiation == nil && !f.Retry && f.NClientInitials > 0:
			r.Reason = Reason{Kind: ReasonNoAnswer, Side: sv}
			ev.message(hs, cl, decoder.MsgClientHello, time.Time{})
			ev.event(r.Events, cl, "Initial again", 0)
		default:
			r.Reason.Kind = ReasonSilent
			other := owes.Other()
			ev.lastBefore(hs, &other, r.Stall.Since)
		}
	}
	a.checkChains(r)
	// Drops first: a verdict made incomplete by them is not explained
	// by a certificate.
	droppedVerdict(r, &ev)
	explain(r, &ev)
	r.Reason.Frames = ev.sorted()
	return r
}

// helloCut judges a QUIC handshake whose ClientHello came only in part
// (n is its length): the client owes the rest, silent since its last
// Initial.
func (a *Analyzer) helloCut(c *quicConn, r *Result, n int, ev *evidence) {
	f := r.QUIC
	s := &Stall{Waiting: decoder.Client, Next: OwedMsg(decoder.MsgClientHello), Since: c.first,
		Sending: decoder.MsgClientHello, SendingLen: n, SendingHave: min(int(c.read[decoder.Client][spaceInitial])+c.crypto[decoder.Client][spaceInitial].Buffered(), n)}
	if k := len(f.ClientInitials); k > 0 {
		s.Since = f.ClientInitials[k-1]
	}
	a.silence(s, c.last, a.quicIdled(c))
	r.Stall, r.Reason = s, Reason{Kind: ReasonClientHelloIncomplete, Side: decoder.Client}
	r.Outcome = Incomplete
	if a.stalled(s) {
		r.Outcome = Stalled
	}
	ev.event(r.Events, decoder.Client, "Initial again", 0)
}

// helloAcked is how many of the Initials that carried the ClientHello
// the server's ACK frames acknowledged.
func (c *quicConn) helloAcked() int {
	n := 0
	for _, pn := range c.helloPNs {
		if pn < 64 && c.ackedInitial&(1<<pn) != 0 {
			n++
		}
	}
	return n
}

// quicIdled reports a connection ended with no packet for the idle
// timeout while the capture went on.
func (a *Analyzer) quicIdled(c *quicConn) bool {
	return c.finished && a.now.Sub(c.last) > a.opts.IdleTimeout
}

// completeAt is when the handshake completed (zero: not yet).
func (c *quicConn) completeAt(st *decoder.State) time.Time {
	f := &c.facts
	cl, sv := decoder.Client, decoder.Server
	switch {
	case st.Phase == decoder.PhaseComplete || st.Phase == decoder.PhaseResumed:
		return st.CompleteAt
	case !f.HandshakeDone.IsZero():
		return f.HandshakeDone
	case f.Packets[sv][spaceHandshake] > 0 && f.Packets[cl][spaceHandshake] > 0 && f.Packets[cl][spaceApp] > 0 && f.Packets[sv][spaceApp] > 0:
		return f.FirstPacket[cl][spaceApp]
	}
	return time.Time{}
}

// quicLive, live, hands over a QUIC connection's verdict as soon as its
// handshake completed or failed, while it stays open (HTTP/3 keeps it
// for minutes).
func (a *Analyzer) quicLive(c *quicConn) {
	if !a.opts.Live || a.OnResult == nil || c.reported {
		return
	}
	st := c.m.State()
	if c.completeAt(&st).IsZero() && (c.facts.Close == nil || c.facts.Close.Code == 0 && !c.facts.Close.Application) {
		return
	}
	if r := c.judge(a); r != nil {
		r.ClosedBy = nil
		a.sayOpen(&c.lifecycle, r, false)
	}
}

// quicStall says who owes what in an unfinished QUIC handshake, and how
// long that side had been silent at the end.
func (a *Analyzer) quicStall(c *quicConn, f *QUICFacts, hs *decoder.Handshake, st *decoder.State) *Stall {
	cl, sv := decoder.Client, decoder.Server
	serverSent := f.Packets[sv][spaceInitial]+f.Packets[sv][spaceHandshake]+f.Packets[sv][spaceApp] > 0
	s := &Stall{Waiting: sv}
	lastOf := func(side decoder.Side) time.Time {
		var t time.Time
		for _, m := range hs.Messages {
			if m.From == side && m.Time.After(t) {
				t = m.Time
			}
		}
		for sp := range nSpaces {
			if x := f.FirstPacket[side][sp]; x.After(t) {
				t = x
			}
		}
		return t
	}
	switch {
	case f.OriginalDCID == nil && f.Offered.Reserved() && f.VersionNegotiation != nil:
		// The server answered a reserved version with the versions it
		// has: the client owes its ClientHello in one of them.
		s.Waiting, s.Next, s.Since = cl, OwedMsg(decoder.MsgClientHello), c.first
		for _, e := range c.events {
			if e.Kind == "Version Negotiation" {
				s.Since = e.Time
				break
			}
		}
	case !serverSent:
		// Nothing came back: the client's Initials went unanswered.
		s.Next = OwedMsg(decoder.MsgServerHello)
		if len(f.ClientInitials) > 0 {
			s.Since = f.ClientInitials[0]
		} else {
			s.Since = c.first
		}
	case hs.ServerHello == nil:
		// The server sent, but no ServerHello: an Initial with only an
		// ACK, or Handshake packets without the Initial the client needs
		// to open them.
		s.Next = OwedMsg(decoder.MsgServerHello)
		s.Since = f.FirstPacket[cl][spaceInitial]
	case st.Phase == decoder.PhaseHandshaking && c.open[sv][spaceHandshake] != nil:
		// With keys the machine knows the next message.
		s.Waiting, s.Next, s.Since = st.Waiting, OwedMsg(st.Next), st.Since
	case f.Packets[sv][spaceHandshake] == 0:
		s.Next = OwedMsg(decoder.MsgEncryptedExtensions)
		if m := hs.First(sv, decoder.MsgServerHello); m != nil {
			s.Since = m.Time
		}
	case f.Packets[cl][spaceHandshake] == 0:
		// The server's flight came and the client never answered in the
		// Handshake space: not even an acknowledgement.
		s.Waiting, s.Next = cl, OwedMsg(decoder.MsgFinished)
		s.Since = f.FirstPacket[sv][spaceHandshake]
	default:
		// Both sides sent Handshake packets and the client no 1-RTT one:
		// its Finished is owed, unless the server's flight is still
		// incomplete, which without keys cannot be told apart: the side
		// that spoke last waits.
		s.Waiting, s.Next = cl, OwedMsg(decoder.MsgFinished)
		if lastOf(cl).After(lastOf(sv)) {
			s.Waiting, s.Next = sv, OwedMsg(decoder.MsgFinished)
		}
		s.Since = lastOf(s.Waiting.Other())
	}
	if t := lastOf(s.Waiting); t.After(s.Since) && s.Waiting == sv && serverSent {
		s.Since = t
	}
	if s.Since.IsZero() {
		s.Since = c.first
	}
	a.silence(s, c.last, a.quicIdled(c))
	return s
}

// quicDecryption says what the key log did for a QUIC connection: the
// Initial packets are always read (their keys are public); the others
// need the TLS secrets.
func (a *Analyzer) quicDecryption(c *quicConn) *decoder.Decryption {
	f := &c.facts
	d := &decoder.Decryption{}
	ch := c.m.HS.LatestClientHello()
	for s := range 2 {
		d.Opened[s] = f.Packets[s][spaceHandshake] + f.Packets[s][spaceApp] - f.Opaque[s] - f.OpenFailed[s]
		d.Unopened[s] = f.Opaque[s] + f.OpenFailed[s]
	}
	opened := d.Opened[0]+d.Opened[1] > 0
	unopened := d.Unopened[0]+d.Unopened[1] > 0
	switch {
	case a.keys == nil:
		d.Status, d.Reason = decoder.DecryptNoKeys, "no key log given (--keylog FILE, or a pcapng with a Decryption Secrets Block); Initial packets are read without one"
	case ch == nil:
		d.Status, d.Reason = decoder.DecryptNoClientHello, "the capture has no ClientHello, so no client random to look the keys up by"
	case a.keys.Log().Lookup(ch.Random) == nil:
		d.Status, d.Reason = decoder.DecryptNoKeys, "client random "+hex.EncodeToString(ch.Random[:4])+"… is in no key log given"
	case !opened && f.OpenFailed[0]+f.OpenFailed[1] > 0:
		d.Status, d.Reason = decoder.DecryptWrongKeys, "the key log has the client random, but its secrets open no Handshake or 1-RTT packet"
	case unopened && opened:
		d.Status, d.Reason = decoder.DecryptPartial, "some Handshake or 1-RTT packets stayed unreadable"
	default:
		d.Status, d.Reason = decoder.DecryptDecrypted, "every Handshake and 1-RTT packet opened"
	}
	return d
}

// ownQUIC: with Options.Shard, a QUIC connection is reported by the shard
// its first addresses hash to.
func (a *Analyzer) ownQUIC(r *Result) bool {
	return !a.opts.Shard.On() || a.opts.Shard.Of(r.Client, r.Server) == a.opts.Shard.I
}

// quicPacketsMissing: what the capture holds no QUIC endpoint would do,
// so packets are missing from it (a filter that kept only the hellos):
// a client that got no answer and never sent its Initial again for the
// stall timeout (RFC 9002 §6.2: probes follow within a PTO), or a client
// that sent nothing after the server's Initial, which it must acknowledge
// (RFC 9000 §13.2.1).
func quicPacketsMissing(c *quicConn, f *QUICFacts, timeout time.Duration) bool {
	cl, sv := decoder.Client, decoder.Server
	var u unanswered
	if f.Packets[sv] == [3]int{} {
		// The client's first Initial, unanswered.
		if f.NClientInitials > 0 {
			u.at = f.ClientInitials[0]
		}
		u.resent = f.NClientInitials > 1
		u.waited, u.within = c.last.Sub(u.at), timeout
		return u.packetsMissing()
	}
	// The server's Initial, which the client acknowledges at once.
	lastClient := time.Time{}
	for sp := range nSpaces {
		if f.Packets[cl][sp] > 0 {
			lastClient = f.FirstPacket[cl][sp]
		}
	}
	u.at = f.FirstPacket[sv][spaceInitial]
	u.resent = f.NClientInitials != 1
	u.answered = f.Packets[cl] != [3]int{f.Packets[cl][0], 0, 0} || lastClient.After(u.at)
	return u.packetsMissing()
}
