package decoder

import "time"

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
	m.addMessage(Message{Time: at.Time, From: side, Type: typ, Length: n, Encrypted: true, Offset: at.Offset, End: at.End, Frame: at.Frame})
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
	if hidden && isTLS13(m.version()) && m.HS.ServerHello != nil {
		s.encCount++
		m.encrypted13(side, n, at)
		return
	}
	s.appData++
	if s.appData <= 2 {
		m.addMessage(Message{Time: at.Time, From: side, Type: MsgApplicationData, Length: n, Encrypted: true, Offset: at.Offset, End: at.End, Frame: at.Frame})
	}
}

// alertSized: an encrypted TLS 1.3 record holding a 2-byte alert, its
// inner content type and a 16-byte (or 8-byte, CCM_8) tag. A Finished
// needs at least 4+32+1+8 bytes; but an EncryptedExtensions with no
// extension is 4+2+1+16 = 23 (OpenSSL sends it as its own record), so
// size alone never makes an alert: its place does (tentativeAlert).
func alertSized(n int) bool { return n <= 24 }

// finishedSized: a protected TLS 1.3 Finished: 4 bytes of header, a
// SHA-256 or SHA-384 verify_data, the inner content type and a 16-byte
// tag (8 with CCM_8), with no padding (RFC 8446 §4.4.4, §5.2).
func finishedSized(n int) bool {
	switch n {
	case 4 + 32 + 1 + 16, 4 + 48 + 1 + 16, 4 + 32 + 1 + 8, 4 + 48 + 1 + 8:
		return true
	}
	return false
}

// tentativeAlert is an alert-sized protected record that may be an
// alert: it is one only if it is the last thing its side sends before
// closing (Closed); anything more from that side proves it was not.
type tentativeAlert struct {
	alert Alert
	msg   int // its ladder entry, relabelled if it proves an alert; -1 when none
}

// encrypted13 places a protected TLS 1.3 record that could not be opened
// (RFC 8446 §5.2, §2): the server's records until the client answers are
// its flight, EncryptedExtensions to Finished; the client's first record
// after that flight is its Finished (or its flight, with a client
// certificate), and the handshake completes there. Everything after is
// application data, tickets and alerts, which look alike.
func (m *Machine) encrypted13(side Side, n int, at Pos) {
	t := at.Time
	s := &m.sides[side]
	cl, sv := &m.sides[Client], &m.sides[Server]
	if tv := m.tentative; tv != nil && tv.alert.From == side {
		m.tentative = nil // it went on talking: not an alert after all
	}
	candidate := func(idx int, afterData bool) {
		m.tentative = &tentativeAlert{alert: Alert{From: side, Encrypted: true, Probable: true, Time: t, AfterData: afterData}, msg: idx}
	}
	switch {
	case side == Server && cl.firstEnc.IsZero():
		// The server's flight, until the client's first protected record.
		if sv.firstEnc.IsZero() {
			sv.firstEnc = t
			sv.flightLen = int32(n)
			idx := m.addMessage(Message{Time: t, From: side, Type: MsgEncryptedHandshake, Length: n, Encrypted: true, Flight: true,
				Offset: at.Offset, End: at.End, Frame: at.Frame, Note: "EncryptedExtensions…Finished"})
			if alertSized(n) {
				candidate(idx, false) // a server refusing the ClientHello, or an OpenSSL EncryptedExtensions
			} else {
				sv.finished = true // by its place: the flight ends with Finished
			}
			return
		}
		sv.flightLen += int32(n)
		sv.finished = !alertSized(int(sv.flightLen))
		if last := len(m.HS.Messages) - 1; last >= 0 && m.HS.Messages[last].Flight && m.HS.Messages[last].From == Server {
			m.HS.Messages[last].Length += n
			m.HS.Messages[last].End = at.End
			return
		}
		m.addMessage(Message{Time: t, From: side, Type: MsgEncryptedHandshake, Length: n, Encrypted: true, Flight: true, Offset: at.Offset, End: at.End, Frame: at.Frame})
		return
	case side == Client && !cl.finished && !sv.firstEnc.IsZero():
		if cl.firstEnc.IsZero() {
			cl.firstEnc = t
		}
		if alertSized(n) {
			// Too small for a Finished: an alert if nothing follows
			// (the client refusing the server's certificate).
			candidate(m.addMessage(Message{Time: t, From: side, Type: MsgEncryptedRecord, Length: n, Encrypted: true, Offset: at.Offset, End: at.End, Frame: at.Frame}), false)
			return
		}
		// The client answers only after the server's Finished.
		cl.finished, sv.finished = true, true
		msg := Message{Time: t, From: side, Type: MsgFinished, Length: n, Encrypted: true, Offset: at.Offset, End: at.End, Frame: at.Frame}
		if !finishedSized(n) {
			// Its flight starts with a Certificate: the server asked for
			// one, and may still refuse what it got (decided waits).
			cl.certFlight = true
			msg.Type, msg.Flight, msg.Note = MsgEncryptedHandshake, true, "Certificate…Finished"
		}
		m.addMessage(msg)
		m.noteFinished(t)
		return
	case side == Client && sv.firstEnc.IsZero():
		// After the ServerHello, before any protected record of the
		// server's: its flight is not in the capture.
		if cl.firstEnc.IsZero() {
			cl.firstEnc = t
			m.addMessage(Message{Time: t, From: side, Type: MsgFinished, Length: n, Encrypted: true, Offset: at.Offset, End: at.End, Frame: at.Frame})
			return
		}
	}
	// After that side's part of the handshake.
	s.postHS++
	idx := -1
	if s.postHS <= 3 {
		idx = m.addMessage(Message{Time: t, From: side, Type: MsgApplicationData, Length: n, Encrypted: true, Offset: at.Offset, End: at.End, Frame: at.Frame})
	}
	if alertSized(n) {
		candidate(idx, s.postHS > 1)
	}
}

// Closed tells the machine that side sent its last byte (TCP FIN or RST,
// QUIC CONNECTION_CLOSE) at t. An alert-sized record that was the last
// thing it sent proves an alert.
func (m *Machine) Closed(side Side, t time.Time) {
	s := &m.sides[side]
	if s.closed != 0 {
		return
	}
	s.closed = t.UnixNano()
	tv := m.tentative
	if tv == nil || tv.alert.From != side {
		return
	}
	m.tentative = nil
	a := tv.alert
	m.HS.Alerts = append(m.HS.Alerts, a)
	if tv.msg >= 0 && tv.msg < len(m.HS.Messages) {
		msg := &m.HS.Messages[tv.msg]
		msg.Type, msg.Flight, msg.Note = MsgAlert, false, "probable encrypted alert"
		if a.AfterData {
			msg.Note = "probably close_notify"
		}
	}
}
