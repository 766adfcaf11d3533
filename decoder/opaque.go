package decoder

// What a passive observer without keys can still tell from protected
// records: their content type in TLS 1.2 and earlier, their size, and
// their place in the handshake. This is where the state machine infers
// the messages it cannot read; with keys it reads them instead (Message).

// EncryptedHandshake: a protected handshake record that could not be
// opened. After ChangeCipherSpec the first one is that side's Finished
// (RFC 5246 §7.4.9).
func (m *Machine) EncryptedHandshake(side Side, n int, at Pos) {
	m.touch(side, at.Time)
	s := &m.sides[side]
	typ := MsgEncryptedHandshake
	if s.ccs && !s.finished {
		typ = MsgFinished
		s.finished = true
		m.noteFinished(at.Time)
	}
	s.encCount++
	m.addMessage(Message{Time: at.Time, From: side, Type: typ, Length: n, Encrypted: true, Offset: at.Offset, End: at.End})
}

// EncryptedAlert: a protected alert record that could not be opened.
func (m *Machine) EncryptedAlert(side Side, n int, at Pos) {
	m.touch(side, at.Time)
	m.encryptedAlert(side, n, at)
}

// ApplicationData: a record of content type application_data, which in
// TLS 1.3 is every protected record (RFC 8446 §5.2); hidden says it could
// not be opened.
func (m *Machine) ApplicationData(side Side, n int, hidden bool, at Pos) {
	m.touch(side, at.Time)
	s := &m.sides[side]
	s.appData++
	if hidden && isTLS13(m.version()) && m.HS.ServerHello != nil {
		s.encCount++
		m.encrypted13(side, n, at)
		return
	}
	if s.appData <= 2 {
		m.addMessage(Message{Time: at.Time, From: side, Type: MsgApplicationData, Length: n, Encrypted: true, Offset: at.Offset, End: at.End})
	}
}

// alertSized: an encrypted TLS 1.3 record holding a 2-byte alert, its
// inner content type and a 16-byte (or 8-byte, CCM_8) tag; a Finished
// needs at least 32+1+8 bytes.
func alertSized(n int) bool { return n <= 24 }

// encrypted13 places a protected TLS 1.3 record that could not be opened
// (RFC 8446 §5.2): the server's first is its flight, EncryptedExtensions
// to Finished (§2); the client's first is its Finished.
func (m *Machine) encrypted13(side Side, n int, at Pos) {
	t := at.Time
	s := &m.sides[side]
	if m.tentative != nil && m.tentative.From == side {
		m.tentative = nil // it went on talking: not an alert after all
	}
	if s.encCount == 1 {
		s.firstEnc = t
		switch {
		case alertSized(n) && m.completeAt.IsZero():
			a := Alert{From: side, Encrypted: true, Probable: true}
			m.tentative = &a
			m.addMessage(Message{Time: t, From: side, Type: MsgAlert, Length: n, Encrypted: true, Offset: at.Offset, End: at.End, Note: "probable encrypted alert"})
			return
		case side == Server:
			s.finished = true
			m.addMessage(Message{Time: t, From: side, Type: MsgEncryptedHandshake, Length: n, Encrypted: true, Flight: true, Offset: at.Offset, End: at.End,
				Note: "EncryptedExtensions…Finished"})
			return
		default:
			m.addMessage(Message{Time: t, From: side, Type: MsgFinished, Length: n, Encrypted: true, Offset: at.Offset, End: at.End})
			if m.sides[Server].firstEnc.IsZero() {
				return
			}
			s.finished = true
			m.noteFinished(t)
			return
		}
	}
	if side == Server && m.sides[Client].firstEnc.IsZero() {
		// More of the server's encrypted flight.
		if last := len(m.HS.Messages) - 1; last >= 0 && m.HS.Messages[last].Type == MsgEncryptedHandshake && m.HS.Messages[last].From == Server {
			m.HS.Messages[last].Length += n
			m.HS.Messages[last].End = at.End
			return
		}
	}
	if s.encCount <= 3 {
		m.addMessage(Message{Time: t, From: side, Type: MsgApplicationData, Length: n, Encrypted: true, Offset: at.Offset, End: at.End})
	}
}
