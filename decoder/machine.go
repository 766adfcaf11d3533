package decoder

import (
	"fmt"
	"time"
)

// Pos is where a message or record was: its capture time and, for byte
// streams, the stream offsets of the record that carried its first byte
// and just past the last (for QUIC, offsets in the CRYPTO stream); and
// the frame that completed it.
type Pos struct {
	Time        time.Time
	Offset, End int64
	// Frame is the Wireshark frame.number of the packet whose bytes
	// completed the record (0: not known): Wireshark shows a message
	// reassembled from several segments in the frame of the last one.
	Frame int64
}

// Machine is the handshake state machine: it is fed handshake messages
// tagged with their epoch, and the records around them that are not
// handshake messages, and judges the handshake (State). TLS over TCP
// feeds it through the record layer (Conn); a QUIC CRYPTO stream feeds
// it the same messages (Message) with no record layer at all.
type Machine struct {
	HS       Handshake
	sides    [2]sideState
	anyHello bool
	observed bool
	// transportRetry: TransportRetry was called.
	transportRetry bool
	// dtls: fed by a DTLSConn (dtls_machine.go): hellos carry a cookie,
	// the transcript holds DTLS headers; dtlsSeq is the message_seq of
	// the message being fed.
	dtls       bool
	dtlsSeq    uint16
	completeAt time.Time
	// tentative: an encrypted record of alert size that proves an alert
	// if its side closes next (opaque.go).
	tentative *tentativeAlert
	// records is told of each side's new epoch: the record layer's
	// protection follows them (nil without a record layer).
	records epochFollower
	// kt is what only a connection with keys keeps (decrypted.go).
	kt *keyed
	// reneg is the renegotiation in progress (renegotiation.go).
	reneg *renegotiation
}

// TransportRetry says that the transport made the client start again (a
// QUIC Retry, RFC 9000 §17.2.5): a new ClientHello may follow, and the
// handshake goes on with it.
func (m *Machine) TransportRetry() { m.transportRetry = true }

// keyed is what a machine with keys keeps: the keys, and the transcript
// of the handshake messages to check the Finished messages against.
type keyed struct {
	keys       Keys
	full       bool
	transcript []byte
}

// sideState is what the machine knows of one side.
type sideState struct {
	epoch      Epoch
	ccs        bool
	finished   bool // Finished sent (seen, or inferred from its place)
	flightRead bool // its protected handshake messages were read (keys)
	certFlight bool // TLS 1.3 client flight began with a Certificate (read without keys)
	encCount   int  // protected records sent
	appData    int
	lastTLS    time.Time
	firstEnc   time.Time // first protected TLS 1.3 record
	seen       uint64    // bit per handshake type sent
	// flightLen: bytes of the server's TLS 1.3 flight read without keys;
	// postHS: protected records sent after its part of the handshake;
	// undelivered: records after bytes lost in the network.
	flightLen, postHS, undelivered int32
	closed                         int64 // its FIN, RST or CONNECTION_CLOSE, Unix nanoseconds
}

// epochFollower is what follows the machine's epochs (the record layer):
// a new epoch, a new generation of keys within one (KeyUpdate), and the
// keys of a renegotiation's handshake hs.
type epochFollower interface {
	enter(from Side, e Epoch)
	keyUpdate(from Side)
	renegotiated(from Side, hs *Handshake)
}

// NewMachine starts a handshake with no record layer (QUIC).
func NewMachine() *Machine { return &Machine{} }

// version is the negotiated version as the TLS rules it follows (DTLS
// 1.2 is TLS 1.2's, TLSEquivalent).
func (m *Machine) version() uint16 { return TLSEquivalent(m.HS.Version()) }

// touch notes that side sent TLS at t.
func (m *Machine) touch(side Side, t time.Time) {
	m.sides[side].lastTLS = t
	m.observed = true
}

func (m *Machine) problem(side Side, at Pos, kind ProblemKind, msg string) {
	if len(m.HS.Problems) < 32 {
		m.HS.Problems = append(m.HS.Problems, Problem{Time: at.Time, Frame: at.Frame, From: side, Kind: kind, Err: msg})
	}
}

// addMessage appends to the ladder and returns the entry's index, or -1
// when the ladder is full.
func (m *Machine) addMessage(msg Message) int {
	if len(m.HS.Messages) >= maxMessages {
		m.HS.MessagesDropped++
		return -1
	}
	m.HS.Messages = append(m.HS.Messages, msg)
	return len(m.HS.Messages) - 1
}

func (m *Machine) mark(side Side, typ uint8) {
	if typ < 64 {
		m.sides[side].seen |= 1 << typ
	}
}

func (m *Machine) has(side Side, typ uint8) bool {
	return typ < 64 && m.sides[side].seen&(1<<typ) != 0
}

// setEpoch moves side's records to epoch e.
func (m *Machine) setEpoch(side Side, e Epoch) {
	if m.sides[side].epoch == e {
		return
	}
	m.sides[side].epoch = e
	if m.records != nil {
		m.records.enter(side, e)
	}
}

func (m *Machine) protected(side Side) bool { return m.sides[side].epoch != EpochPlaintext }

// relabel swaps the sides of everything recorded: the first hello showed
// that the caller's guess of the client was wrong. Only what came before
// that hello is relabelled.
func (m *Machine) relabel() {
	m.sides[0], m.sides[1] = m.sides[1], m.sides[0]
	for i := range m.HS.Messages {
		m.HS.Messages[i].From = m.HS.Messages[i].From.Other()
	}
	for i := range m.HS.Alerts {
		m.HS.Alerts[i].From = m.HS.Alerts[i].From.Other()
	}
	for i := range m.HS.Problems {
		m.HS.Problems[i].From = m.HS.Problems[i].From.Other()
	}
	if m.tentative != nil {
		m.tentative.alert.From = m.tentative.alert.From.Other()
	}
}

func (m *Machine) noteFinished(t time.Time) {
	if m.completeAt.IsZero() && m.sides[Client].finished && m.sides[Server].finished {
		m.completeAt = t
	}
}

// ChangeCipherSpec: a ChangeCipherSpec record (never protected).
func (m *Machine) ChangeCipherSpec(side Side, n int, at Pos) {
	m.touch(side, at.Time)
	msg := Message{Time: at.Time, From: side, Type: MsgChangeCipherSpec, Length: n, Offset: at.Offset, End: at.End, Frame: at.Frame}
	if m.reneg != nil {
		msg.Note = "renegotiation"
		m.addMessage(msg)
		m.renegotiationCCS(side)
		return
	}
	m.addMessage(msg)
	m.sides[side].ccs = true
	// Before a ServerHello the version is unknown: a CCS then is TLS 1.3's
	// middlebox compatibility one (RFC 8446 §D.4), as it is after a
	// HelloRetryRequest. Only TLS 1.2 and earlier encrypt after it.
	v := m.version()
	if v == 0 && m.HS.ClientHello != nil && !isTLS13(m.HS.ClientHello.MaxVersion()) && m.HS.HelloRetryRequest == nil {
		v = m.HS.ClientHello.MaxVersion() // no TLS 1.3 offered: a real CCS
	}
	if v != 0 && !isTLS13(v) {
		m.setEpoch(side, EpochApplication)
	}
}

// AlertRecord: the body of an alert record that is readable (plaintext,
// or opened with keys).
func (m *Machine) AlertRecord(side Side, e Epoch, body []byte, at Pos) {
	m.touch(side, at.Time)
	if e == EpochPlaintext && m.sides[side].appData > 0 || !plainAlerts(body) {
		m.encryptedAlert(side, len(body), at)
		return
	}
	sd := &m.sides[side]
	after := !m.completeAt.IsZero() && (sd.appData > 0 || sd.postHS > 0 || side == Server && len(m.HS.SessionTickets) > 0)
	for i := 0; i+2 <= len(body); i += 2 {
		a := Alert{From: side, Level: body[i], Description: body[i+1], Time: at.Time, Reaction: m.peerClosed(side, at.Time), AfterData: after}
		m.renegotiationAlert(&a)
		m.HS.Alerts = append(m.HS.Alerts, a)
		m.addMessage(Message{Time: at.Time, From: side, Type: MsgAlert, Length: 2, Offset: at.Offset, End: at.End, Frame: at.Frame,
			Note: a.LevelName() + " " + a.DescriptionName()})
	}
}

// encryptedAlert: an alert record whose content is hidden.
func (m *Machine) encryptedAlert(side Side, n int, at Pos) {
	s := &m.sides[side]
	a := Alert{From: side, Encrypted: true, Time: at.Time, Reaction: m.peerClosed(side, at.Time),
		AfterData: s.appData > 0 || s.postHS > 0 || !m.completeAt.IsZero()}
	m.renegotiationAlert(&a)
	m.HS.Alerts = append(m.HS.Alerts, a)
	msg := Message{Time: at.Time, From: side, Type: MsgAlert, Length: n, Encrypted: true, Offset: at.Offset, End: at.End, Frame: at.Frame}
	if a.AfterData {
		msg.Note = "probably close_notify"
	}
	m.addMessage(msg)
}

// peerClosed reports whether side's peer had closed before t.
func (m *Machine) peerClosed(side Side, t time.Time) bool {
	c := m.sides[side.Other()].closed
	return c != 0 && t.UnixNano() >= c
}

// plainAlerts reports whether an alert record reads as plaintext alerts:
// 2-byte level and description pairs with a defined level. Anything else
// is protected, whatever the decoder believed about the direction.
func plainAlerts(body []byte) bool {
	if len(body) == 0 || len(body)%2 != 0 {
		return false
	}
	for i := 0; i < len(body); i += 2 {
		if body[i] != 1 && body[i] != 2 {
			return false
		}
	}
	return true
}

// undelivered lists a record its peer never received: it came after
// bytes lost in the network (Conn.Lost).
func (m *Machine) undelivered(side Side, typ uint8, body []byte, protected bool, at Pos, why string) {
	s := &m.sides[side]
	if s.undelivered++; s.undelivered > 4 {
		return
	}
	t := MsgEncryptedRecord
	switch {
	case typ == recordHandshake && !protected && len(body) > 0 && handshakeTypeNames[body[0]] != "":
		t = MsgType(body[0]) // its first message, if the record starts one
		if body[0] == typeServerHello && len(body) >= 4 && m.HS.UndeliveredServerHello == nil {
			// Evidence worth keeping: the real server answered (after a
			// reset injected on the path), though the client never saw it.
			if n := 4 + (int(body[1])<<16 | int(body[2])<<8 | int(body[3])); n <= len(body) {
				if sh := new(ServerHello); sh.unmarshal(body[:n]) {
					sh.detach()
					m.HS.UndeliveredServerHello = sh
				}
			}
		}
	case typ == recordHandshake:
		t = MsgEncryptedHandshake
	case typ == recordChangeCipherSpec:
		t = MsgChangeCipherSpec
	case typ == recordAlert:
		t = MsgAlert
	case typ == recordApplicationData:
		t = MsgApplicationData
	}
	m.addMessage(Message{Time: at.Time, From: side, Type: t, Length: len(body), Encrypted: protected, Undelivered: true,
		Offset: at.Offset, End: at.End, Frame: at.Frame, Note: "never received by the " + side.Other().String() + " (" + why + ")"})
}

// Heartbeat: a heartbeat record (RFC 6520).
func (m *Machine) Heartbeat(side Side, n int, hidden bool, at Pos) {
	m.touch(side, at.Time)
	m.addMessage(Message{Time: at.Time, From: side, Type: MsgHeartbeat, Length: n, Encrypted: hidden, Offset: at.Offset, End: at.End, Frame: at.Frame})
}

// OverCap: a handshake message too large to buffer; only its type and
// length are known.
func (m *Machine) OverCap(side Side, typ uint8, n int, at Pos) {
	m.problem(side, at, ProblemOversize, fmt.Sprintf("%s of %d bytes exceeds the %d KiB cap and was not decoded", HandshakeTypeName(typ), n, maxHandshakeMessage>>10))
	m.mark(side, typ)
	m.addMessage(Message{Time: at.Time, From: side, Type: MsgType(typ), Length: n, Offset: at.Offset, End: at.End, Frame: at.Frame, Note: "over the cap, not decoded"})
}

// Message is one whole handshake message (its 4-byte header included) that
// side sent in epoch e.
func (m *Machine) Message(side Side, e Epoch, msg []byte, at Pos) {
	t := at.Time
	typ := msg[0]
	if m.renegotiating(side, e, typ) {
		m.renegotiationMessage(side, msg, at)
		return
	}
	if typ == typeCompressedCert {
		// RFC 8879: the Certificate inside, read as one (the transcript
		// holds the compressed message).
		m.transcribe(msg)
		cert, err := decompressCertificate(msg)
		if err != nil {
			m.problem(side, at, ProblemMalformed, err.Error())
			m.addMessage(Message{Time: t, From: side, Type: MsgCompressedCertificate, Length: len(msg) - 4, Offset: at.Offset, End: at.End, Frame: at.Frame, Note: "not decompressed"})
			return
		}
		m.certificate(side, e, cert, at, len(msg)-4)
		return
	}
	if typ == typeFinished && e != EpochPlaintext && !isTLS13(m.version()) {
		m.checkFinished(side, msg)
	} else if typ == typeFinished && e == EpochHandshake && m.dtls {
		m.checkFinished13(side, msg)
	}
	if typ != typeHelloRequest && typ != typeHelloVerifyRequest {
		m.transcribe(msg)
	}
	if typ == typeClientHello || typ == typeServerHello {
		m.anyHello = true
	}
	if e != EpochPlaintext {
		if m.sides[side].firstEnc.IsZero() {
			m.sides[side].firstEnc = t
		}
		m.sides[side].flightRead = true
	}
	ladder := Message{Time: t, From: side, Type: MsgType(typ), Length: len(msg) - 4, Offset: at.Offset, End: at.End, Frame: at.Frame}
	bad := func() {
		m.problem(side, at, ProblemMalformed, "malformed "+ladder.Type.String())
		ladder.Note = "malformed"
	}
	switch typ {
	case typeClientHello:
		ch := new(ClientHello)
		if !ch.unmarshalHello(msg, m.dtls) {
			bad()
			break
		}
		ch.detach()
		switch {
		case m.HS.ClientHello == nil:
			m.HS.ClientHello = ch
			if m.kt != nil && hasExtension(ch.Extensions, extEarlyData) {
				// 0-RTT may follow, under the early traffic secret (RFC 8446
				// §2.3); with no keys this changes nothing.
				m.setEpoch(Client, EpochEarlyData)
			}
		case m.HS.RetryClientHello == nil && (m.HS.HelloRetryRequest != nil || m.HS.ServerHello == nil):
			// After a HelloRetryRequest, or one the capture missed.
			m.HS.RetryClientHello = ch
			if m.HS.HelloRetryRequest == nil && !m.transportRetry && m.HS.HelloVerifyRequest == nil {
				m.problem(side, at, ProblemUnexpected, "a second ClientHello without a HelloRetryRequest in the capture")
			}
		default:
			m.problem(side, at, ProblemUnexpected, "another ClientHello in the same connection")
		}
		ladder.Note = helloNote(ch)
		if ch.Malformed != "" {
			m.problem(side, at, ProblemMalformed, "ClientHello: "+ch.Malformed)
			ladder.Note += " (" + ch.Malformed + ")"
		}
	case typeHelloVerifyRequest:
		m.helloVerifyRequest(side, msg, &ladder, bad)
	case typeServerHello:
		sh := new(ServerHello)
		if !sh.unmarshal(msg) {
			bad()
			break
		}
		sh.detach()
		if sh.HelloRetryRequest {
			ladder.Type = MsgHelloRetryRequest
			m.HS.HelloRetryRequest = sh
			ladder.Note = "group " + GroupName(sh.KeyShareGroup)
			break
		}
		if m.HS.ServerHello == nil {
			m.HS.ServerHello = sh
		}
		v := sh.NegotiatedVersion()
		ladder.Note = VersionName(v) + ", " + CipherSuiteName(sh.CipherSuite)
		if isTLS13(v) {
			// RFC 8446 §2: everything after the ServerHello is protected.
			m.setEpoch(Server, EpochHandshake)
			if m.sides[Client].epoch != EpochEarlyData || !sh.PSKAccepted {
				// Early data goes on until EndOfEarlyData when accepted.
				m.setEpoch(Client, EpochHandshake)
			}
		}
	case typeCertificate:
		if !m.readCertificates(side, e, msg, &ladder) {
			bad()
		}
	case typeEncryptedExtensions:
		ee := new(EncryptedExtensions)
		if !ee.unmarshal(msg) {
			bad()
			break
		}
		if side == Server {
			// A client's is Chrome's ALPS (application_settings).
			m.HS.EncryptedExtensions = ee
		}
		if ee.ALPN != "" {
			ladder.Note = "ALPN " + ee.ALPN
		}
	case typeKeyUpdate:
		// RFC 8446 §4.6.3: the sender's next records use its next keys.
		if m.records != nil && e == EpochApplication {
			m.records.keyUpdate(side)
		}
	case typeEndOfEarlyData:
		m.setEpoch(Client, EpochHandshake)
	case typeServerKeyExchange:
		if m.HS.ServerHello == nil {
			break
		}
		ske := new(ServerKeyExchange)
		if !ske.unmarshal(msg, CipherSuite(m.HS.ServerHello.CipherSuite), m.version()) {
			bad()
			break
		}
		m.HS.ServerKeyExchange = ske
		if ske.Group != 0 {
			ladder.Note = GroupName(ske.Group)
		} else if ske.DHBits != 0 {
			ladder.Note = fmt.Sprintf("DH %d bits", ske.DHBits)
		}
	case typeCertificateRequest:
		m.HS.CertificateRequested = true
	case typeNewSessionTicket:
		var nst NewSessionTicket
		if !nst.unmarshal(msg, e != EpochPlaintext && isTLS13(m.version())) {
			bad()
			break
		}
		m.HS.SessionTickets = append(m.HS.SessionTickets, nst)
		ladder.Note = fmt.Sprintf("lifetime %d s, ticket %d bytes", nst.LifetimeHint, nst.TicketLength)
	case typeCertificateStatus:
		if side != Server {
			break
		}
		der, ok := readCertificateStatus(msg[4:])
		if !ok {
			m.HS.OCSPStapled = true
			bad()
			break
		}
		m.staple(der, false, &ladder)
	case typeFinished:
		if e != EpochPlaintext {
			// A Finished read with keys: the real end of that side's part.
			m.sides[side].finished = true
			m.noteFinished(t)
			if isTLS13(m.version()) {
				// RFC 8446 §7.3: what it sends next is under its
				// application traffic secret.
				m.setEpoch(side, EpochApplication)
			}
			if c := m.HS.Finished[side]; c != FinishedUnchecked {
				ladder.Note = "verify_data " + c.String()
			}
		}
	}
	m.mark(side, typ)
	m.addMessage(ladder)
}

// certificate reads a Certificate that came compressed (RFC 8879), whose
// compressed length n the ladder shows.
func (m *Machine) certificate(side Side, e Epoch, msg []byte, at Pos, n int) {
	ladder := Message{Time: at.Time, From: side, Type: MsgCompressedCertificate, Length: n, Offset: at.Offset, End: at.End, Frame: at.Frame}
	if !m.readCertificates(side, e, msg, &ladder) {
		m.problem(side, at, ProblemMalformed, "malformed Certificate in a CompressedCertificate")
		ladder.Note = "malformed"
	} else {
		ladder.Note = "decompressed: " + ladder.Note
	}
	m.mark(side, typeCertificate)
	m.addMessage(ladder)
}

// readCertificates stores the certificates of a Certificate message.
func (m *Machine) readCertificates(side Side, e Epoch, msg []byte, ladder *Message) bool {
	var cm certificateMsg
	if !cm.unmarshal(msg, e != EpochPlaintext && isTLS13(m.version())) {
		return false
	}
	var certs []*Certificate
	for _, der := range cm.certs {
		certs = append(certs, ParseCertificate(der))
	}
	if side == Server {
		m.HS.ServerCertificates = certs
	} else {
		m.HS.ClientCertificates = certs
	}
	ladder.Note = fmt.Sprintf("chain of %d", len(certs))
	if len(certs) > 0 && certs[0].CommonName != "" {
		ladder.Note += ", CN " + certs[0].CommonName
	}
	if side == Server && cm.status != nil {
		// RFC 8446 §4.4.2.1: the leaf's entry carries the staple.
		m.staple(cm.status, true, ladder)
	}
	return true
}

func helloNote(ch *ClientHello) string {
	s := VersionName(ch.MaxVersion())
	if ch.ServerName != "" {
		s += ", SNI " + ch.ServerName
	}
	return s + fmt.Sprintf(", %d suites", len(ch.CipherSuites))
}
