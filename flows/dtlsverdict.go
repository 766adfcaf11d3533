package flows

import (
	"slices"
	"time"

	"github.com/tlsscope/tlsscope/decoder"
)

// dtlsResult judges a DTLS association: the handshake machine decides
// complete, resumed and failed, as for TLS; an unfinished handshake is
// judged from what DTLS shows beyond it: flights sent again on timers
// (RFC 6347 §4.2.4), the cookie exchange (§4.2.1), datagrams that never
// arrive.
func (a *Analyzer) dtlsResult(c *dtlsConn) *Result {
	cd := c.tls.ClientDir()
	sideOfDir := func(d decoder.Dir) decoder.Side {
		if d == cd {
			return decoder.Client
		}
		return decoder.Server
	}
	cl, sv := decoder.Client, decoder.Server
	hs := c.tls.Snapshot()
	st := c.state()
	f := &DTLSFacts{Stats: c.tls.Stats(), Transmissions: c.tls.Transmissions(), Midstream: c.midstream}
	byRole := func(x [2]int) [2]int { return [2]int{x[cd], x[1-cd]} }
	f.Largest, f.LargestResent = byRole(c.largest), byRole(c.largestResent)
	f.ClientHelloResent = c.resent[cd][resendHello]
	f.ClientHelloResentFrames = slices.Clone(c.resentFrames[cd][resendHello])
	f.ServerFlightResent = c.resent[1-cd][resendFlight]
	f.ServerFlightResentFrames = slices.Clone(c.resentFrames[1-cd][resendFlight])
	for _, t := range f.Transmissions {
		if t.From == sv && t.Type == decoder.MsgHelloVerifyRequest {
			f.HelloVerifyRequests += t.Times
			for _, fr := range []int64{t.FirstFrame, t.LastFrame} {
				if fr > 0 && !slices.Contains(f.HelloVerifyRequestFrames, fr) && len(f.HelloVerifyRequestFrames) < maxResendFrames {
					f.HelloVerifyRequestFrames = append(f.HelloVerifyRequestFrames, fr)
				}
			}
		}
	}
	r := &Result{Stream: int(c.id), Input: int(c.input), Transport: TransportDTLS, Client: c.ep[cd], Server: c.ep[1-cd],
		Start: c.first, End: c.last, Packets: slices.Clip(c.frames), PacketsCut: c.framesCut, DTLS: f, HS: hs}
	r.Midstream = c.midstream && hs.ClientHello == nil && hs.ServerHello == nil
	r.JudgedEarly = c.judgedEarly
	r.Drops = c.drops.copy()
	r.Events = slices.Clone(c.events)
	for i := range r.Events {
		r.Events[i].From = sideOfDir(decoder.Dir(r.Events[i].From))
	}
	r.ICMP = slices.Clone(c.icmp)
	for i := range r.ICMP {
		r.ICMP[i].About = sideOfDir(decoder.Dir(r.ICMP[i].About))
	}
	r.EndedBy = EndedCaptureEnd
	if a.dtlsIdled(c) {
		r.EndedBy = EndedIdle
	}
	r.CompleteAt, r.Resumption = st.CompleteAt, st.Resumption
	var ev evidence
	switch st.Phase {
	case decoder.PhaseNone, decoder.PhaseNotTLS:
		if hs.ClientHello == nil && hs.ServerHello == nil && len(hs.Messages) == 0 {
			return nil // records that never made a handshake: nothing to say
		}
		fallthrough
	case decoder.PhaseNotObserved:
		r.Outcome, r.Reason.Kind = NotObserved, ReasonBeforeCapture
		for _, m := range hs.Messages {
			if len(ev) < 2 {
				ev.add(m.Frame)
			}
		}
	case decoder.PhaseComplete, decoder.PhaseResumed:
		r.Outcome, r.Reason.Kind = Complete, ReasonFinished
		if st.Phase == decoder.PhaseResumed {
			r.Outcome, r.Reason.Kind = Resumed, ReasonResumed
		}
		ev.message(hs, cl, decoder.MsgClientHello, time.Time{})
		ev.lastBefore(hs, nil, st.CompleteAt)
	case decoder.PhaseFailed:
		r.Outcome, r.Reason.Kind = Failed, ReasonAlert
		if st.Alert != nil {
			al := *st.Alert
			r.Alert = &al
			r.Reason.Side = al.From
			ev.message(hs, al.From, decoder.MsgAlert, al.Time)
			if al.Probable || al.Encrypted {
				ev.message(hs, al.From, decoder.MsgEncryptedRecord, al.Time)
			}
		}
	default:
		r.Outcome, r.Reason = a.dtlsUnfinished(c, r, &st, &ev)
	}
	a.checkChains(r)
	droppedVerdict(r, &ev)
	explain(r, &ev)
	r.Reason.Frames = ev.sorted()
	return r
}

// state is the handshake's state: as it ended, once ended, with what the
// owing side was in the middle of sending before the decoder gave up on
// the rest (release).
func (c *dtlsConn) state() decoder.State {
	st := c.tls.State()
	if e := c.end; e != nil && st.Phase == decoder.PhaseHandshaking && e.Phase == decoder.PhaseHandshaking &&
		st.Waiting == e.Waiting && st.SendingLen == 0 && e.SendingLen > 0 {
		st.Sending, st.SendingLen, st.SendingHave = e.Sending, e.SendingLen, e.SendingHave
	}
	return st
}

// dtlsUnfinished judges a handshake that did not finish: who owed which
// flight, and what the datagrams say of why it never came.
func (a *Analyzer) dtlsUnfinished(c *dtlsConn, r *Result, st *decoder.State, ev *evidence) (Outcome, Reason) {
	cl, sv := decoder.Client, decoder.Server
	hs, f := r.HS, r.DTLS
	s := &Stall{Waiting: st.Waiting, Next: OwedMsg(st.Next), Since: c.since(hs, st.Waiting),
		Sending: st.Sending, SendingLen: st.SendingLen, SendingHave: st.SendingHave}
	r.Stall = s
	idled := a.dtlsIdled(c)
	a.silence(s, c.last, idled)
	out := Incomplete
	if a.stalled(s) {
		out = Stalled
	}
	owes := s.Waiting
	sent := f.Stats.Datagrams
	clientHello := func() {
		ev.message(hs, cl, decoder.MsgClientHello, time.Time{})
		for _, fr := range f.ClientHelloResentFrames {
			ev.add(fr)
		}
	}
	switch {
	case sent[sv] == 0 && dtlsWentOn(hs, cl):
		// The client went on as if answered: the capture lacks the
		// server's datagrams.
		r.OneSided, r.Missing = true, sv
		return Incomplete, Reason{Kind: ReasonOneSided, Side: sv}
	case sent[cl] == 0 && dtlsWentOn(hs, sv):
		r.OneSided, r.Missing = true, cl
		return Incomplete, Reason{Kind: ReasonOneSided, Side: cl}
	case sent[sv] == 0 && dtlsPacketsMissing(c, f, hs, a.opts.StallTimeout):
		r.AcksMissing = true
		clientHello()
		return Incomplete, Reason{Kind: ReasonAcksMissing, Side: sv}
	case sent[sv] == 0 && a.dtlsRefused(r):
		ev.event(r.Events, sv, "ICMP", 0)
		clientHello()
		return Closed, Reason{Kind: ReasonRefusedICMP, Side: sv}
	case sent[sv] == 0 && hs.ClientHello != nil:
		clientHello()
		return out, Reason{Kind: ReasonNoAnswer, Side: sv}
	case hs.HelloVerifyRequest != nil && hs.RetryClientHello == nil && owes == cl && st.Next == decoder.MsgClientHello:
		// The server asked for its cookie back and the client never sent
		// it (RFC 6347 §4.2.1): silent since the first HelloVerifyRequest,
		// whatever it sent again of its first ClientHello.
		if m := hs.First(sv, decoder.MsgHelloVerifyRequest); m != nil {
			s.Since = m.Time
			a.silence(s, c.last, idled)
		}
		out = Incomplete
		if a.stalled(s) {
			out = Stalled
		}
		for _, fr := range f.HelloVerifyRequestFrames {
			ev.add(fr)
		}
		clientHello()
		return out, Reason{Kind: ReasonCookieNotReturned, Side: cl}
	}
	if lost := c.flightLost(r, st); lost != nil {
		// The side whose flight was lost owes it still: silent since it
		// last sent something new.
		f.FlightLost = lost
		s.Waiting, s.Since = lost.From, c.since(hs, lost.From)
		if lost.Message != 0 {
			s.Next = OwedMsg(lost.Message)
		}
		if lost.Length > 0 {
			s.Sending, s.SendingLen, s.SendingHave = lost.Message, lost.Length, lost.Have
		}
		a.silence(s, c.last, idled)
		out = Incomplete
		if a.stalled(s) {
			out = Stalled
		}
		for _, fr := range lost.Frames {
			ev.add(fr)
		}
		return out, Reason{Kind: ReasonLost, Side: lost.From}
	}
	peer := owes.Other()
	ev.lastBefore(hs, &peer, s.Since)
	if owes == cl && st.Next == decoder.MsgClientHello && hs.ClientHello != nil {
		clientHello()
	}
	if out == Incomplete && s.SendingLen > 0 {
		return out, Reason{Kind: ReasonStillSending, Side: owes}
	}
	return out, Reason{Kind: ReasonSilent, Side: owes}
}

// since is when the owing side's silence began: its peer's last message
// first came, or the owing side last sent something new, whichever is
// later. A flight sent again is no news: the peer's resends on its timer
// (RFC 6347 §4.2.4) do not restart the owing side's silence, nor do the
// owing side's own.
func (c *dtlsConn) since(hs *decoder.Handshake, owes decoder.Side) time.Time {
	var t time.Time
	for _, m := range hs.Messages {
		if m.From != owes && !m.Undelivered && m.Time.After(t) {
			t = m.Time
		}
	}
	if x := c.lastNew[c.dirOf(owes)]; x.After(t) {
		t = x
	}
	if t.IsZero() {
		t = c.first
	}
	return t
}

func (c *dtlsConn) dirOf(s decoder.Side) decoder.Dir {
	if s == decoder.Client {
		return c.tls.ClientDir()
	}
	return 1 - c.tls.ClientDir()
}

// dtlsWentOn reports that side sent more than its first flight: the
// client its second ClientHello or anything after a hello, the server
// anything beyond its HelloVerifyRequest and ServerHello: it had heard
// its peer.
func dtlsWentOn(hs *decoder.Handshake, side decoder.Side) bool {
	for _, m := range hs.Messages {
		if m.From != side {
			continue
		}
		switch m.Type {
		case decoder.MsgClientHello, decoder.MsgHelloVerifyRequest, decoder.MsgServerHello:
			if side == decoder.Client && hs.RetryClientHello != nil {
				return true
			}
		default:
			return true
		}
	}
	return false
}

// dtlsPacketsMissing: a ClientHello left unanswered and never sent again
// for longer than any DTLS client waits (RFC 6347 §4.2.4.1: its timer
// starts at one second) while the association went on is what a capture
// filtered to the hellos holds, not a stall.
func dtlsPacketsMissing(c *dtlsConn, f *DTLSFacts, hs *decoder.Handshake, timeout time.Duration) bool {
	var u unanswered
	if m := hs.First(decoder.Client, decoder.MsgClientHello); m != nil {
		u.at = m.Time
	}
	u.resent = f.ClientHelloResent > 0 || hs.RetryClientHello != nil
	u.waited, u.within = c.last.Sub(u.at), timeout
	return u.packetsMissing()
}

// dtlsRefused reports an ICMP error, not about the path's MTU, about the
// client's datagrams: the server's host refused them (port unreachable).
func (a *Analyzer) dtlsRefused(r *Result) bool {
	for _, e := range r.ICMP {
		if !e.PathMTU() && e.About == decoder.Client {
			return true
		}
	}
	return false
}

// flightLost finds a flight that never got through whole, seen from
// either end:
//
//   - its receiver holds part of a message the sender owes (a fragment
//     of its Certificate never came while the rest of the flight did),
//     and the flight was asked for or sent again: its missing part was
//     lost, not still on its way;
//   - its sender sent the flight and its peer kept sending its previous
//     flight again afterwards, as one does that never got it.
//
// PathMTU (a black hole) when the same part was lost at each of two
// sends at least, while smaller datagrams got through: the sign of a
// path that drops datagrams over its MTU and no ICMP error telling the
// sender (RFC 8899 §1.1).
func (c *dtlsConn) flightLost(r *Result, st *decoder.State) *DTLSFlightLost {
	f := r.DTLS
	resentAfter := func(s decoder.Side, t time.Time) int {
		n := 0
		for _, x := range c.resentTimes[c.dirOf(s)] {
			if x.After(t) {
				n++
			}
		}
		return n
	}
	// lastFrom is when side's last message first came, and which.
	lastFrom := func(side decoder.Side) (time.Time, decoder.MsgType) {
		var t time.Time
		var typ decoder.MsgType
		for _, m := range r.HS.Messages {
			if m.From == side && !m.Undelivered && !m.Time.Before(t) && m.Note == "" {
				t, typ = m.Time, m.Type
			}
		}
		return t, typ
	}
	// The state before the end gave up on what did not come: the owing
	// side may have been in the middle of a message.
	pre := st
	if e := c.end; e != nil && e.Phase == decoder.PhaseHandshaking && e.SendingLen > 0 {
		pre = e
	}
	if pre.SendingLen > 0 && pre.SendingHave < pre.SendingLen {
		// The receiver's view: part of the owed message came.
		owes := pre.Waiting
		peer := owes.Other()
		t0, _ := lastFrom(peer)
		again := resentAfter(owes, t0)
		if again == 0 && resentAfter(peer, t0) == 0 {
			return nil
		}
		return &DTLSFlightLost{From: owes, Message: pre.Sending, Have: pre.SendingHave, Length: pre.SendingLen,
			Sent: again + 1, Largest: c.largest[c.dirOf(owes)], PathMTU: again > 0,
			Frames: c.resendFrames(c.dirOf(owes), c.dirOf(peer))}
	}
	// The sender's view: its flight came to an end (the peer owes), and
	// the peer sent its own earlier flight again after it.
	owes := st.Waiting
	sender := owes.Other()
	t0, last := lastFrom(sender)
	if t0.IsZero() || resentAfter(owes, t0) == 0 {
		return nil
	}
	again := c.resent[c.dirOf(sender)][resendFlight]
	lost := &DTLSFlightLost{From: sender, Message: last, Sent: again + 1, Largest: c.largestResent[c.dirOf(sender)]}
	// Sent again and never got through, in datagrams larger than any that
	// came the other way.
	lost.PathMTU = again > 0 && lost.Largest > f.Largest[owes]
	lost.Frames = c.resendFrames(c.dirOf(sender), c.dirOf(owes))
	return lost
}

// resendFrames are the frames that show a flight lost: its sender's
// resends and its peer's.
func (c *dtlsConn) resendFrames(sender, peer decoder.Dir) []int64 {
	var out []int64
	for _, d := range []decoder.Dir{sender, peer} {
		for k := range nResendKinds {
			for _, fr := range c.resentFrames[d][k] {
				if len(out) < 2*maxResendFrames {
					out = append(out, fr)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// dtlsIdled reports an association ended with no datagram for the idle
// timeout while the capture went on.
func (a *Analyzer) dtlsIdled(c *dtlsConn) bool {
	return c.finished && a.now.Sub(c.last) > a.opts.IdleTimeout
}

// completeAt is when the handshake completed (zero: not yet).
func (c *dtlsConn) completeAt() time.Time {
	st := c.tls.State()
	if st.Phase == decoder.PhaseComplete || st.Phase == decoder.PhaseResumed {
		return st.CompleteAt
	}
	return time.Time{}
}

// dtlsLive, live, hands over an association's verdict as soon as its
// handshake completed or failed, while it stays open (WebRTC keeps it for
// the call).
func (a *Analyzer) dtlsLive(c *dtlsConn) {
	if !a.opts.Live || a.OnResult == nil || c.reported {
		return
	}
	switch c.tls.State().Phase {
	case decoder.PhaseComplete, decoder.PhaseResumed, decoder.PhaseFailed:
	default:
		return
	}
	if r := c.judge(a); r != nil {
		a.sayOpen(&c.lifecycle, r, false)
	}
}
