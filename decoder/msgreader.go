package decoder

// MessageReader cuts one direction's handshake bytes into handshake
// messages (RFC 8446 §4: a type byte and a 24-bit length). TLS carries
// them in handshake records, QUIC in CRYPTO frames; both feed a reader.
// A message over maxHandshakeMessage is not buffered: its type and length
// are reported and its bytes skipped as they come.
type MessageReader struct {
	buf    []byte
	offset int64 // position of the record that carried buf[0]
	cur    int64 // position of the record being read
	skip   int   // bytes left of a message over the cap
	// the message over the cap being read past: 4 + a 24-bit length
	skipType uint8
	skipLen  int32
}

// Write adds the bytes of one record (or CRYPTO frame) at offset.
func (r *MessageReader) Write(data []byte, offset int64) {
	r.cur = offset
	if r.skip > 0 {
		// Inside a message over the cap: drop its bytes, keep the rest.
		n := min(r.skip, len(data))
		r.skip -= n
		data = data[n:]
		if len(data) == 0 {
			return
		}
	}
	if len(r.buf) == 0 {
		r.offset = offset
	}
	r.buf = append(r.buf, data...)
}

// Next returns the next whole message and the position of the record
// that carried its first byte. over reports a message over the cap, of
// which only typ and n are known.
func (r *MessageReader) Next() (msg []byte, offset int64, over bool, typ uint8, n int) {
	if len(r.buf) < 4 {
		return nil, 0, false, 0, 0
	}
	n = int(r.buf[1])<<16 | int(r.buf[2])<<8 | int(r.buf[3])
	if n > maxHandshakeMessage {
		typ, offset = r.buf[0], r.offset
		r.skip = 4 + n - len(r.buf)
		r.skipType, r.skipLen = typ, int32(4+n)
		r.buf = nil
		return nil, offset, true, typ, n
	}
	if len(r.buf) < 4+n {
		return nil, 0, false, 0, 0
	}
	msg, offset = r.buf[:4+n], r.offset
	r.buf = r.buf[4+n:]
	r.offset = r.cur
	return msg, offset, false, msg[0], n
}

// Compact keeps a partial message apart from those returned, with room
// for more of it: up to four times what came, so that a length field
// alone cannot make us reserve memory.
func (r *MessageReader) Compact() {
	if len(r.buf) == 0 {
		r.buf = nil
		return
	}
	room := len(r.buf)
	if n := r.pending(); n > 0 {
		room = min(n, 4*len(r.buf))
	}
	r.buf = append(make([]byte, 0, room), r.buf...)
}

// pending is the length a partial message's header announces, or 0.
func (r *MessageReader) pending() int {
	if len(r.buf) < 4 {
		return 0
	}
	return 4 + (int(r.buf[1])<<16 | int(r.buf[2])<<8 | int(r.buf[3]))
}

// InProgress is the message whose start came and whose end has not: its
// type and length, or a length of 0.
func (r *MessageReader) InProgress() (MsgType, int) {
	if r.skip > 0 {
		return MsgType(r.skipType), int(r.skipLen)
	}
	if n := r.pending(); n > 0 {
		return MsgType(r.buf[0]), n
	}
	return 0, 0
}

// Release drops what is buffered.
func (r *MessageReader) Release() { r.buf = nil }
