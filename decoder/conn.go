package decoder

import (
	"errors"
	"fmt"
	"time"
)

// Conn rebuilds the handshake of one TCP connection from its two byte
// streams: per direction a record layer (framing, resynchronisation), a
// protection step (a no-op without keys) and a handshake message reader,
// all feeding one handshake Machine. It knows nothing of packets: the
// caller feeds each direction's reassembled bytes in capture order with
// their capture time.
type Conn struct {
	m    Machine
	rl   [2]recordLayer   // by Dir
	prot [2]protection    // by Dir
	hr   [2]MessageReader // by Dir
	// budget, when set, bounds what all connections buffer; charged is
	// this one's share of it.
	budget     *Budget
	charged    int64
	overBudget bool
	// roles: the client's Dir, the caller's when it knew (rolesKnown),
	// else decided once by the first hello.
	roles
	rolesKnown bool
	// lost: bytes of this Dir never reached the peer (Lost); what comes
	// after is listed but moves the handshake no further.
	lost  [2]bool
	reset bool // Reset: what comes now reached no live peer
	watch bool // the verdict is in: see watch.go
	// progress is what each Dir was in the middle of sending when the
	// buffers were released (inProgress); nil before, and when nothing was.
	released bool
	progress *[2]inProgressMsg
	frame    int64 // SetFrame
}

// NewConn starts a connection. rolesKnown says the caller saw the SYN and
// so knows that Dir 0 is the client; otherwise the first hello decides.
func NewConn(rolesKnown bool) *Conn {
	c := &Conn{rolesKnown: rolesKnown}
	c.m.records = c
	return c
}

// inProgressMsg is a message or record begun and not ended.
type inProgressMsg struct {
	typ     MsgType
	n, have int
}

// SetKeys gives the connection a source of record keys. The machine then
// keeps the handshake's transcript, to check the Finished messages.
func (c *Conn) SetKeys(k Keys) {
	c.m.kt = nil
	if k != nil {
		c.m.kt = &keyed{keys: k}
	}
}

// keyLog is the source of record keys SetKeys gave (nil: none). It is
// kept once, in the machine's keyed state: a connection without keys
// pays no word for it.
func (c *Conn) keyLog() Keys {
	if c.m.kt == nil {
		return nil
	}
	return c.m.kt.keys
}

// enter follows the machine's epochs in the record layer's protection.
func (c *Conn) enter(side Side, e Epoch) { c.protect(side, e, &c.m.HS) }

// protect puts side's records in epoch e, under the keys of handshake hs.
func (c *Conn) protect(side Side, e Epoch, hs *Handshake) {
	var rc RecordCipher
	why := errNoKeys
	if keys := c.keyLog(); keys != nil {
		rc, why = keys.Cipher(side, e, hs)
		if rc != nil {
			why = nil
		} else if why == nil {
			why = errNoKeys
		}
	}
	c.prot[c.dirOf(side)].enter(e, rc, why, c.keyLog() != nil)
}

// lateKeys looks the keys up again for a direction that had none: live,
// the client writes its key log while we capture, and the line may come
// after the epoch began. A cipher that keeps state from record to record
// (TLS 1.0's chained IV, RC4) cannot start in the middle: only one whose
// records stand alone (an AEAD, with the sequence number counted) can.
func (c *Conn) lateKeys(side Side, p *protection) {
	rc, err := c.keyLog().Cipher(side, p.epoch, &c.m.HS)
	if err != nil || rc == nil {
		return
	}
	if s, ok := rc.(interface{ stateful() bool }); ok && s.stateful() && p.seq > 0 {
		return
	}
	p.cipher, p.counts.missing, p.counts.late = rc, nil, p.seq > 0
}

// keyUpdate follows a KeyUpdate of side's (RFC 8446 §4.6.3).
func (c *Conn) keyUpdate(side Side) { c.prot[c.dirOf(side)].keyUpdate() }

// decideRoles takes the first hello's word for who is who, once.
func (c *Conn) decideRoles(d Dir, clientHello bool) {
	if c.rolesKnown || c.m.anyHello {
		return
	}
	client := d
	if !clientHello {
		client = 1 - d
	}
	if client != c.clientDir {
		c.clientDir = client
		c.m.relabel()
	}
}

// SetMidstream marks a connection whose start was not captured: its streams
// may begin inside a record.
func (c *Conn) SetMidstream() {
	c.m.HS.Midstream = true
	c.rl[0].mode, c.rl[1].mode = frameResync, frameResync
}

// Midstream reports whether the connection's start was not captured.
func (c *Conn) Midstream() bool { return c.m.HS.Midstream }

// TunnelStarted reports whether the client's hello was read after
// plaintext (a SOCKS or CONNECT exchange, a STARTTLS dialogue).
func (c *Conn) TunnelStarted() bool {
	return c.m.HS.ClientHello != nil && c.rl[c.dirOf(Client)].preamble > 0
}

// ServerHelloSeen reports whether the server's hello was read.
func (c *Conn) ServerHelloSeen() bool { return c.m.HS.ServerHello != nil }

// Messages is the ladder so far (read-only, and only until the next Feed).
func (c *Conn) Messages() []Message { return c.m.HS.Messages }

// Feed gives the decoder bytes that direction d sent, available at time t.
func (c *Conn) Feed(d Dir, data []byte, t time.Time) {
	l := &c.rl[d]
	if l.mode == frameDead || len(data) == 0 {
		l.offset += int64(len(data))
		return
	}
	l.lastFrame, l.lastAt = c.frame, t
	if len(l.buf) == 0 {
		// Common case: parse in place, keep only a trailing partial record.
		l.buf = data
		c.process(d, t)
		if len(l.buf) > 0 {
			// Keep the partial record, with room for the rest of it.
			l.buf = append(make([]byte, 0, l.partialRecordLen()), l.buf...)
		}
		c.account(d)
		return
	}
	l.buf = append(l.buf, data...)
	c.process(d, t)
	if len(l.buf) == 0 {
		l.buf = nil
	}
	c.account(d)
}

// SetFrame says the Wireshark frame number of the packet whose bytes are
// fed next: each record, and the messages it completes, is placed in the
// frame of its last byte, where Wireshark shows what it reassembled.
func (c *Conn) SetFrame(n int64) { c.frame = n }

// Gap tells the decoder that n bytes from direction d are missing from the
// capture, though the peer received them.
func (c *Conn) Gap(d Dir, n int, t time.Time) {
	c.cutRecord(d, false)
	c.skip(d, n)
	c.m.problem(c.role(d), Pos{Time: t, Frame: c.frame}, ProblemCaptureGap, fmt.Sprintf("capture gap: %d bytes missing", n))
	c.account(d)
}

// Lost tells the decoder that n bytes from direction d never reached the
// peer (lost in the network: the peer never acknowledged them), and will
// not: the records found after them are listed, but the peer never saw
// them, so they do not move the handshake on.
func (c *Conn) Lost(d Dir, n int, t time.Time) {
	c.cutRecord(d, true)
	c.skip(d, n)
	c.lost[d] = true
	c.m.observed = true // what was lost was the start of something
	c.account(d)
}

// cutRecord keeps what a hole in the stream would drop with the record it
// cuts: the plaintext handshake messages whole before it go on as a record
// of their own, and the message it cuts is listed (its type and length are
// in its header), though it cannot be read. lost: the hole was lost in the
// network, so the peer never had that message.
func (c *Conn) cutRecord(d Dir, lost bool) {
	l := &c.rl[d]
	b := l.buf
	if l.mode != frameRecords || len(b) < 5 || b[0] != recordHandshake || c.prot[d].protected() || len(c.hr[d].buf) > 0 || c.hr[d].skip > 0 {
		return
	}
	n := int(b[3])<<8 | int(b[4])
	body := b[5:min(len(b), 5+n)]
	whole := 0
	for whole+4 <= len(body) {
		m := 4 + (int(body[whole+1])<<16 | int(body[whole+2])<<8 | int(body[whole+3]))
		if whole+m > len(body) {
			break
		}
		whole += m
	}
	if whole > 0 {
		at := c.frame
		c.frame = l.lastFrame // they came with the bytes before the hole
		c.record(d, record{typ: recordHandshake, version: uint16(b[1])<<8 | uint16(b[2]), body: body[:whole], offset: l.offset, end: l.offset + 5 + int64(whole)}, l.lastAt)
		c.frame = at
	}
	if whole+4 > len(body) || !MsgType(body[whole]).IsHandshake() || handshakeTypeNames[body[whole]] == "" {
		return
	}
	total := int(body[whole+1])<<16 | int(body[whole+2])<<8 | int(body[whole+3])
	why := "cut by a capture gap"
	if lost {
		why = "cut by bytes lost in the network"
	}
	// Its captured bytes' frame and time: the last before the hole.
	side := c.role(d)
	c.m.addMessage(Message{Time: l.lastAt, From: side, Type: MsgType(body[whole]), Length: total, Undelivered: lost || c.lost[d] || c.reset,
		Offset: l.offset, End: l.offset + 5 + int64(n), Frame: l.lastFrame,
		Note: fmt.Sprintf("%s: %d of its %d bytes captured", why, len(body)-whole-4, total)})
}

func (c *Conn) skip(d Dir, n int) {
	c.prot[d].lostRecords()
	l := &c.rl[d]
	l.gaps += int64(n)
	l.offset += int64(len(l.buf)) + int64(n)
	l.buf = nil
	c.hr[d].Release()
	if l.mode != frameDead {
		l.mode = frameResync
	}
}

// Closed tells the decoder that direction d sent its last byte at t (FIN
// or RST): an alert-sized record just before proves an alert.
func (c *Conn) Closed(d Dir, t time.Time) { c.m.Closed(c.role(d), t) }

// Reset tells the decoder that the connection was reset: bytes after it
// reached no live peer (a reset injected on the path, after which the
// named sender goes on), so they are listed but not judged.
func (c *Conn) Reset() { c.reset = true }

// Release drops the bytes buffered for records and messages not yet
// complete: the caller feeds no more (the verdict is in).
func (c *Conn) Release() {
	if !c.released {
		var prog [2]inProgressMsg
		for d := range prog {
			p := &prog[d]
			p.typ, p.n, p.have = c.inProgress(Dir(d))
		}
		if prog != ([2]inProgressMsg{}) {
			c.progress = &prog
		}
		c.released = true
	}
	for i := range c.rl {
		c.rl[i].buf = nil
		c.hr[i].Release()
	}
	if c.budget != nil {
		c.budget.used -= c.charged
		c.charged = 0
	}
}

// Snapshot returns a copy of the handshake so far that the decoder will
// not write again, sides by role.
func (c *Conn) Snapshot() *Handshake {
	hs := c.m.HS.clone()
	cd, sd := c.dirOf(Client), c.dirOf(Server)
	hs.Preamble = [2]int64{c.rl[cd].preamble, c.rl[sd].preamble}
	hs.Bytes = [2]int64{c.rl[cd].bytes, c.rl[sd].bytes}
	hs.Decryption = c.decryption()
	return hs
}

// record passes a framed record through its direction's protection to
// the machine.
func (c *Conn) record(d Dir, rec record, t time.Time) {
	side := c.role(d)
	at := Pos{Time: t, Offset: rec.offset, End: rec.end, Frame: c.frame}
	if c.lost[d] || c.reset {
		why := "after bytes lost in the network"
		if !c.lost[d] {
			why = "after the connection was reset"
		}
		c.m.undelivered(side, rec.typ, rec.body, c.prot[d].protected(), at, why)
		return
	}
	p := &c.prot[d]
	typ, body := rec.typ, rec.body
	if typ == recordChangeCipherSpec && (!p.protected() || len(body) == 1 || isTLS13(c.m.version())) {
		// It announces the switch (RFC 5246 §7.1), or is TLS 1.3's
		// compatibility record (RFC 8446 §5): in the clear but in a
		// renegotiation, where the current keys protect it.
		c.m.ChangeCipherSpec(side, len(body), at)
		return
	}
	if typ == recordAlert && p.protected() && clearAlert(c.m.version(), body) {
		// Sent in the clear though the direction is protected: the sender
		// had not yet switched its keys (OpenSSL's TLS 1.3 client refusing
		// the server's certificate). Not a protected record: no sequence
		// number is spent on it.
		c.m.AlertRecord(side, EpochPlaintext, body, at)
		return
	}
	epoch := p.epoch
	if p.cipher == nil && p.counts != nil && errors.Is(p.counts.missing, errNoKeys) && p.protected() {
		c.lateKeys(side, p)
	}
	if c.watch && p.cipher != nil && !c.watched(side, typ, len(body)) {
		p.pass(body)
		return
	}
	inner, plain, err := p.open(typ, rec.version, body)
	if err != nil && epoch == EpochEarlyData && c.m.HS.ServerHello != nil && badMAC(err) {
		// The server turned the early data down: the client's records are
		// under its handshake secret already.
		p.counts.unopened[EpochEarlyData]--
		p.counts.wrong[EpochEarlyData] = false
		c.enter(side, EpochHandshake)
		epoch = EpochHandshake
		inner, plain, err = p.open(typ, rec.version, body)
	}
	if err != nil {
		// Protected, and not opened.
		switch typ {
		case recordChangeCipherSpec:
			c.m.ChangeCipherSpec(side, len(body), at)
		case recordAlert:
			c.m.EncryptedAlert(side, len(body), at)
		case recordHandshake:
			c.m.EncryptedHandshake(side, len(body), at)
		case recordApplicationData:
			c.m.ApplicationData(side, len(body), true, at)
		case recordHeartbeat:
			c.m.Heartbeat(side, len(body), true, at)
		}
		return
	}
	switch inner {
	case recordChangeCipherSpec:
		c.m.ChangeCipherSpec(side, len(body), at)
	case recordAlert:
		c.m.AlertRecord(side, epoch, plain, at)
	case recordHandshake:
		c.m.touch(side, t)
		if c.rl[d].headersOnly {
			return // over the budget: messages are no longer read
		}
		c.handshakeRecord(d, epoch, plain, at)
	case recordApplicationData:
		// Plaintext application data: a midstream capture, or opened.
		c.m.ApplicationData(side, len(plain), epoch == EpochPlaintext, at)
	case recordHeartbeat:
		c.m.Heartbeat(side, len(plain), false, at)
	}
}

// handshakeRecord cuts a handshake record's bytes into messages.
func (c *Conn) handshakeRecord(d Dir, e Epoch, body []byte, at Pos) {
	r := &c.hr[d]
	r.Write(body, at.Offset)
	for {
		msg, off, over, typ, n := r.Next()
		if over {
			c.m.OverCap(c.role(d), typ, n, Pos{Time: at.Time, Offset: off, End: at.End, Frame: at.Frame})
			return
		}
		if msg == nil {
			break
		}
		if typ == typeClientHello || typ == typeServerHello {
			c.decideRoles(d, typ == typeClientHello)
		}
		c.m.Message(c.role(d), e, msg, Pos{Time: at.Time, Offset: off, End: at.End, Frame: at.Frame})
	}
	r.Compact()
}

// clearAlert reports an alert record that cannot be protected: in TLS 1.3
// every protected record has the outer type application_data (RFC 8446
// §5.2), so one of type alert is plaintext; in any version a 2-byte body
// is, for every cipher adds a tag, a MAC or an explicit IV.
func clearAlert(v uint16, body []byte) bool {
	return plainAlerts(body) && (len(body) == 2 || isTLS13(v))
}
