package decoder

import (
	"bytes"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// DTLSConn rebuilds the handshake of one DTLS association (RFC 6347, RFC
// 9147) from its datagrams: per direction a record layer (several records
// per datagram, explicit epochs and sequence numbers, duplicates
// recognised), a protection step (a no-op without keys) and the
// reassembly of handshake fragments, all feeding the same handshake
// Machine as TLS and QUIC with the same messages in TLS's encoding. It
// knows nothing of packets: the caller gives each UDP payload with the
// Dir it came from, its frame number and capture time.
type DTLSConn struct {
	m    Machine
	keys Keys
	prot [2]dtlsProtection // by Dir
	// prot13: DTLS 1.3's protection, by Dir (dtls13_protection.go)
	prot13 [2]dtls13Dir
	// opaque13: DTLS 1.3 handshake datagrams not opened (dtls13_opaque.go)
	opaque13 [2]opaque13
	hs       [2]dtlsReassembly // by Dir
	// window are the record numbers seen, by Dir and epoch (0–3), to
	// recognise a datagram duplicated (RFC 6347 §4.1.2.6).
	window [2][4]dtlsWindow
	// ccs: by Dir, a bit per record epoch whose ChangeCipherSpec was fed;
	// encHS the lengths of the protected handshake records fed.
	ccs   [2]uint64
	encHS [2][]int
	held  int // bytes of incomplete messages (maxDTLSHeld)
	// roles: the client's Dir, the caller's when it knew (rolesKnown),
	// else decided once by the first hello.
	roles
	rolesKnown bool
	frame      int64
	// flight numbers the flights (RFC 6347 §4.2.4): a new one begins when
	// the other side sends something new.
	flight     int
	flightSide Side
	stats      dtlsDirStats
	problems   uint64 // bit per problem said once (dtlsOnce)
	// budget, when set, bounds what all connections hold; charged is this
	// one's share of it (dtls_facts.go).
	budget     *Budget
	charged    int64
	overBudget bool
}

// NewDTLSConn starts an association. rolesKnown says Dir 0 is the client
// for certain; otherwise the first hello decides.
func NewDTLSConn(rolesKnown bool) *DTLSConn {
	c := &DTLSConn{rolesKnown: rolesKnown}
	c.m.dtls = true
	c.m.records = c
	return c
}

// SetKeys gives the association a source of record keys (a key log's
// CLIENT_RANDOM lines open DTLS 1.0 and 1.2; its traffic secrets, with a
// Keys that gives DTLS 1.3's as LogKeys does, DTLS 1.3).
func (c *DTLSConn) SetKeys(k Keys) {
	c.keys = k
	c.m.kt = nil
	if k != nil {
		c.m.kt = &keyed{keys: k}
	}
}

// DTLSDatagram is what one datagram held.
type DTLSDatagram struct {
	Records []DTLSRecord
	// Trailing counts bytes after the last record that read as none.
	Trailing int
	// Flight is the flight of the handshake the datagram's handshake
	// messages belong to (1, 2, …; 0: none, or unknown under DTLS 1.3's
	// encryption).
	Flight int
	// Retransmission: everything it held was sent before (a flight sent
	// again on the sender's timer, RFC 6347 §4.2.4), or is a duplicate.
	Retransmission bool
	// Ladder are the entries the datagram added to the handshake's
	// ladder: the messages it completed (in message_seq order, so some
	// may be ones earlier datagrams began), ChangeCipherSpec, alerts,
	// protected records.
	Ladder []Message
}

// DTLSRecord is one record of a datagram.
type DTLSRecord struct {
	// Type is the content type; 0 for a DTLS 1.3 record, which hides it.
	Type    uint8
	Version uint16 // 0 for a DTLS 1.3 unified header
	// Epoch; a unified header carries only its two low bits, and a DTLS
	// 1.3 record opened with keys has its full epoch here.
	Epoch uint16
	// Seq is the 48-bit sequence number; a unified header's is the 8 or
	// 16 bits as sent, which are encrypted (RFC 9147 §4.2.3), and a DTLS
	// 1.3 record opened with keys has its full 64-bit record number here
	// (§4.2.2).
	Seq     uint64
	Length  int
	Unified bool
	CID     []byte
	// Encrypted: protected and not opened.
	Encrypted bool
	// Duplicate: its record number was seen before: a copy of a datagram,
	// not fed again.
	Duplicate bool
	// Retransmission: a ChangeCipherSpec or handshake data sent before.
	Retransmission bool
	Fragments      []DTLSFragment
	// Alerts are the alerts it held, read (plaintext or opened) or not.
	Alerts []Alert
	// ACKed: an ACK's record numbers (RFC 9147 §7), the first 16.
	ACKed []DTLSRecordNumber
}

// DTLSFragment is one handshake fragment of a readable record.
type DTLSFragment struct {
	Type           MsgType
	MessageSeq     uint16
	Offset, Length int
	Total          int // the message's length
	Retransmission bool
}

// DTLSStats counts what an association's datagrams held, by Side.
type DTLSStats struct {
	Datagrams, Records [2]int
	// Duplicates: records whose number was seen before.
	Duplicates [2]int
	// Unified: DTLS 1.3 records with the unified header (those opened
	// with keys in Opened13 too); CIDRecords: DTLS 1.2 tls12_cid records
	// (RFC 9146).
	Unified, CIDRecords, ACKs [2]int
	// Opened13: DTLS 1.3 records opened with keys; ACKed: the record
	// numbers the ACKs acknowledged.
	Opened13, ACKed [2]int
	// Retransmitted: datagrams holding only what was sent before.
	Retransmitted [2]int
	// ChangeCipherSpecs: ChangeCipherSpec records sent, again ones too.
	ChangeCipherSpecs [2]int
	// Trailing: datagrams with bytes after their records that are none.
	Trailing [2]int
	// CIDGuessed: a record's CID length was guessed, the hellos that
	// negotiated it not having been seen.
	CIDGuessed bool
}

type dtlsDirStats struct {
	datagrams, records, duplicates, unified, cid, acks, retransmitted, ccs, trailing, opened13, acked [2]int
	cidGuessed                                                                                        bool
}

// dtlsWindow is a record number window (RFC 6347 §4.1.2.6): the highest
// number seen and a bit for each of the 63 before it.
type dtlsWindow struct {
	top, bits uint64
	any       bool
}

// check reports whether seq was seen, and marks it. One older than the
// window cannot be told and is taken as new: a passive reader keeps what
// it is given, and the reassembly tells repeats.
func (w *dtlsWindow) check(seq uint64) bool {
	switch {
	case !w.any:
		w.any, w.top, w.bits = true, seq, 1
	case seq > w.top:
		if d := seq - w.top; d >= 64 {
			w.bits = 1
		} else {
			w.bits = w.bits<<d | 1
		}
		w.top = seq
	case w.top-seq < 64:
		bit := uint64(1) << (w.top - seq)
		if w.bits&bit != 0 {
			return true
		}
		w.bits |= bit
	}
	return false
}

// datagramState is what one datagram showed so far.
type datagramState struct {
	again  bool // something sent before came earlier in it
	new    bool // something not sent before
	flight int
}

// maxDTLSRecordFacts bounds the records listed per datagram.
const maxDTLSRecordFacts = 32

// Datagram gives the decoder one UDP payload that Dir d sent, in frame at
// t, and says what it held.
func (c *DTLSConn) Datagram(d Dir, payload []byte, frame int64, t time.Time) DTLSDatagram {
	c.frame = frame
	c.stats.datagrams[d]++
	var out DTLSDatagram
	var dg datagramState
	ladder := len(c.m.HS.Messages)
	s := cryptobyte.String(payload)
	for !s.Empty() {
		var r dtlsRecord
		guessed, ok := readDTLSRecord(&s, c.cidLens(d), &r)
		if !ok {
			out.Trailing = len(s)
			c.stats.trailing[d]++
			c.once(1, c.role(d), t, ProblemNotTLS, fmt.Sprintf("%d bytes after the DTLS records of a datagram read as no record", len(s)))
			break
		}
		c.stats.cidGuessed = c.stats.cidGuessed || guessed
		alerts := len(c.m.HS.Alerts)
		f := c.record(d, &r, t, &dg)
		if n := len(c.m.HS.Alerts); n > alerts {
			f.Alerts = append([]Alert{}, c.m.HS.Alerts[alerts:n]...)
		}
		if len(out.Records) < maxDTLSRecordFacts {
			out.Records = append(out.Records, f)
		}
		c.deliver(d, t)
	}
	if ladder < len(c.m.HS.Messages) {
		out.Ladder = append([]Message{}, c.m.HS.Messages[ladder:]...)
	}
	out.Flight = dg.flight
	out.Retransmission = dg.again && !dg.new
	if !out.Retransmission && !dg.new && len(out.Records) > 0 {
		dup := true
		for _, r := range out.Records {
			dup = dup && r.Duplicate
		}
		out.Retransmission = dup
	}
	if !out.Retransmission && c.opaqueAgain13(d, out.Records) {
		out.Retransmission = true
	}
	if out.Retransmission {
		c.stats.retransmitted[d]++
	}
	c.account(d)
	return out
}

// cidLens are the CID lengths of the records d sends: the CID its peer
// asked for in its hello (RFC 9146 §3), -1 when that hello was not seen.
func (c *DTLSConn) cidLens(d Dir) dtlsCIDLens {
	n := -1
	if c.role(d) == Client {
		if sh := c.m.HS.ServerHello; sh != nil && sh.ConnectionID != nil {
			n = len(sh.ConnectionID)
		}
	} else if ch := c.m.HS.LatestClientHello(); ch != nil && ch.ConnectionID() != nil {
		n = len(ch.ConnectionID())
	}
	return dtlsCIDLens{plain: n, unified: n}
}

// newFlight says that side sent something new: a flight begins when the
// side changes.
func (c *DTLSConn) newFlight(side Side, dg *datagramState) int {
	dg.new = true
	if dg.flight != 0 {
		return dg.flight
	}
	if c.flight == 0 || c.flightSide != side {
		c.flight++
		c.flightSide = side
	}
	dg.flight = c.flight
	return c.flight
}

// record reads one record.
func (c *DTLSConn) record(d Dir, r *dtlsRecord, t time.Time, dg *datagramState) DTLSRecord {
	side := c.role(d)
	at := Pos{Time: t, Frame: c.frame}
	f := DTLSRecord{Type: r.typ, Version: r.version, Epoch: r.epoch, Seq: r.seq, Length: len(r.body), Unified: r.unified, CID: bytes.Clone(r.cid)}
	c.stats.records[d]++
	body := r.body
	if r.unified {
		// DTLS 1.3 protected record (dtls13_protection.go): opened, it
		// is read as a plaintext one of its full epoch.
		c.stats.unified[d]++
		o, ok := c.unified(d, r, at, &f)
		if !ok {
			return f
		}
		if o.duplicate {
			f.Duplicate = true
			c.stats.duplicates[d]++
			return f
		}
		body = o.plain
	} else if r.epoch < 4 && c.window[d][r.epoch].check(r.seq) {
		f.Duplicate = true
		c.stats.duplicates[d]++
		return f
	}
	if r.typ == recordTLS12CID {
		c.stats.cid[d]++
	}
	if r.epoch > 0 && !r.unified {
		var plain []byte
		var err error
		if r.typ == recordTLS12CID {
			// RFC 9146 §5: another additional data and an inner type:
			// not decrypted.
			err = errCipherUnsupported
			c.prot[d].unopened++
		} else {
			plain, err = c.open(d, r)
		}
		if err != nil {
			f.Encrypted = true
			c.protectedRecord(d, side, r, at, dg, &f)
			return f
		}
		body = plain
	}
	switch r.typ {
	case recordChangeCipherSpec:
		c.stats.ccs[d]++
		if r.epoch < 64 && c.ccs[d]&(1<<r.epoch) != 0 {
			f.Retransmission, dg.again = true, true
			return f
		}
		if r.epoch < 64 {
			c.ccs[d] |= 1 << r.epoch
		}
		c.newFlight(side, dg)
		c.m.ChangeCipherSpec(side, len(body), at)
	case recordAlert:
		c.m.AlertRecord(side, c.machineEpoch(r.epoch), body, at)
	case recordHandshake:
		c.handshake(d, r.epoch, body, t, dg, &f)
	case recordApplicationData:
		c.m.ApplicationData(side, len(body), r.epoch == 0, at)
	case recordHeartbeat:
		c.m.Heartbeat(side, len(body), false, at)
	case recordACK:
		c.stats.acks[d]++
		c.ack(d, body, t, &f)
		c.m.touch(side, t)
	case recordTLS12CID:
		c.m.touch(side, t)
	}
	return f
}

// protectedRecord places a record that was not opened, as TLS's record
// layer does; a handshake record in a flight sent again is not counted
// again (its place would make a second Finished of it).
func (c *DTLSConn) protectedRecord(d Dir, side Side, r *dtlsRecord, at Pos, dg *datagramState, f *DTLSRecord) {
	n := len(r.body)
	switch r.typ {
	case recordChangeCipherSpec:
		c.m.ChangeCipherSpec(side, n, at)
	case recordAlert:
		c.m.EncryptedAlert(side, n, at)
	case recordHandshake, recordTLS12CID:
		s := &c.m.sides[side]
		if r.typ == recordTLS12CID && !(s.ccs && !s.finished) {
			c.m.ApplicationData(side, n, true, at)
			return
		}
		again := dg.again
		for _, m := range c.encHS[d] {
			again = again || m == n && s.finished
		}
		if again {
			f.Retransmission, dg.again = true, true
			return
		}
		if len(c.encHS[d]) < 8 {
			c.encHS[d] = append(c.encHS[d], n)
		}
		c.newFlight(side, dg)
		c.m.EncryptedHandshake(side, n, at)
	case recordApplicationData:
		c.m.ApplicationData(side, n, true, at)
	case recordHeartbeat:
		c.m.Heartbeat(side, n, true, at)
	default:
		c.m.touch(side, at.Time)
	}
}

// handshake files the fragments of a readable handshake record.
func (c *DTLSConn) handshake(d Dir, epoch uint16, body []byte, t time.Time, dg *datagramState, f *DTLSRecord) {
	side := c.role(d)
	c.m.touch(side, t)
	s := cryptobyte.String(body)
	for !s.Empty() {
		var fr dtlsFragment
		if !readDTLSFragment(&s, &fr) {
			c.once(2, side, t, ProblemMalformed, "malformed DTLS handshake fragment header")
			return
		}
		ff := DTLSFragment{Type: MsgType(fr.msgType), MessageSeq: fr.seq, Offset: fr.offset, Length: fr.fragLn, Total: fr.length}
		res := c.hs[d].add(&fr, epoch, &c.held, func(msg string) {
			c.m.problem(side, Pos{Time: t, Frame: c.frame}, ProblemOversize, msg)
		})
		switch res {
		case fragmentRepeat:
			ff.Retransmission, dg.again = true, true
			if e := c.hs[d].track(&fr, side, 0, c.frame, t); e != nil && dg.flight == 0 && !dg.new {
				dg.flight = e.Flight
			}
		case fragmentNew:
			// A message's later fragments belong to its flight.
			flight := dg.flight
			if e := c.hs[d].known(fr.seq, fr.msgType); e == nil {
				flight = c.newFlight(side, dg)
			} else if dg.new = true; dg.flight == 0 {
				dg.flight = e.Flight
			}
			c.hs[d].track(&fr, side, flight, c.frame, t)
		}
		if len(f.Fragments) < 8 {
			f.Fragments = append(f.Fragments, ff)
		}
	}
}

// deliver hands the machine the messages of d that are complete, in
// message_seq order.
func (c *DTLSConn) deliver(d Dir, t time.Time) {
	for {
		msg, p := c.hs[d].ready(&c.held)
		if p == nil {
			if _, _, moved, _ := c.hs[d].skipGap(false); moved {
				continue
			}
			return
		}
		at := Pos{Time: t, Frame: c.frame}
		if p.over {
			c.m.OverCap(c.role(d), p.typ, p.length, at)
			continue
		}
		if p.typ == typeClientHello || p.typ == typeServerHello || p.typ == typeHelloVerifyRequest {
			c.decideRoles(d, p.typ == typeClientHello)
		}
		e := c.machineEpoch(p.epoch)
		c.m.dtlsSeq = p.seq
		c.m.Message(c.role(d), e, msg, at)
		// The peer had this side's earlier flights whole to get here:
		// what of them the capture lacks will not come.
		c.flushDir(1-d, t, false)
	}
}

// flushDir gives up on the messages of d the capture lacks, when its
// later messages are complete: those that never came, and one cut short
// (listed with what of it came). all: every pending message, as at the
// end.
func (c *DTLSConn) flushDir(d Dir, t time.Time, all bool) {
	r := &c.hs[d]
	for {
		later := false
		var next *dtlsPending
		for _, q := range r.pending {
			if q.seq == r.next {
				next = q
			} else if q.complete() && !seqBefore(q.seq, r.next) {
				later = true
			}
		}
		if !later && !(all && next != nil) {
			return
		}
		side := c.role(d)
		at := Pos{Time: t, Frame: c.frame}
		if next != nil && !next.complete() {
			have := 0
			for _, p := range next.pieces {
				have += p.end - p.off
			}
			c.m.problem(side, at, ProblemCaptureGap, fmt.Sprintf("%s (message_seq %d): %d of its %d bytes captured", HandshakeTypeName(next.typ), next.seq, have, next.length))
			c.m.addMessage(Message{Time: t, From: side, Type: MsgType(next.typ), Length: next.length, Frame: c.frame,
				Note: fmt.Sprintf("%d of its %d bytes captured", have, next.length)})
			for i, q := range r.pending {
				if q == next {
					for _, p := range q.pieces {
						c.held -= len(p.data)
					}
					r.pending = append(r.pending[:i], r.pending[i+1:]...)
					break
				}
			}
			r.next++
		} else if from, to, moved, report := r.skipGap(true); moved {
			if report {
				c.m.problem(side, at, ProblemCaptureGap, fmt.Sprintf("handshake messages %d to %d never captured", from, to))
			}
		} else {
			return
		}
		c.deliver(d, t)
	}
}

// Flush hands over what can be: the caller feeds no more datagrams, so
// messages the capture lacks will not come.
func (c *DTLSConn) Flush(t time.Time) {
	c.flushDir(0, t, true)
	c.flushDir(1, t, true)
}

// decideRoles takes the first hello's word for who is who, once.
func (c *DTLSConn) decideRoles(d Dir, clientHello bool) {
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
		c.flightSide = c.flightSide.Other()
		for i := range c.hs {
			for j := range c.hs[i].sent {
				c.hs[i].sent[j].From = c.hs[i].sent[j].From.Other()
			}
		}
	}
}

// once records a problem of kind bit once per association.
func (c *DTLSConn) once(bit uint, side Side, t time.Time, kind ProblemKind, msg string) {
	if c.problems&(1<<bit) != 0 {
		return
	}
	c.problems |= 1 << bit
	c.m.problem(side, Pos{Time: t, Frame: c.frame}, kind, msg)
}
