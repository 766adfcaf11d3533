package decoder

import "time"

// Phase is where a handshake stands.
type Phase uint8

const (
	// PhaseNone: no TLS seen yet.
	PhaseNone Phase = iota
	// PhaseHandshaking: started and not finished; Waiting and Next say who
	// owes what.
	PhaseHandshaking
	// PhaseComplete: full handshake finished both ways.
	PhaseComplete
	// PhaseResumed: abbreviated handshake (session id, ticket, PSK).
	PhaseResumed
	// PhaseFailed: a fatal alert ended it.
	PhaseFailed
	// PhaseNotObserved: only protected records seen; the handshake
	// happened before the capture began.
	PhaseNotObserved
	// PhaseNotTLS: the streams are something else.
	PhaseNotTLS
)

var phaseNames = [...]string{"none", "handshaking", "complete", "resumed", "failed", "not_observed", "not_tls"}

func (p Phase) String() string { return phaseNames[p] }

// State is the decoder's judgement of the handshake so far.
type State struct {
	Phase Phase
	// Resumption: "session_id", "ticket" or "psk" when Phase is PhaseResumed.
	Resumption string
	// Alert: the alert that ended a failed handshake.
	Alert *Alert
	// Waiting is the side that owes the next message, Next the message,
	// and Since when the other side finished its part.
	Waiting Side
	Next    MsgType
	Since   time.Time
	// Sending, when SendingLen is not 0, is the message the side that owes
	// was in the middle of sending (too large to decode, or cut short).
	Sending    MsgType
	SendingLen int
	// SendingHave is how much of it came.
	SendingHave int
	// LastTLS is when each side last sent TLS bytes.
	LastTLS [2]time.Time
	// CompleteAt is when the handshake finished.
	CompleteAt time.Time
}

// Decided reports whether the outcome can no longer change by more
// handshake bytes: the caller may stop feeding payload.
func (c *Conn) Decided() bool { return decided(c.State(), &c.m) }

// Decided reports whether the outcome can no longer change.
func (m *Machine) Decided() bool { return decided(m.State(), m) }

func decided(st State, m *Machine) bool {
	switch st.Phase {
	case PhaseComplete, PhaseResumed:
		// A TLS 1.3 handshake read without keys completes at the client's
		// Finished, but a server that asked for a client certificate may
		// still refuse it: then wait for the server's next record.
		if m.inferred13() && m.sides[Client].certFlight {
			return m.sides[Server].postHS > 0 && m.tentative == nil
		}
		if m.kt != nil && isTLS13(m.version()) && m.sides[Server].flightRead {
			// With keys, the server's tickets come after the client's
			// Finished (RFC 8446 §4.6.1): read up to its first record then.
			return len(m.HS.SessionTickets) > 0 || m.sides[Server].appData > 0 || len(m.HS.Alerts) > 0
		}
		return true
	case PhaseNotTLS, PhaseFailed:
		return true
	}
	return false
}

// encryptedAlerts reports an encrypted alert: protection was on, so the
// handshake came before.
func (m *Machine) encryptedAlerts() bool {
	for _, a := range m.HS.Alerts {
		if a.Encrypted {
			return true
		}
	}
	return false
}

// inferred13 reports a TLS 1.3 handshake whose end was placed without
// keys.
func (m *Machine) inferred13() bool {
	return isTLS13(m.version()) && !m.sides[Server].flightRead
}

// State returns the handshake's state.
func (c *Conn) State() State {
	cl, sv := &c.rl[c.dirOf(Client)], &c.rl[c.dirOf(Server)]
	st := c.m.state(cl.mode == frameDead && sv.mode != frameRecords && !c.overBudget)
	if st.Phase == PhaseNone && cl.mode == frameRecords && c.clientHelloBegun() {
		// Only the start of a ClientHello came (a middlebox that passes
		// one segment of a large hello): the client still owes the rest.
		st.Phase, st.Waiting, st.Next = PhaseHandshaking, Client, MsgClientHello
	}
	if st.Phase == PhaseHandshaking {
		st.Sending, st.SendingLen, st.SendingHave = c.inProgress(c.dirOf(st.Waiting))
	}
	return st
}

// clientHelloBegun reports a ClientHello whose start came and whose end
// has not.
func (c *Conn) clientHelloBegun() bool {
	typ, n, _ := c.inProgress(c.dirOf(Client))
	return typ == MsgClientHello && n > 0
}

// inProgress is what direction d was in the middle of sending: a message
// whose start came and whose end has not, else a record; its length and
// the bytes of it that came.
func (c *Conn) inProgress(d Dir) (MsgType, int, int) {
	if c.released {
		if c.progress == nil {
			return 0, 0, 0
		}
		p := c.progress[d]
		return p.typ, p.n, p.have
	}
	l := &c.rl[d]
	partial := 0 // bytes of a record begun in the record layer
	var n int
	if l.mode == frameRecords && len(l.buf) >= 5 {
		n = int(l.buf[3])<<8 | int(l.buf[4])
		if len(l.buf) < 5+n {
			partial = len(l.buf) - 5
		}
	}
	if t, total := c.hr[d].InProgress(); total > 0 {
		r := &c.hr[d]
		if r.skip > 0 {
			return t, total, total - r.skip // over the cap: read past as it came
		}
		return t, total, min(len(r.buf)+partial, total)
	}
	if partial == 0 {
		return 0, 0, 0
	}
	side := c.role(d)
	switch typ := l.buf[0]; {
	case typ == recordHandshake && !c.prot[d].protected() && len(l.buf) > 5:
		return MsgType(l.buf[5]), n, partial
	case typ == recordAlert:
		return MsgAlert, n, partial
	case typ == recordHandshake, typ == recordApplicationData && isTLS13(c.m.version()) && !c.m.sides[side].finished:
		return MsgEncryptedHandshake, n, partial
	case typ == recordApplicationData:
		return MsgApplicationData, n, partial
	}
	return MsgEncryptedRecord, n, partial
}

// State returns the handshake's state.
func (m *Machine) State() State { return m.state(false) }

// state judges the handshake; notTLS says the record layer found the
// streams to be something else.
func (m *Machine) state(notTLS bool) State {
	cl, sv := &m.sides[Client], &m.sides[Server]
	st := State{LastTLS: [2]time.Time{cl.lastTLS, sv.lastTLS}, CompleteAt: m.completeAt}
	// A fatal alert decides, whoever sent it, unless it answered the
	// peer's close; an encrypted one (TLS 1.2 shows the content type) only
	// before either side sent application data, for after it one is most
	// likely close_notify; a probable one (its size and place, TLS 1.3) only
	// once its side closed after it (Closed).
	handshakeSeen := m.HS.ClientHello != nil || m.HS.ServerHello != nil
	for i := range m.HS.Alerts {
		a := &m.HS.Alerts[i]
		if a.Reaction || a.Renegotiation {
			continue
		}
		if a.Fatal() && !(a.AfterData && !m.completeAt.IsZero()) || (a.Probable && !a.AfterData) ||
			(a.Encrypted && !a.Probable && !a.AfterData && handshakeSeen && m.completeAt.IsZero()) {
			st.Phase, st.Alert = PhaseFailed, a
			return st
		}
	}
	ch, sh := m.HS.ClientHello, m.HS.ServerHello
	if ch == nil && sh == nil {
		switch {
		case notTLS:
			st.Phase = PhaseNotTLS
		case cl.appData > 0 || sv.appData > 0 || cl.epoch != EpochPlaintext || sv.epoch != EpochPlaintext || m.encryptedAlerts():
			st.Phase = PhaseNotObserved
		case m.observed:
			st.Phase = PhaseHandshaking
			st.Waiting, st.Next = Client, MsgClientHello
		}
		return st
	}
	owe := func(s Side, next MsgType) State {
		st.Phase, st.Waiting, st.Next = PhaseHandshaking, s, next
		st.Since = m.sides[s.Other()].lastTLS
		return st
	}
	if ch == nil && !m.HS.Midstream {
		return owe(Client, MsgClientHello)
	}
	if (m.HS.HelloRetryRequest != nil || m.HS.HelloVerifyRequest != nil) && m.HS.RetryClientHello == nil && sh == nil {
		// The client owes the ClientHello again, with the cookie.
		return owe(Client, MsgClientHello)
	}
	if sh == nil {
		return owe(Server, MsgServerHello)
	}
	v := sh.NegotiatedVersion()
	if sh.SSLv2 {
		switch {
		case !cl.finished:
			return owe(Client, MsgClientMasterKey)
		case !sv.finished:
			return owe(Server, MsgServerVerify)
		}
		st.Phase = PhaseComplete
		return st
	}
	if isTLS13(v) {
		switch {
		case sv.firstEnc.IsZero():
			return owe(Server, MsgEncryptedExtensions)
		case !sv.finished && sv.flightRead:
			return owe(Server, m.serverOwes13(sh))
		case !sv.finished:
			// Read without keys, its flight began with a record too small
			// to end it.
			return owe(Server, MsgFinished)
		case !cl.finished:
			return owe(Client, m.clientOwes13())
		}
		st.Phase = PhaseComplete
		if sh.PSKAccepted {
			st.Phase, st.Resumption = PhaseResumed, "psk"
		}
		return st
	}
	// TLS 1.2 and earlier. An abbreviated handshake (RFC 5246 §7.3) has the
	// server's ChangeCipherSpec right after its ServerHello (and
	// NewSessionTicket); a full one has ServerHelloDone first.
	echoed := len(sh.SessionID) > 0 && ch != nil && string(sh.SessionID) == string(ch.SessionID)
	abbreviated := (sv.ccs && !m.has(Server, typeServerHelloDone)) ||
		(echoed && !m.has(Server, typeCertificate) && !m.has(Server, typeServerHelloDone))
	if abbreviated {
		switch {
		case !sv.ccs:
			return owe(Server, MsgChangeCipherSpec)
		case !sv.finished:
			return owe(Server, MsgFinished)
		case !cl.ccs:
			return owe(Client, MsgChangeCipherSpec)
		case !cl.finished:
			return owe(Client, MsgFinished)
		}
		st.Phase = PhaseResumed
		st.Resumption = "session_id"
		if ch != nil && ch.SessionTicketLen > 0 {
			st.Resumption = "ticket"
		}
		return st
	}
	suite := CipherSuite(sh.CipherSuite)
	switch {
	case !m.has(Server, typeServerHelloDone):
		next := MsgServerHelloDone
		if !m.has(Server, typeCertificate) && suite.Authentication != "anon" && suite.KeyExchange != "PSK" && !m.HS.Midstream {
			next = MsgCertificate
		} else if !m.has(Server, typeServerKeyExchange) && (suite.KeyExchange == "ECDHE" || suite.KeyExchange == "DHE") {
			next = MsgServerKeyExchange
		}
		if m.HS.Midstream && (cl.ccs || m.has(Client, typeClientKeyExchange)) {
			break // the server flight was before the capture
		}
		return owe(Server, next)
	}
	switch {
	case !m.has(Client, typeClientKeyExchange) && !cl.ccs:
		if m.HS.CertificateRequested && !m.has(Client, typeCertificate) {
			return owe(Client, MsgCertificate)
		}
		return owe(Client, MsgClientKeyExchange)
	case !cl.ccs:
		return owe(Client, MsgChangeCipherSpec)
	case !cl.finished:
		return owe(Client, MsgFinished)
	case !sv.ccs:
		return owe(Server, MsgChangeCipherSpec)
	case !sv.finished:
		return owe(Server, MsgFinished)
	}
	st.Phase = PhaseComplete
	return st
}

// serverOwes13 is the next message of a TLS 1.3 server flight read with
// keys (RFC 8446 §4.4): EncryptedExtensions, [CertificateRequest],
// Certificate, CertificateVerify, Finished; with a PSK accepted no
// Certificate or CertificateVerify. A CertificateRequest is optional, so
// Certificate is what is owed after EncryptedExtensions.
func (m *Machine) serverOwes13(sh *ServerHello) MsgType {
	switch {
	case !m.has(Server, typeEncryptedExtensions):
		return MsgEncryptedExtensions
	case sh.PSKAccepted:
	case !m.has(Server, typeCertificate):
		return MsgCertificate
	case !m.has(Server, typeCertificateVerify):
		return MsgCertificateVerify
	}
	return MsgFinished
}

// clientOwes13 is the next message of a TLS 1.3 client's flight after the
// server's Finished (RFC 8446 §4.4): a Certificate when one was asked
// for, a CertificateVerify when that Certificate was not empty
// (§4.4.3), then Finished.
func (m *Machine) clientOwes13() MsgType {
	switch {
	case m.HS.CertificateRequested && !m.has(Client, typeCertificate):
		return MsgCertificate
	case m.has(Client, typeCertificate) && len(m.HS.ClientCertificates) > 0 && !m.has(Client, typeCertificateVerify):
		return MsgCertificateVerify
	}
	return MsgFinished
}
