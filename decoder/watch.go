package decoder

// After the verdict, with keys, a connection is watched rather than read:
// its records are framed and counted, so that the sequence numbers stay
// right, but only those that can be an alert or a post-handshake message
// are opened. The alerts that close a connection (close_notify, or a
// fatal one after the application data) are then named, and the tickets
// and key updates read, at the cost of framing and of opening the TLS 1.3
// server's records.

// skipper is a RecordCipher that can move past a record without opening
// it, keeping what a later record depends on (TLS 1.0's chained IV, RC4's
// key stream).
type skipper interface{ skip(body []byte) }

func (c *cipher13) skip([]byte) {} // the nonce is the sequence number
func (c *aead12) skip([]byte)   {} // likewise, with an explicit part

func (c *cbc12) skip(body []byte) {
	if c.chained == nil {
		return
	}
	enc := body
	if c.etm && len(enc) >= c.mac.Size() {
		enc = enc[:len(enc)-c.mac.Size()]
	}
	if bs := c.block.BlockSize(); len(enc) >= bs && len(enc)%bs == 0 {
		c.advance(enc)
	}
}

func (c *stream12) skip(body []byte) {
	if c.rc4 == nil {
		return
	}
	if cap(c.buf) < len(body) {
		c.buf = make([]byte, len(body))
	}
	c.rc4.XORKeyStream(c.buf[:len(body)], body)
}

// pass counts a protected record that is not opened.
func (p *protection) pass(body []byte) {
	if s, ok := p.cipher.(skipper); ok {
		s.skip(body)
		p.seq++
		return
	}
	p.cipher = nil // cannot keep up: stop here
	if p.counts != nil {
		p.counts.missing = errNoKeys
	}
}

// Watch says the verdict is in: from now on records are framed and
// counted, and only those that may be an alert or a post-handshake
// message opened. It
// reports whether there is anything to watch (a direction has keys).
func (c *Conn) Watch() bool {
	if c.keyLog() == nil || (c.prot[0].cipher == nil && c.prot[1].cipher == nil) {
		return false
	}
	c.watch = true
	return true
}

// watched reports whether a record from side is to be opened while
// watching. In TLS 1.3 the type is hidden: the client's small ones (an
// alert is 19 to 24 bytes, a KeyUpdate 22), and every one of the
// server's, whose post-handshake messages (NewSessionTicket, KeyUpdate)
// may come after its application data, as GnuTLS sends its tickets. In
// TLS 1.2 and earlier those of type alert, and the handshake and
// ChangeCipherSpec of a renegotiation.
func (c *Conn) watched(side Side, typ uint8, n int) bool {
	if isTLS13(c.m.version()) {
		return n <= 64 || side == Server
	}
	return typ != recordApplicationData
}

// stateful reports a cipher whose records depend on those before them.
func (c *cbc12) stateful() bool    { return c.chained != nil }
func (c *stream12) stateful() bool { return c.rc4 != nil }
