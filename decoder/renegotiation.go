package decoder

// Renegotiation in TLS 1.2 and earlier (RFC 5246 §7.4.1.1, RFC 5746): a
// new handshake inside the established connection, its messages and its
// ChangeCipherSpec protected by the current keys, after which each side
// moves to the keys of the second handshake, found in the key log by the
// second ClientHello's random. Only a connection read with keys sees it.

// maxRenegotiations bounds the renegotiations recorded per connection.
const maxRenegotiations = 8

// renegotiation is the one in progress: its hellos, to look its keys up
// by, its Finished messages seen, and its place in HS.Renegotiations (-1:
// past maxRenegotiations, followed but not recorded).
type renegotiation struct {
	hs       Handshake
	finished [2]bool
	index    int
}

// renegotiating reports whether a protected handshake message of type typ
// from side belongs to a renegotiation: one in progress, or one it starts
// (the server's HelloRequest, the client's ClientHello) after the first
// handshake completed.
func (m *Machine) renegotiating(side Side, e Epoch, typ uint8) bool {
	if e == EpochPlaintext || m.completeAt.IsZero() || m.HS.ServerHello == nil || isTLS13(m.version()) {
		return false
	}
	return m.reneg != nil || typ == typeHelloRequest && side == Server || typ == typeClientHello && side == Client
}

// current is the renegotiation in progress as the snapshot shows it.
func (m *Machine) current() *Renegotiation {
	if m.reneg == nil || m.reneg.index < 0 {
		return nil
	}
	return &m.HS.Renegotiations[m.reneg.index]
}

// startRenegotiation begins one asked for by side.
func (m *Machine) startRenegotiation(by Side, at Pos) {
	m.reneg = &renegotiation{index: -1}
	if len(m.HS.Renegotiations) < maxRenegotiations {
		m.reneg.index = len(m.HS.Renegotiations)
		m.HS.Renegotiations = append(m.HS.Renegotiations, Renegotiation{By: by, Time: at.Time, Frame: at.Frame, Outcome: RenegotiationUnfinished})
	}
}

// renegotiationMessage reads a handshake message of a renegotiation. Its
// fields stay out of the first handshake's, and its Finished is not
// checked against the first one's transcript.
func (m *Machine) renegotiationMessage(side Side, msg []byte, at Pos) {
	typ := msg[0]
	ladder := Message{Time: at.Time, From: side, Type: MsgType(typ), Length: len(msg) - 4, Offset: at.Offset, End: at.End, Frame: at.Frame, Note: "renegotiation"}
	switch {
	case typ == typeHelloRequest && m.reneg == nil:
		m.startRenegotiation(Server, at)
	case typ == typeClientHello:
		if m.reneg == nil || m.reneg.hs.ClientHello != nil {
			m.startRenegotiation(Client, at)
		}
		ch := new(ClientHello)
		if ch.unmarshal(msg) {
			ch.detach()
			m.reneg.hs.ClientHello = ch
			if r := m.current(); r != nil {
				r.ClientRandom = ch.Random
			}
			ladder.Note = helloNote(ch) + ", renegotiation"
		}
	case typ == typeServerHello && m.reneg != nil:
		sh := new(ServerHello)
		if sh.unmarshal(msg) {
			sh.detach()
			m.reneg.hs.ServerHello = sh
			ladder.Note = VersionName(sh.NegotiatedVersion()) + ", " + CipherSuiteName(sh.CipherSuite) + ", renegotiation"
		}
	case typ == typeFinished && m.reneg != nil:
		m.reneg.finished[side] = true
		if m.reneg.finished[Client] && m.reneg.finished[Server] {
			if r := m.current(); r != nil {
				r.Outcome = RenegotiationCompleted
			}
			m.reneg = nil
		}
	}
	m.addMessage(ladder)
}

// renegotiationCCS: side's ChangeCipherSpec in a renegotiation: its next
// records are under the second handshake's keys.
func (m *Machine) renegotiationCCS(side Side) {
	if m.reneg == nil || m.reneg.hs.ClientHello == nil || m.reneg.hs.ServerHello == nil || m.records == nil {
		return
	}
	m.records.renegotiated(side, &m.reneg.hs)
}

// renegotiationAlert marks an alert sent while a renegotiation is in
// progress: the first alert that is fatal or no_renegotiation (RFC 5246
// §7.2.2: the answer of a peer that will not) refuses it.
func (m *Machine) renegotiationAlert(a *Alert) {
	if m.reneg == nil {
		return
	}
	a.Renegotiation = true
	if r := m.current(); r != nil && r.Outcome == RenegotiationUnfinished && (a.Fatal() || a.Description == alertNoRenegotiation) {
		r.Outcome = RenegotiationRefused
		x := *a
		r.Alert = &x
	}
}

// alertNoRenegotiation is RFC 5246 §7.2.2's no_renegotiation(100).
const alertNoRenegotiation = 100

// renegotiated moves side's protection to the renegotiation's keys.
func (c *Conn) renegotiated(side Side, hs *Handshake) { c.protect(side, EpochApplication, hs) }
