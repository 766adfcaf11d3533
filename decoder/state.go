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
	// Waiting is the side that owes the next message, Next its name,
	// and Since when the other side finished its part.
	Waiting Side
	Next    string
	Since   time.Time
	// LastTLS is when each side last sent TLS bytes.
	LastTLS [2]time.Time
	// CompleteAt is when the handshake finished.
	CompleteAt time.Time
}

// Decided reports whether the outcome can no longer change by more
// handshake bytes: the caller may stop feeding payload.
func (c *Conn) Decided() bool {
	switch c.State().Phase {
	case PhaseComplete, PhaseResumed, PhaseNotTLS:
		return true
	case PhaseFailed:
		return c.tentative == nil
	}
	return false
}

// State returns the handshake's state.
func (c *Conn) State() State {
	st := State{LastTLS: [2]time.Time{c.h[Client].lastTLS, c.h[Server].lastTLS}, CompleteAt: c.completeAt}
	// A fatal alert decides, whoever sent it and whenever.
	for i := range c.HS.Alerts {
		a := &c.HS.Alerts[i]
		if a.Fatal() || (a.Encrypted && !a.Probable && c.completeAt.IsZero()) {
			st.Phase, st.Alert = PhaseFailed, a
			return st
		}
	}
	if c.tentative != nil {
		st.Phase, st.Alert = PhaseFailed, c.tentative
		return st
	}
	ch, sh := c.HS.ClientHello, c.HS.ServerHello
	if ch == nil && sh == nil {
		switch {
		case c.h[Client].mode == modeDead && c.h[Server].mode != modeRecords:
			st.Phase = PhaseNotTLS
		case c.h[Client].appData > 0 || c.h[Server].appData > 0 || c.h[Client].encrypted || c.h[Server].encrypted:
			st.Phase = PhaseNotObserved
		case c.HS.Bytes[Client] > 0 || c.HS.Bytes[Server] > 0:
			st.Phase = PhaseHandshaking
			st.Waiting, st.Next = Client, "ClientHello"
		}
		return st
	}
	owe := func(s Side, next string) State {
		st.Phase, st.Waiting, st.Next = PhaseHandshaking, s, next
		st.Since = c.h[s.Other()].lastTLS
		return st
	}
	if ch == nil && !c.HS.Midstream {
		return owe(Client, "ClientHello")
	}
	if c.HS.HelloRetryRequest != nil && c.HS.RetryClientHello == nil && sh == nil {
		return owe(Client, "ClientHello")
	}
	if sh == nil {
		return owe(Server, "ServerHello")
	}
	cl, sv := &c.h[Client], &c.h[Server]
	v := sh.NegotiatedVersion()
	if sh.SSLv2 {
		switch {
		case !cl.finished:
			return owe(Client, "ClientMasterKey")
		case !sv.finished:
			return owe(Server, "ServerVerify")
		}
		st.Phase = PhaseComplete
		return st
	}
	if isTLS13(v) {
		switch {
		case c.firstEnc[Server].IsZero():
			return owe(Server, "EncryptedExtensions")
		case !cl.finished:
			return owe(Client, "Finished")
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
	abbreviated := (sv.ccs && !c.has(Server, typeServerHelloDone)) ||
		(echoed && !c.has(Server, typeCertificate) && !c.has(Server, typeServerHelloDone))
	if abbreviated {
		switch {
		case !sv.ccs:
			return owe(Server, "ChangeCipherSpec")
		case !sv.finished:
			return owe(Server, "Finished")
		case !cl.ccs:
			return owe(Client, "ChangeCipherSpec")
		case !cl.finished:
			return owe(Client, "Finished")
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
	case !c.has(Server, typeServerHelloDone):
		next := "ServerHelloDone"
		if !c.has(Server, typeCertificate) && suite.Authentication != "anon" && suite.KeyExchange != "PSK" && !c.HS.Midstream {
			next = "Certificate"
		} else if !c.has(Server, typeServerKeyExchange) && (suite.KeyExchange == "ECDHE" || suite.KeyExchange == "DHE") {
			next = "ServerKeyExchange"
		}
		if c.HS.Midstream && (cl.ccs || c.has(Client, typeClientKeyExchange)) {
			break // the server flight was before the capture
		}
		return owe(Server, next)
	}
	switch {
	case !c.has(Client, typeClientKeyExchange) && !cl.ccs:
		if c.HS.CertificateRequested && !c.has(Client, typeCertificate) {
			return owe(Client, "Certificate")
		}
		return owe(Client, "ClientKeyExchange")
	case !cl.ccs:
		return owe(Client, "ChangeCipherSpec")
	case !cl.finished:
		return owe(Client, "Finished")
	case !sv.ccs:
		return owe(Server, "ChangeCipherSpec")
	case !sv.finished:
		return owe(Server, "Finished")
	}
	st.Phase = PhaseComplete
	return st
}
