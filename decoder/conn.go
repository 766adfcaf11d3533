package decoder

import (
	"bytes"
	"fmt"
	"time"
)

// Side is one end of a connection.
type Side uint8

const (
	Client Side = 0
	Server Side = 1
)

func (s Side) String() string {
	if s == Client {
		return "client"
	}
	return "server"
}

// Other returns the peer.
func (s Side) Other() Side { return 1 - s }

// Limits that keep memory bounded whatever the input says.
const (
	// maxHandshakeMessage is the largest handshake message buffered;
	// crypto/tls allows 256 KiB for a certificate chain.
	maxHandshakeMessage = 256 << 10
	// maxRecordLength is 2^14 plus the expansion TLS 1.2 allows
	// (RFC 5246 §6.2.3); TLS 1.3 allows less.
	maxRecordLength = 16384 + 2048
	// maxPreamble is how much plaintext may precede a ClientHello
	// (STARTTLS dialogue, HTTP CONNECT, SOCKS) before a stream is judged
	// not to be TLS.
	maxPreamble = 16 << 10
	// maxMessages bounds the ladder kept per connection.
	maxMessages = 96
)

// Message is one entry of the handshake ladder.
type Message struct {
	Time      time.Time
	From      Side
	Type      string // "ClientHello", "ChangeCipherSpec", "Alert", "ApplicationData", ...
	Length    int
	Encrypted bool
	Offset    int64 // stream offset of the record that carried its first byte
	End       int64 // stream offset just past its last record
	Note      string
}

// Problem is something in the bytes that could not be decoded as TLS.
type Problem struct {
	Time time.Time
	From Side
	Err  string
}

// Handshake is everything visible of one connection's TLS handshake.
type Handshake struct {
	ClientHello          *ClientHello
	RetryClientHello     *ClientHello // second ClientHello after a HelloRetryRequest
	HelloRetryRequest    *ServerHello
	ServerHello          *ServerHello
	ServerCertificates   []*Certificate
	ClientCertificates   []*Certificate
	CertificateRequested bool
	ServerKeyExchange    *ServerKeyExchange
	OCSPStapled          bool
	SessionTickets       []NewSessionTicket
	Alerts               []Alert
	Messages             []Message
	Problems             []Problem
	// Preamble counts plaintext bytes before TLS per side (STARTTLS, CONNECT).
	Preamble [2]int64
	// Gaps counts bytes missing from the capture per side.
	Gaps [2]int64
	// Bytes counts TLS record bytes per side.
	Bytes [2]int64
	// Midstream: the capture began after the connection had started.
	Midstream bool
	// MessagesDropped counts ladder entries beyond maxMessages.
	MessagesDropped int
}

// Version is the negotiated protocol version, or 0 before a ServerHello.
func (h *Handshake) Version() uint16 {
	if h.ServerHello != nil {
		if h.ServerHello.SSLv2 {
			return VersionSSL20
		}
		return h.ServerHello.NegotiatedVersion()
	}
	return 0
}

type halfMode uint8

const (
	modeDetect  halfMode = iota // looking for the first TLS record
	modeRecords                 // TLS records
	modeSSLv2                   // SSL 2.0 records
	modeResync                  // lost sync after a gap or midstream start
	modeDead                    // not TLS, or undecodable: ignored
)

// half is the parse state of one direction.
type half struct {
	mode      halfMode
	buf       []byte
	offset    int64 // stream offset of buf[0]
	hs        []byte
	hsOffset  int64
	hsSkip    int  // bytes left of a handshake message over the cap
	encrypted bool // records are protected (after CCS, or TLS 1.3 keys)
	ccs       bool
	finished  bool // Finished seen (encrypted handshake after CCS)
	encCount  int  // protected records sent
	lastTLS   time.Time
	plaintext bool // bytes before TLS (preamble) were seen
	appData   int
}

// Conn rebuilds the handshake of one TCP connection from its two byte
// streams. It knows nothing of packets: the caller feeds each direction's
// reassembled bytes in capture order with their capture time.
type Conn struct {
	HS         Handshake
	h          [2]half
	flipped    bool
	rolesKnown bool
	seen       [2]uint64 // bit per handshake type seen, per side
	anyHello   bool
	// tentative: an encrypted record of alert size ended the TLS 1.3
	// handshake; more data from that side would prove it was not an alert.
	tentative  *Alert
	firstEnc   [2]time.Time
	completeAt time.Time
}

// NewConn starts a connection. rolesKnown says the caller saw the SYN and
// so knows which side is the client; otherwise the first hello decides.
func NewConn(rolesKnown bool) *Conn {
	return &Conn{rolesKnown: rolesKnown}
}

// SetMidstream marks a connection whose start was not captured: its streams
// may begin inside a record.
func (c *Conn) SetMidstream() {
	c.HS.Midstream = true
	c.h[0].mode, c.h[1].mode = modeResync, modeResync
}

// Flipped reports whether the decoder found the caller's client to be the
// server (only when roles were not known).
func (c *Conn) Flipped() bool { return c.flipped }

func (c *Conn) flip() {
	c.flipped = !c.flipped
	c.h[0], c.h[1] = c.h[1], c.h[0]
	c.HS.Preamble[0], c.HS.Preamble[1] = c.HS.Preamble[1], c.HS.Preamble[0]
	c.HS.Gaps[0], c.HS.Gaps[1] = c.HS.Gaps[1], c.HS.Gaps[0]
	c.HS.Bytes[0], c.HS.Bytes[1] = c.HS.Bytes[1], c.HS.Bytes[0]
	for i := range c.HS.Messages {
		c.HS.Messages[i].From = c.HS.Messages[i].From.Other()
	}
	for i := range c.HS.Alerts {
		c.HS.Alerts[i].From = c.HS.Alerts[i].From.Other()
	}
	for i := range c.HS.Problems {
		c.HS.Problems[i].From = c.HS.Problems[i].From.Other()
	}
}

// Feed gives the decoder bytes that side sent, available at time t.
func (c *Conn) Feed(side Side, data []byte, t time.Time) {
	if c.flipped {
		side = side.Other()
	}
	h := &c.h[side]
	if h.mode == modeDead || len(data) == 0 {
		h.offset += int64(len(data))
		return
	}
	if len(h.buf) == 0 {
		// Common case: parse in place, keep only a trailing partial record.
		h.buf = data
		c.process(side, t)
		if len(h.buf) > 0 {
			// Keep the partial record, with room for the rest of it.
			h.buf = append(make([]byte, 0, h.partialRecordLen()), h.buf...)
		}
		return
	}
	h.buf = append(h.buf, data...)
	c.process(side, t)
	if len(h.buf) == 0 {
		h.buf = nil
	}
}

// Release drops the bytes buffered for records and messages not yet
// complete: the caller feeds no more (the verdict is in).
func (c *Conn) Release() {
	for i := range c.h {
		c.h[i].buf, c.h[i].hs = nil, nil
	}
}

// partialRecordLen is the room the record starting h.buf needs, as its
// header says when it is there and in records mode; never more than four
// times the bytes here, so that a length field cannot make us reserve
// memory for bytes that never come.
func (h *half) partialRecordLen() int {
	b := h.buf
	if h.mode == modeRecords && len(b) >= 5 {
		if n := 5 + (int(b[3])<<8 | int(b[4])); n > len(b) && n <= 5+maxRecordLength {
			return min(n, 4*len(b))
		}
	}
	return len(b)
}

// Gap tells the decoder that n bytes from side are missing from the capture.
func (c *Conn) Gap(side Side, n int, t time.Time) {
	if c.flipped {
		side = side.Other()
	}
	h := &c.h[side]
	c.HS.Gaps[side] += int64(n)
	h.offset += int64(len(h.buf)) + int64(n)
	h.buf, h.hs = nil, nil
	if h.mode == modeRecords || h.mode == modeSSLv2 {
		h.mode = modeResync
	}
	c.problem(side, t, fmt.Sprintf("capture gap: %d bytes missing", n))
}

func (c *Conn) problem(side Side, t time.Time, msg string) {
	if len(c.HS.Problems) < 32 {
		c.HS.Problems = append(c.HS.Problems, Problem{Time: t, From: side, Err: msg})
	}
}

func (c *Conn) addMessage(m Message) {
	if len(c.HS.Messages) >= maxMessages {
		c.HS.MessagesDropped++
		return
	}
	c.HS.Messages = append(c.HS.Messages, m)
}

func (c *Conn) consume(h *half, n int) {
	h.buf = h.buf[n:]
	h.offset += int64(n)
}

func (c *Conn) process(side Side, t time.Time) {
	for {
		h := &c.h[side]
		switch h.mode {
		case modeDead:
			h.offset += int64(len(h.buf))
			h.buf = h.buf[:0]
			return
		case modeDetect, modeResync:
			if !c.detect(side, t) {
				return
			}
		case modeRecords:
			if !c.readRecord(side, t) {
				return
			}
		case modeSSLv2:
			if !c.readSSLv2(side, t) {
				return
			}
		}
	}
}

// plausibleRecord reports whether b starts with a TLS record header that a
// stream could carry. handshakeType restricts handshake records to a first
// message of that type (-1: any known type).
func plausibleRecord(b []byte, contentTypes string, handshakeType int) bool {
	if len(b) < 5 || bytes.IndexByte([]byte(contentTypes), b[0]) < 0 || b[1] != 3 || b[2] > 4 {
		return false
	}
	n := int(b[3])<<8 | int(b[4])
	if n == 0 || n > maxRecordLength {
		return false
	}
	switch b[0] {
	case recordChangeCipherSpec:
		return n == 1
	case recordAlert:
		return n >= 2
	case recordHandshake:
		if handshakeType >= 0 {
			return len(b) >= 6 && int(b[5]) == handshakeType && n >= 4
		}
		return len(b) < 6 || handshakeTypeNames[b[5]] != ""
	}
	return true
}

// Plain-text protocols that never turn into TLS on the same stream.
var notTLSPrefixes = [][]byte{[]byte("GET "), []byte("POST "), []byte("HEAD "), []byte("PUT "),
	[]byte("HTTP/"), []byte("SSH-"), []byte("PRI * HTTP/2")}

// detect finds where TLS starts in a stream. It returns true when the mode
// changed and processing should go on.
func (c *Conn) detect(side Side, t time.Time) bool {
	h := &c.h[side]
	b := h.buf
	if len(b) == 0 {
		return false
	}
	if h.mode == modeDetect && !h.plaintext {
		// At the very start: a record, an SSL 2.0 hello, or something else.
		if len(b) < 5 {
			return false
		}
		if b[0] >= recordChangeCipherSpec && b[0] <= recordHeartbeat && b[1] == 3 && b[2] <= 4 {
			h.mode = modeRecords
			return true
		}
		if isSSLv2Hello(b) {
			h.mode = modeSSLv2
			return true
		}
		for _, p := range notTLSPrefixes {
			if side == Server && c.rolesKnown {
				break // a proxy's "HTTP/1.1 200" may come before TLS
			}
			if bytes.HasPrefix(b, p) {
				c.problem(side, t, "not TLS: stream starts with "+quoteStart(b))
				h.mode = modeDead
				return true
			}
		}
		h.plaintext = true
	}
	// Scan for the first record that can start TLS from this side.
	var i int
	found := false
	for i = 0; i+6 <= len(b); i++ {
		if b[i] < recordChangeCipherSpec || b[i] > recordApplicationData || b[i+1] != 3 {
			continue
		}
		var ok bool
		switch {
		case h.mode == modeResync:
			ok = plausibleRecord(b[i:], "\x14\x15\x16", -1) ||
				(plausibleRecord(b[i:], "\x17", -1) && c.nextRecordPlausible(b[i:]))
		case side == Client || !c.rolesKnown:
			ok = plausibleRecord(b[i:], "\x16", int(typeClientHello)) ||
				(side == Server && plausibleRecord(b[i:], "\x16", int(typeServerHello)))
		default:
			ok = plausibleRecord(b[i:], "\x16", int(typeServerHello)) ||
				(plausibleRecord(b[i:], "\x15", -1) && b[i+3] == 0 && b[i+4] == 2)
		}
		if ok {
			found = true
			break
		}
	}
	if !found {
		keep := 5
		if len(b) < keep {
			keep = len(b)
		}
		skipped := len(b) - keep
		c.HS.Preamble[side] += int64(skipped)
		c.consume(h, skipped)
		if h.mode == modeDetect && c.HS.Preamble[side] > maxPreamble {
			c.problem(side, t, fmt.Sprintf("not TLS: no TLS record in the first %d bytes", c.HS.Preamble[side]))
			h.mode = modeDead
			return true
		}
		if h.mode == modeResync && c.HS.Preamble[side] > 1<<20 {
			h.mode = modeDead
			return true
		}
		return false
	}
	c.HS.Preamble[side] += int64(i)
	c.consume(h, i)
	h.mode = modeRecords
	return true
}

// nextRecordPlausible checks, when the buffer holds it, that another record
// header follows the one at b[0]: one header alone is weak evidence in the
// middle of ciphertext.
func (c *Conn) nextRecordPlausible(b []byte) bool {
	n := int(b[3])<<8 | int(b[4])
	if len(b) < 5+n+5 {
		return len(b) >= 5+n // the record ends exactly at the buffer's end
	}
	nb := b[5+n:]
	return nb[0] >= recordChangeCipherSpec && nb[0] <= recordHeartbeat && nb[1] == 3 && nb[2] <= 4
}

func quoteStart(b []byte) string {
	if len(b) > 12 {
		b = b[:12]
	}
	return fmt.Sprintf("%q", b)
}

func isSSLv2Hello(b []byte) bool {
	// RFC 5246 §E.2: msg_length with the high bit set, msg_type 1,
	// version 0x0002 or 0x03XX.
	if len(b) < 5 || b[0]&0x80 == 0 {
		return false
	}
	n := int(b[0]&0x7f)<<8 | int(b[1])
	return n >= 9 && b[2] == 1 && (b[3] == 0 && b[4] == 2 || b[3] == 3 && b[4] <= 4)
}

func (c *Conn) readRecord(side Side, t time.Time) bool {
	h := &c.h[side]
	b := h.buf
	if len(b) < 5 {
		return false
	}
	typ, ver, n := b[0], uint16(b[1])<<8|uint16(b[2]), int(b[3])<<8|int(b[4])
	if (typ < recordChangeCipherSpec || typ > recordHeartbeat) && b[1] == 3 && b[2] <= 4 && n <= maxRecordLength && (typ >= 25 && typ < 64 || typ < 20) {
		// A well-formed header of a content type we do not know (RFC 8446
		// §5 lets peers define new ones): note it and skip the record.
		if len(b) < 5+n {
			return false
		}
		c.problem(side, t, fmt.Sprintf("record of unknown content type %d skipped", typ))
		c.consume(h, 5+n)
		return true
	}
	if typ < recordChangeCipherSpec || typ > recordHeartbeat || b[1] != 3 && b[1] != 0x7f && !(b[1] == 0 && typ != recordHandshake) {
		if h.encrypted || c.HS.Midstream {
			c.problem(side, t, fmt.Sprintf("lost record sync at offset %d (type %d, version 0x%04x)", h.offset, typ, ver))
			h.mode = modeResync
			return true
		}
		if isSSLv2Hello(b) {
			h.mode = modeSSLv2
			return true
		}
		c.problem(side, t, fmt.Sprintf("not a TLS record at offset %d (type %d, version 0x%04x)", h.offset, typ, ver))
		h.mode = modeDead
		return true
	}
	if n > maxRecordLength {
		c.problem(side, t, fmt.Sprintf("record length %d exceeds the maximum %d", n, maxRecordLength))
		h.mode = modeDead
		return true
	}
	if len(b) < 5+n {
		return false
	}
	body := b[5 : 5+n]
	start := h.offset
	c.consume(h, 5+n)
	c.HS.Bytes[side] += int64(5 + n)
	c.record(side, typ, body, start, t)
	return true
}

func (c *Conn) version() uint16 { return c.HS.Version() }

func (c *Conn) record(side Side, typ uint8, body []byte, offset int64, t time.Time) {
	h := &c.h[side]
	h.lastTLS = t
	end := offset + 5 + int64(len(body))
	tls13 := isTLS13(c.version())
	switch typ {
	case recordChangeCipherSpec:
		c.addMessage(Message{Time: t, From: side, Type: "ChangeCipherSpec", Length: len(body), Offset: offset, End: end})
		h.ccs = true
		// Before a ServerHello the version is unknown: a CCS then is
		// TLS 1.3's middlebox compatibility one (RFC 8446 §D.4), as it is
		// after a HelloRetryRequest. Only TLS 1.2 and earlier encrypt after it.
		v := c.version()
		if v == 0 && c.HS.ClientHello != nil && !isTLS13(c.HS.ClientHello.MaxVersion()) && c.HS.HelloRetryRequest == nil {
			v = c.HS.ClientHello.MaxVersion() // no TLS 1.3 offered: a real CCS
		}
		if v != 0 && !isTLS13(v) {
			h.encrypted = true
		}
	case recordAlert:
		if h.encrypted || h.appData > 0 || !plainAlerts(body) {
			a := Alert{From: side, Encrypted: true}
			c.HS.Alerts = append(c.HS.Alerts, a)
			c.addMessage(Message{Time: t, From: side, Type: "Alert", Length: len(body), Encrypted: true, Offset: offset, End: end})
			return
		}
		for i := 0; i+2 <= len(body); i += 2 {
			a := Alert{From: side, Level: body[i], Description: body[i+1]}
			c.HS.Alerts = append(c.HS.Alerts, a)
			c.addMessage(Message{Time: t, From: side, Type: "Alert", Length: 2, Offset: offset, End: end,
				Note: a.LevelName() + " " + a.DescriptionName()})
		}
	case recordHandshake:
		if h.encrypted {
			name := "EncryptedHandshake"
			if h.ccs && !h.finished {
				name = "Finished"
				h.finished = true
				c.noteFinished(side, t)
			}
			h.encCount++
			c.addMessage(Message{Time: t, From: side, Type: name, Length: len(body), Encrypted: true, Offset: offset, End: end})
			return
		}
		if h.hsSkip > 0 {
			// Inside a message over the cap: drop its bytes, keep the rest.
			n := min(h.hsSkip, len(body))
			h.hsSkip -= n
			body = body[n:]
			if len(body) == 0 {
				return
			}
		}
		if len(h.hs) == 0 {
			h.hsOffset = offset
		}
		h.hs = append(h.hs, body...)
		for len(h.hs) >= 4 {
			n := int(h.hs[1])<<16 | int(h.hs[2])<<8 | int(h.hs[3])
			if n > maxHandshakeMessage {
				// Too big to buffer: note it, skip its bytes, and go on with
				// the messages after it.
				typ := h.hs[0]
				c.problem(side, t, fmt.Sprintf("%s of %d bytes exceeds the %d KiB cap and was not decoded", HandshakeTypeName(typ), n, maxHandshakeMessage>>10))
				c.mark(side, typ)
				c.addMessage(Message{Time: t, From: side, Type: HandshakeTypeName(typ), Length: n, Offset: h.hsOffset, End: end, Note: "over the cap, not decoded"})
				h.hsSkip = 4 + n - len(h.hs)
				h.hs = nil
				return
			}
			if len(h.hs) < 4+n {
				break
			}
			msg := h.hs[:4+n]
			h.hs = h.hs[4+n:]
			c.handshake(side, msg, h.hsOffset, end, t)
			h = &c.h[side] // c.handshake may flip the halves
			h.hsOffset = offset
		}
		if len(h.hs) == 0 {
			h.hs = nil
		} else {
			// Keep the partial message apart from those parsed, with room
			// for more of it: up to four times what came, so that a length
			// field alone cannot make us reserve memory.
			room := len(h.hs)
			if len(h.hs) >= 4 {
				room = min(4+(int(h.hs[1])<<16|int(h.hs[2])<<8|int(h.hs[3])), 4*len(h.hs))
			}
			h.hs = append(make([]byte, 0, room), h.hs...)
		}
	case recordApplicationData:
		h.appData++
		if tls13 && c.HS.ServerHello != nil {
			h.encCount++
			c.encrypted13(side, len(body), offset, end, t)
			return
		}
		if h.appData <= 2 {
			c.addMessage(Message{Time: t, From: side, Type: "ApplicationData", Length: len(body), Encrypted: true, Offset: offset, End: end})
		}
	case recordHeartbeat:
		c.addMessage(Message{Time: t, From: side, Type: "Heartbeat", Length: len(body), Encrypted: h.encrypted, Offset: offset, End: end})
	}
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

// alertSized: an encrypted TLS 1.3 record holding a 2-byte alert, its
// inner content type and a 16-byte (or 8-byte, CCM_8) tag; a Finished
// needs at least 32+1+8 bytes.
func alertSized(n int) bool { return n <= 24 }

// encrypted13 handles a protected record of TLS 1.3 (RFC 8446 §5.2).
func (c *Conn) encrypted13(side Side, n int, offset, end int64, t time.Time) {
	h := &c.h[side]
	if c.tentative != nil && c.tentative.From == side {
		c.tentative = nil // it went on talking: not an alert after all
	}
	if h.encCount == 1 {
		c.firstEnc[side] = t
		switch {
		case alertSized(n) && c.completeAt.IsZero():
			a := Alert{From: side, Encrypted: true, Probable: true}
			c.tentative = &a
			c.addMessage(Message{Time: t, From: side, Type: "Alert", Length: n, Encrypted: true, Offset: offset, End: end, Note: "probable encrypted alert"})
			return
		case side == Server:
			// The server's flight ends with its Finished (RFC 8446 §2).
			h.finished = true
			c.addMessage(Message{Time: t, From: side, Type: "EncryptedHandshake", Length: n, Encrypted: true, Offset: offset, End: end,
				Note: "EncryptedExtensions…Finished"})
			return
		default:
			c.addMessage(Message{Time: t, From: side, Type: "Finished", Length: n, Encrypted: true, Offset: offset, End: end})
			if c.firstEnc[Server].IsZero() {
				return
			}
			h.finished = true
			c.noteFinished(side, t)
			return
		}
	}
	if side == Server && c.firstEnc[Client].IsZero() {
		// More of the server's encrypted flight.
		if last := len(c.HS.Messages) - 1; last >= 0 && c.HS.Messages[last].Type == "EncryptedHandshake" && c.HS.Messages[last].From == Server {
			c.HS.Messages[last].Length += n
			c.HS.Messages[last].End = end
			return
		}
	}
	if h.encCount <= 3 {
		c.addMessage(Message{Time: t, From: side, Type: "ApplicationData", Length: n, Encrypted: true, Offset: offset, End: end})
	}
}

func (c *Conn) noteFinished(side Side, t time.Time) {
	if c.completeAt.IsZero() && c.h[Client].finished && c.h[Server].finished {
		c.completeAt = t
	}
}

func (c *Conn) mark(side Side, typ uint8) {
	if typ < 64 {
		c.seen[side] |= 1 << typ
	}
}

func (c *Conn) has(side Side, typ uint8) bool { return typ < 64 && c.seen[side]&(1<<typ) != 0 }

func (c *Conn) handshake(side Side, msg []byte, offset, end int64, t time.Time) {
	typ := msg[0]
	// Without a SYN, the first hello tells who is who.
	if !c.rolesKnown && !c.anyHello {
		if (typ == typeClientHello && side == Server) || (typ == typeServerHello && side == Client) {
			c.flip()
			side = side.Other()
		}
	}
	if typ == typeClientHello || typ == typeServerHello {
		c.anyHello = true
	}
	m := Message{Time: t, From: side, Type: HandshakeTypeName(typ), Length: len(msg) - 4, Offset: offset, End: end}
	bad := func() {
		c.problem(side, t, "malformed "+m.Type)
		m.Note = "malformed"
	}
	switch typ {
	case typeClientHello:
		ch := new(ClientHello)
		if !ch.unmarshal(msg) {
			bad()
			break
		}
		ch.detach()
		switch {
		case c.HS.ClientHello == nil:
			c.HS.ClientHello = ch
		case c.HS.RetryClientHello == nil && (c.HS.HelloRetryRequest != nil || c.HS.ServerHello == nil):
			// After a HelloRetryRequest, or one the capture missed.
			c.HS.RetryClientHello = ch
			if c.HS.HelloRetryRequest == nil {
				c.problem(side, t, "a second ClientHello without a HelloRetryRequest in the capture")
			}
		default:
			c.problem(side, t, "another ClientHello in the same connection")
		}
		m.Note = helloNote(ch)
		if ch.Malformed != "" {
			c.problem(side, t, "ClientHello: "+ch.Malformed)
			m.Note += " (" + ch.Malformed + ")"
		}
	case typeServerHello:
		sh := new(ServerHello)
		if !sh.unmarshal(msg) {
			bad()
			break
		}
		sh.detach()
		if sh.HelloRetryRequest {
			m.Type = "HelloRetryRequest"
			c.HS.HelloRetryRequest = sh
			m.Note = "group " + GroupName(sh.KeyShareGroup)
			break
		}
		if c.HS.ServerHello == nil {
			c.HS.ServerHello = sh
		}
		v := sh.NegotiatedVersion()
		m.Note = VersionName(v) + ", " + CipherSuiteName(sh.CipherSuite)
		if isTLS13(v) {
			// RFC 8446 §2: everything after the ServerHello is protected.
			c.h[Server].encrypted = true
			c.h[Client].encrypted = true
		}
	case typeCertificate:
		var cm certificateMsg
		if !cm.unmarshal(msg, false) {
			bad()
			break
		}
		var certs []*Certificate
		for _, der := range cm.certs {
			certs = append(certs, ParseCertificate(der))
		}
		if side == Server {
			c.HS.ServerCertificates = certs
		} else {
			c.HS.ClientCertificates = certs
		}
		m.Note = fmt.Sprintf("%d certificates", len(certs))
		if len(certs) > 0 && certs[0].CommonName != "" {
			m.Note += ", CN " + certs[0].CommonName
		}
	case typeServerKeyExchange:
		if c.HS.ServerHello == nil {
			break
		}
		ske := new(ServerKeyExchange)
		if !ske.unmarshal(msg, CipherSuite(c.HS.ServerHello.CipherSuite), c.version()) {
			bad()
			break
		}
		c.HS.ServerKeyExchange = ske
		if ske.Group != 0 {
			m.Note = GroupName(ske.Group)
		} else if ske.DHBits != 0 {
			m.Note = fmt.Sprintf("DH %d bits", ske.DHBits)
		}
	case typeCertificateRequest:
		c.HS.CertificateRequested = true
	case typeNewSessionTicket:
		var nst NewSessionTicket
		if !nst.unmarshal(msg) {
			bad()
			break
		}
		c.HS.SessionTickets = append(c.HS.SessionTickets, nst)
		m.Note = fmt.Sprintf("lifetime %d s, ticket %d bytes", nst.LifetimeHint, nst.TicketLength)
	case typeCertificateStatus:
		c.HS.OCSPStapled = true
	}
	c.mark(side, typ)
	c.addMessage(m)
}

func helloNote(ch *ClientHello) string {
	s := VersionName(ch.MaxVersion())
	if ch.ServerName != "" {
		s += ", SNI " + ch.ServerName
	}
	return s + fmt.Sprintf(", %d suites", len(ch.CipherSuites))
}

// readSSLv2 reads SSL 2.0 records (draft-hickman-netscape-ssl-00 §1.2).
func (c *Conn) readSSLv2(side Side, t time.Time) bool {
	h := &c.h[side]
	b := h.buf
	if len(b) < 3 {
		return false
	}
	hdr, n := 2, int(b[0]&0x7f)<<8|int(b[1])
	if b[0]&0x80 == 0 {
		hdr, n = 3, int(b[0]&0x3f)<<8|int(b[1])
	}
	if len(b) < hdr+n {
		return false
	}
	body := b[hdr : hdr+n]
	start := h.offset
	c.consume(h, hdr+n)
	c.HS.Bytes[side] += int64(hdr + n)
	h.lastTLS = t
	if len(body) == 0 {
		return true
	}
	m := Message{Time: t, From: side, Length: n, Offset: start, End: h.offset}
	switch {
	case !h.encrypted && body[0] == 1 && c.HS.ClientHello == nil:
		if !c.rolesKnown && side == Server {
			c.flip()
			side, h = Client, &c.h[Client]
			m.From = Client
		}
		c.anyHello = true
		ch := new(ClientHello)
		if !ch.unmarshalSSLv2(body) {
			c.problem(side, t, "malformed SSL 2.0 ClientHello")
			h.mode = modeDead
			return true
		}
		c.HS.ClientHello = ch
		m.Type, m.Note = "ClientHello", "SSL 2.0 format, "+helloNote(ch)
		c.mark(side, typeClientHello)
		if ch.Version != VersionSSL20 {
			// The rest of the connection speaks SSL 3.0 or TLS records.
			h.mode = modeRecords
		}
	case !h.encrypted && body[0] == 4 && side == Server:
		// SERVER-HELLO: session_id_hit, cert type, version, lengths.
		sh := &ServerHello{Raw: body, SSLv2: true, Version: VersionSSL20}
		if len(body) >= 11 {
			sh.Version = uint16(body[3])<<8 | uint16(body[4])
			certLen := int(body[5])<<8 | int(body[6])
			if 11+certLen <= len(body) && certLen > 0 {
				c.HS.ServerCertificates = []*Certificate{ParseCertificate(body[11 : 11+certLen])}
			}
		}
		if c.HS.ServerHello == nil {
			c.HS.ServerHello = sh
		}
		m.Type, m.Note = "ServerHello", "SSL 2.0"
		c.mark(side, typeServerHello)
	case !h.encrypted && body[0] == 2 && side == Client:
		m.Type = "ClientMasterKey"
		h.encrypted, h.finished = true, true
		c.h[Server].encrypted = true
	case !h.encrypted && body[0] == 0:
		m.Type = "Error"
		if len(body) >= 3 {
			m.Note = fmt.Sprintf("SSL 2.0 error 0x%04x", uint16(body[1])<<8|uint16(body[2]))
		}
		c.HS.Alerts = append(c.HS.Alerts, Alert{From: side, Level: 2, Description: 40})
	default:
		m.Type, m.Encrypted = "EncryptedHandshake", true
		if side == Server && c.h[Client].finished {
			h.finished = true
			c.noteFinished(side, t)
		}
	}
	c.addMessage(m)
	return true
}
