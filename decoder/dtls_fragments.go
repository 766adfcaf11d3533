package decoder

import (
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// DTLS handshake messages travel in fragments (RFC 6347 §4.2.2, RFC 9147
// §5.2), each with the message's type, length and message_seq and the
// fragment's offset and length, so that a message larger than a datagram
// can be sent and sent again after a loss. This file reassembles them per
// direction by message_seq and offset and hands the machine each message
// once, in message_seq order, in TLS's encoding (type and 24-bit length).
//
// Memory follows the bytes seen, never the lengths announced: a fragment
// reserves nothing beyond its own bytes, a message over
// maxDTLSMessage is only followed (its ranges, not its bytes) and a
// connection holds at most maxDTLSHeld bytes of incomplete messages.

const (
	// maxDTLSMessage is the largest message buffered; a certificate chain
	// over it is reported by type and length (Machine.OverCap).
	maxDTLSMessage = 64 << 10
	// maxDTLSHeld bounds the bytes of incomplete messages a connection
	// holds, both directions together.
	maxDTLSHeld = 256 << 10
	// maxDTLSPending bounds the messages collected at once per direction,
	// maxDTLSAhead how far past the next one a message_seq may be, and
	// maxDTLSPieces the disjoint ranges of one message.
	maxDTLSPending = 16
	maxDTLSAhead   = 32
	maxDTLSPieces  = 64
	// maxDTLSTracked bounds the messages whose transmissions are counted
	// per direction.
	maxDTLSTracked = 64
)

// dtlsFragment is one handshake fragment (RFC 6347 §4.2.2).
type dtlsFragment struct {
	msgType        uint8
	length         int // of the whole message
	seq            uint16
	offset, fragLn int
	data           []byte
}

// readDTLSFragment reads a fragment's 12-byte header and its bytes; the
// fragment must lie within the message. It fails without advancing s.
func readDTLSFragment(s *cryptobyte.String, f *dtlsFragment) bool {
	t := *s
	var typ uint8
	var length, offset, fragLen uint32
	var seq uint16
	var data []byte
	if !t.ReadUint8(&typ) || !t.ReadUint24(&length) || !t.ReadUint16(&seq) || !t.ReadUint24(&offset) ||
		!t.ReadUint24(&fragLen) || offset+fragLen > length || !t.ReadBytes(&data, int(fragLen)) {
		return false
	}
	*f = dtlsFragment{msgType: typ, length: int(length), seq: seq, offset: int(offset), fragLn: int(fragLen), data: data}
	*s = t
	return true
}

// dtlsPiece is a range of a message's bytes received (data nil for a
// message over the cap, only followed).
type dtlsPiece struct {
	off, end int
	data     []byte
}

// dtlsPending is a message being collected.
type dtlsPending struct {
	typ    uint8
	length int
	seq    uint16
	epoch  uint16
	over   bool // over maxDTLSMessage: ranges only
	pieces []dtlsPiece
}

func (p *dtlsPending) complete() bool {
	return len(p.pieces) == 1 && p.pieces[0].off == 0 && p.pieces[0].end == p.length ||
		p.length == 0 && len(p.pieces) <= 1
}

// covered reports whether [off, end) was received already.
func (p *dtlsPending) covered(off, end int) bool {
	for _, q := range p.pieces {
		if q.off <= off && end <= q.end {
			return true
		}
	}
	return false
}

// add merges the fragment's bytes [off, off+len(data)) into the pieces,
// keeping them sorted and disjoint, adjacent ones joined. It returns the
// bytes newly held, or -1 when the fragment would make too many pieces.
func (p *dtlsPending) add(off int, data []byte) int {
	end := off + len(data)
	if off == end || p.covered(off, end) {
		return 0
	}
	// The union of the new range with every piece it touches.
	lo, hi := off, end
	first, last := len(p.pieces), -1
	for i, q := range p.pieces {
		if q.end >= off && q.off <= end {
			first, last = min(first, i), i
			lo, hi = min(lo, q.off), max(hi, q.end)
		}
	}
	if last < 0 && len(p.pieces) >= maxDTLSPieces {
		return -1
	}
	var merged []byte
	before := 0
	if !p.over {
		merged = make([]byte, hi-lo)
		copy(merged[off-lo:], data)
	}
	if last >= 0 {
		for _, q := range p.pieces[first : last+1] {
			before += q.end - q.off
			if !p.over {
				copy(merged[q.off-lo:], q.data)
			}
		}
		p.pieces = append(p.pieces[:first], p.pieces[last+1:]...)
	}
	// Insert at its place.
	i := 0
	for i < len(p.pieces) && p.pieces[i].off < lo {
		i++
	}
	p.pieces = append(p.pieces, dtlsPiece{})
	copy(p.pieces[i+1:], p.pieces[i:])
	p.pieces[i] = dtlsPiece{off: lo, end: hi, data: merged}
	if p.over {
		return 0
	}
	return (hi - lo) - before
}

// DTLSTransmission counts how often one handshake message was sent: a
// DTLS sender retransmits its whole flight when its timer fires (RFC 6347
// §4.2.4), so a message seen more than once is a flight sent again.
type DTLSTransmission struct {
	From       Side
	Type       MsgType
	MessageSeq uint16
	// Times counts the fragments at offset 0: each transmission sends the
	// message from its first byte (one at least once any byte came).
	Times int
	// Flight is the flight (1, 2, …) the message was first sent in.
	Flight                int
	First, Last           time.Time
	FirstFrame, LastFrame int64
	starts                int // fragments at offset 0
}

// dtlsReassembly is one direction's handshake reassembly.
type dtlsReassembly struct {
	next      uint16 // message_seq to hand over next
	delivered bool   // a message was handed over
	pending   []*dtlsPending
	sent      []DTLSTransmission // by first sight
	// wholeOnly: over the budget of all connections, only fragments that
	// hold a whole message are taken (and handed over at once).
	wholeOnly bool
	// warned: problems said once
	warnedAhead, warnedPieces, warnedBudget bool
}

// track counts a fragment of message seq in the transmissions and returns
// its entry (nil when over maxDTLSTracked).
func (r *dtlsReassembly) track(f *dtlsFragment, side Side, flight int, frame int64, t time.Time) *DTLSTransmission {
	for i := range r.sent {
		e := &r.sent[i]
		if e.MessageSeq == f.seq && e.Type == MsgType(f.msgType) {
			if f.offset == 0 {
				e.starts++
				e.Times = e.starts
			}
			e.Last, e.LastFrame = t, frame
			return e
		}
	}
	if len(r.sent) >= maxDTLSTracked {
		return nil
	}
	e := DTLSTransmission{From: side, Type: MsgType(f.msgType), MessageSeq: f.seq, Times: 1,
		Flight: flight, First: t, Last: t, FirstFrame: frame, LastFrame: frame}
	if f.offset == 0 {
		e.starts = 1
	}
	r.sent = append(r.sent, e)
	return &r.sent[len(r.sent)-1]
}

// known reports whether message seq was seen before (any fragment).
func (r *dtlsReassembly) known(seq uint16, typ uint8) *DTLSTransmission {
	for i := range r.sent {
		if r.sent[i].MessageSeq == seq && r.sent[i].Type == MsgType(typ) {
			return &r.sent[i]
		}
	}
	return nil
}

// fragmentResult is what became of a fragment.
type fragmentResult uint8

const (
	fragmentNew     fragmentResult = iota // bytes not seen before
	fragmentRepeat                        // all its bytes were seen (or delivered) before
	fragmentDropped                       // over a limit, or in conflict: not kept
)

// add files a fragment received in record epoch epoch; held is the
// connection's count of bytes held, which it updates. problem reports
// what was dropped, once per kind.
func (r *dtlsReassembly) add(f *dtlsFragment, epoch uint16, held *int, problem func(string)) fragmentResult {
	if r.delivered && seqBefore(f.seq, r.next) {
		return fragmentRepeat
	}
	if r.delivered && int(f.seq-r.next) >= maxDTLSAhead {
		if !r.warnedAhead {
			r.warnedAhead = true
			problem(fmt.Sprintf("handshake fragment with message_seq %d, %d past the next one expected: ignored", f.seq, f.seq-r.next))
		}
		return fragmentDropped
	}
	var p *dtlsPending
	for _, q := range r.pending {
		if q.seq == f.seq {
			p = q
			break
		}
	}
	if p == nil && r.wholeOnly && (f.offset != 0 || f.fragLn != f.length || r.delivered && f.seq != r.next) {
		return fragmentDropped
	}
	if p == nil {
		if len(r.pending) >= maxDTLSPending {
			if !r.warnedAhead {
				r.warnedAhead = true
				problem(fmt.Sprintf("more than %d handshake messages pending reassembly: message_seq %d ignored", maxDTLSPending, f.seq))
			}
			return fragmentDropped
		}
		p = &dtlsPending{typ: f.msgType, length: f.length, seq: f.seq, epoch: epoch, over: f.length > maxDTLSMessage}
		r.pending = append(r.pending, p)
	}
	if p.typ != f.msgType || p.length != f.length {
		problem(fmt.Sprintf("fragment of message_seq %d says %s of %d bytes, an earlier one %s of %d: ignored",
			f.seq, HandshakeTypeName(f.msgType), f.length, HandshakeTypeName(p.typ), p.length))
		return fragmentDropped
	}
	if p.covered(f.offset, f.offset+f.fragLn) && f.fragLn > 0 {
		return fragmentRepeat
	}
	if !p.over && *held+f.fragLn > maxDTLSHeld {
		if !r.warnedBudget {
			r.warnedBudget = true
			problem(fmt.Sprintf("DTLS reassembly budget of %d KiB per connection exceeded: %s fragment dropped", maxDTLSHeld>>10, HandshakeTypeName(f.msgType)))
		}
		return fragmentDropped
	}
	n := p.add(f.offset, f.data)
	if n < 0 {
		if !r.warnedPieces {
			r.warnedPieces = true
			problem(fmt.Sprintf("%s in more than %d disjoint fragments: fragment dropped", HandshakeTypeName(f.msgType), maxDTLSPieces))
		}
		return fragmentDropped
	}
	*held += n
	return fragmentNew
}

// seqBefore compares message_seq values (they do not wrap in one
// handshake; RFC 6347 §4.2.2 starts them at 0).
func seqBefore(a, b uint16) bool { return a < b }

// ready returns the next message to hand over, in TLS's encoding, or
// over for a message over the cap (its type and length only); nil when
// the next one is not complete.
func (r *dtlsReassembly) ready(held *int) (msg []byte, p *dtlsPending) {
	for i, q := range r.pending {
		if q.seq != r.next || !q.complete() {
			continue
		}
		r.pending = append(r.pending[:i], r.pending[i+1:]...)
		r.next++
		r.delivered = true
		if q.over {
			return nil, q
		}
		*held -= q.length
		msg = make([]byte, 4+q.length)
		msg[0], msg[1], msg[2], msg[3] = q.typ, byte(q.length>>16), byte(q.length>>8), byte(q.length)
		if q.length > 0 {
			copy(msg[4:], q.pieces[0].data)
		}
		return msg, q
	}
	return nil, nil
}

// skipGap moves past message_seq values that will not come: before the
// first message handed over, to a complete hello (a handshake's first
// flight may start at 1 after a HelloVerifyRequest, RFC 6347 §4.2.2);
// when force is set (the peer answered, so it had them; or the caller
// flushes), to the lowest complete message. moved says it did, from and
// to are the message_seq values skipped, report whether that is a gap in
// the capture (not a fresh start at a hello).
func (r *dtlsReassembly) skipGap(force bool) (from, to uint16, moved, report bool) {
	var low *dtlsPending
	for _, q := range r.pending {
		if q.seq == r.next {
			return 0, 0, false, false // the next one is on its way
		}
		if q.complete() && (low == nil || q.seq < low.seq) && !seqBefore(q.seq, r.next) {
			low = q
		}
	}
	if low == nil {
		return 0, 0, false, false
	}
	fresh := !r.delivered && (low.typ == typeClientHello || low.typ == typeServerHello || low.typ == typeHelloVerifyRequest)
	if !force && !fresh {
		return 0, 0, false, false
	}
	from, to = r.next, low.seq-1
	r.next = low.seq
	return from, to, true, !fresh
}

// release drops the pending messages and what they hold.
func (r *dtlsReassembly) release(held *int) {
	for _, q := range r.pending {
		for _, p := range q.pieces {
			*held -= len(p.data)
		}
	}
	r.pending = nil
}
