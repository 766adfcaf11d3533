package decoder

import (
	"bytes"
	"fmt"
	"time"
)

// The record layer of one direction: it finds where TLS starts in a byte
// stream (after a STARTTLS dialogue, an HTTP CONNECT or a SOCKS exchange),
// frames TLS and SSL 2.0 records (RFC 8446 §5.1, RFC 5246 §6.2.1,
// draft-hickman-netscape-ssl-00 §1.2), and finds record boundaries again
// after a gap. Framed records go through the direction's protection step
// and then to the handshake machine (conn.go).

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

type framing uint8

const (
	frameDetect  framing = iota // looking for the first TLS record
	frameRecords                // TLS records
	frameSSLv2                  // SSL 2.0 records
	frameResync                 // lost sync after a gap or midstream start
	frameDead                   // not TLS, or undecodable: ignored
)

// recordLayer is the framing state of one direction.
//
// Its small fields share one word: a flood keeps 80,000 connections of
// two of these each (decoder.Conn stays within the 1024-byte size class).
type recordLayer struct {
	mode      framing
	plaintext bool // bytes before TLS (preamble) were seen
	// headersOnly: over the handshake budget, records that are not all
	// here are read past by their header (skipBody bytes left of one, at
	// most a record's 5+65535).
	headersOnly bool
	skipBody    int32
	buf         []byte
	offset      int64 // stream offset of buf[0]
	preamble    int64 // plaintext bytes skipped before TLS
	gaps        int64 // bytes missing from the capture
	bytes       int64 // TLS record bytes
	// lastFrame and lastAt are the frame and time of the last bytes fed,
	// for a record a hole cuts (cutRecord).
	lastFrame int64
	lastAt    time.Time
}

// record is one framed record.
type record struct {
	typ     uint8
	version uint16
	body    []byte
	offset  int64 // stream offset of its header
	end     int64 // stream offset just past it
}

// partialRecordLen is the room the record starting l.buf needs, as its
// header says when it is there and in records mode; never more than four
// times the bytes here, so that a length field cannot make us reserve
// memory for bytes that never come.
func (l *recordLayer) partialRecordLen() int {
	b := l.buf
	if l.mode == frameRecords && len(b) >= 5 {
		if n := 5 + (int(b[3])<<8 | int(b[4])); n > len(b) && n <= 5+maxRecordLength {
			return min(n, 4*len(b))
		}
	}
	return len(b)
}

func (l *recordLayer) consume(n int) {
	l.buf = l.buf[n:]
	l.offset += int64(n)
}

// process frames what is buffered of dir until it needs more bytes.
func (c *Conn) process(dir Dir, t time.Time) {
	for {
		l := &c.rl[dir]
		switch l.mode {
		case frameDead:
			l.offset += int64(len(l.buf))
			l.buf = l.buf[:0]
			return
		case frameDetect, frameResync:
			if !c.detect(dir, t) {
				return
			}
		case frameRecords:
			if l.skipBody > 0 {
				k := min(len(l.buf), int(l.skipBody))
				l.skipBody -= int32(k)
				l.bytes += int64(k)
				l.consume(k)
				c.m.touch(c.role(dir), t)
				if len(l.buf) == 0 {
					return
				}
				continue
			}
			if !c.readRecord(dir, t) {
				return
			}
		case frameSSLv2:
			if !c.readSSLv2(dir, t) {
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
func (c *Conn) detect(dir Dir, t time.Time) bool {
	l := &c.rl[dir]
	side := c.role(dir)
	b := l.buf
	if len(b) == 0 {
		return false
	}
	if l.mode == frameDetect && !l.plaintext {
		// At the very start: a record, an SSL 2.0 hello, or something else.
		if len(b) < 5 {
			return false
		}
		if b[0] >= recordChangeCipherSpec && b[0] <= recordHeartbeat && b[1] == 3 && b[2] <= 4 {
			l.mode = frameRecords
			return true
		}
		if isSSLv2Hello(b) {
			l.mode = frameSSLv2
			return true
		}
		if side == Server && c.m.HS.ClientHello != nil && c.m.HS.NotTLSAnswer == "" {
			// The server's answer to a ClientHello is not TLS.
			c.m.HS.NotTLSAnswer = string(b[:min(len(b), 64)])
			c.m.HS.NotTLSFrame = c.frame
		}
		for _, p := range notTLSPrefixes {
			if side == Server && c.rolesKnown {
				break // a proxy's "HTTP/1.1 200" may come before TLS
			}
			if bytes.HasPrefix(b, p) {
				c.m.problem(side, Pos{Time: t, Frame: c.frame}, ProblemNotTLS, "not TLS: stream starts with "+quoteStart(b))
				l.mode = frameDead
				return true
			}
		}
		l.plaintext = true
	}
	// Scan for the first record that can start TLS from this side.
	var i int
	found := false
	wait := -1 // resync: the first header that needs more bytes to be judged
	for i = 0; i+6 <= len(b); i++ {
		if b[i] < recordChangeCipherSpec || b[i] > recordApplicationData || b[i+1] != 3 {
			continue
		}
		var ok bool
		switch {
		case l.mode == frameResync:
			if !plausibleRecord(b[i:], "\x14\x15\x16\x17", -1) {
				break
			}
			// One header alone is weak evidence in the middle of a
			// certificate or ciphertext: its length must land on another
			// header, or on the end of the bytes so far.
			n := int(b[i+3])<<8 | int(b[i+4])
			if rest := len(b) - i; rest < 5+n || rest < 5+n+5 && rest != 5+n {
				// Not all here yet: judge it when it is, unless a later
				// header proves itself first.
				if wait < 0 {
					wait = i
				}
				break
			}
			ok = nextRecordPlausible(b[i:])
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
	if !found && wait >= 0 {
		l.preamble += int64(wait)
		l.consume(wait)
		return false
	}
	if !found {
		keep := min(5, len(b))
		skipped := len(b) - keep
		l.preamble += int64(skipped)
		l.consume(skipped)
		if l.mode == frameDetect && l.preamble > maxPreamble {
			c.m.problem(side, Pos{Time: t, Frame: c.frame}, ProblemNotTLS, fmt.Sprintf("not TLS: no TLS record in the first %d bytes", l.preamble))
			l.mode = frameDead
			return true
		}
		if l.mode == frameResync && l.preamble > 1<<20 {
			l.mode = frameDead
			return true
		}
		return false
	}
	l.preamble += int64(i)
	l.consume(i)
	l.mode = frameRecords
	return true
}

// nextRecordPlausible checks, when the buffer holds it, that another record
// header follows the one at b[0]: one header alone is weak evidence in the
// middle of ciphertext.
func nextRecordPlausible(b []byte) bool {
	n := int(b[3])<<8 | int(b[4])
	if len(b) < 5+n+5 {
		return len(b) == 5+n // the record ends exactly at the buffer's end
	}
	nb := b[5+n:]
	m := int(nb[3])<<8 | int(nb[4])
	return nb[0] >= recordChangeCipherSpec && nb[0] <= recordHeartbeat && nb[1] == 3 && nb[2] <= 4 && m > 0 && m <= maxRecordLength
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

// readRecord frames one TLS record and hands it on.
func (c *Conn) readRecord(dir Dir, t time.Time) bool {
	l := &c.rl[dir]
	side := c.role(dir)
	b := l.buf
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
		c.m.problem(side, Pos{Time: t, Frame: c.frame}, ProblemUnknownRecord, fmt.Sprintf("record of unknown content type %d skipped", typ))
		l.consume(5 + n)
		return true
	}
	if typ < recordChangeCipherSpec || typ > recordHeartbeat || b[1] != 3 && b[1] != 0x7f && !(b[1] == 0 && typ != recordHandshake) {
		if c.prot[dir].protected() || c.m.HS.Midstream {
			c.m.problem(side, Pos{Time: t, Frame: c.frame}, ProblemLostSync, fmt.Sprintf("lost record sync at offset %d (type %d, version 0x%04x)", l.offset, typ, ver))
			l.mode = frameResync
			return true
		}
		if isSSLv2Hello(b) {
			l.mode = frameSSLv2
			return true
		}
		c.m.problem(side, Pos{Time: t, Frame: c.frame}, ProblemNotTLS, fmt.Sprintf("not a TLS record at offset %d (type %d, version 0x%04x)", l.offset, typ, ver))
		l.mode = frameDead
		return true
	}
	if n > maxRecordLength {
		c.m.problem(side, Pos{Time: t, Frame: c.frame}, ProblemOversize, fmt.Sprintf("record length %d exceeds the maximum %d", n, maxRecordLength))
		l.mode = frameDead
		return true
	}
	if len(b) < 5+n {
		if l.headersOnly && n > 64 {
			// Over the budget: not held. Its header says what it is.
			at := Pos{Time: t, Offset: l.offset, End: l.offset + 5 + int64(n), Frame: c.frame}
			switch {
			case typ == recordApplicationData:
				c.m.ApplicationData(side, n, true, at)
			case typ == recordHandshake && c.prot[dir].protected():
				c.m.EncryptedHandshake(side, n, at)
			default:
				c.m.touch(side, t)
			}
			l.skipBody = int32(5 + n - len(b))
			l.bytes += int64(len(b))
			l.consume(len(b))
			return false
		}
		return false
	}
	rec := record{typ: typ, version: ver, body: b[5 : 5+n], offset: l.offset, end: l.offset + 5 + int64(n)}
	l.consume(5 + n)
	l.bytes += int64(5 + n)
	c.record(dir, rec, t)
	return true
}

// readSSLv2 frames one SSL 2.0 record (draft-hickman-netscape-ssl-00 §1.2).
func (c *Conn) readSSLv2(dir Dir, t time.Time) bool {
	l := &c.rl[dir]
	b := l.buf
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
	rec := record{body: b[hdr : hdr+n], offset: l.offset, end: l.offset + int64(hdr+n)}
	l.consume(hdr + n)
	l.bytes += int64(hdr + n)
	c.m.touch(c.role(dir), t)
	if len(rec.body) == 0 {
		return true
	}
	c.sslv2(dir, rec, n, t)
	return true
}
