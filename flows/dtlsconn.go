package flows

import (
	"net/netip"
	"slices"
	"time"

	"github.com/tlsscope/tlsscope/decoder"
)

// DTLS associations (RFC 6347, RFC 9147) over UDP, beside QUIC: found by
// content on any port, as WebRTC puts them on random ones (RFC 7983 §7),
// each followed by a decoder.DTLSConn; the table expires and judges them
// as it does QUIC connections (dtlsverdict.go judges).

// DTLSFacts are a DTLS association's transport facts, sides by role.
type DTLSFacts struct {
	// Stats counts what each side's datagrams held.
	Stats decoder.DTLSStats
	// Transmissions are the handshake messages read, the client's then the
	// server's, each with how often it was sent.
	Transmissions []decoder.DTLSTransmission
	// ClientHelloResent counts the times the client sent its ClientHello
	// again on its timer (RFC 6347 §4.2.4.1: the same message_seq; the
	// ClientHello that returns a cookie is a new message, not counted);
	// ServerFlightResent the times the server sent a flight again (its
	// HelloVerifyRequests, each the answer to a ClientHello, not counted).
	// Their frames are each resend's first datagram (at most
	// maxResendFrames).
	ClientHelloResent, ServerFlightResent             int
	ClientHelloResentFrames, ServerFlightResentFrames []int64
	// HelloVerifyRequests counts the server's HelloVerifyRequests, their
	// frames the first few.
	HelloVerifyRequests      int
	HelloVerifyRequestFrames []int64
	// Largest is the largest datagram (UDP payload bytes) each side sent;
	// LargestResent the largest in a flight it sent again.
	Largest, LargestResent [2]int
	// Midstream: no hello was seen; the association was taken for DTLS
	// on its records.
	Midstream bool
	// FlightLost, when set, is the flight the verdict found lost on a path
	// that drops large datagrams (dtlsverdict.go).
	FlightLost *DTLSFlightLost
}

// DTLSFlightLost is a flight that never got through whole while smaller
// datagrams did: the sign of a path that drops datagrams larger than its
// MTU without an ICMP error reaching the sender (a black hole).
type DTLSFlightLost struct {
	From decoder.Side
	// Message is the message cut short (seen from the receiver: Have of
	// its Length bytes came; 0 when seen from the sender).
	Message      decoder.MsgType
	Have, Length int
	// Sent is how many times the flight was sent; Largest its largest
	// datagram, as seen.
	Sent, Largest int
	// PathMTU: the same part was lost at two sends at least while smaller
	// datagrams got through: a path MTU black hole (flightLost).
	PathMTU bool
	Frames  []int64
}

const (
	maxResendFrames = 16
	maxDTLSEvents   = 16
	// dtlsGiveUp: a conversation whose datagrams start like DTLS's this
	// many times without reading as DTLS is decided not DTLS.
	dtlsGiveUp = 8
	// dtlsRecordsToStart: datagrams of records (no hello) that make a
	// conversation a DTLS association met mid-stream.
	dtlsRecordsToStart = 2
)

// maxDTLSChecked bounds the conversations remembered while undecided.
var maxDTLSChecked = 1 << 16

// resend kinds: what a flight sent again held, the stronger last (a run
// holding a ClientHello is a ClientHello's).
const (
	resendVerify = iota // only HelloVerifyRequests
	resendFlight        // any other flight
	resendHello         // a ClientHello
	nResendKinds
)

// resendRun is a flight a side is sending again: the datagrams that held
// only what it sent before, until its peer speaks, it sends something
// new, or a piece of it comes a second time (its timer fired again).
type resendRun struct {
	open bool
	kind int
	seen []resendPiece
}

// resendPiece names a fragment (a protected record: its epoch and length).
type resendPiece struct {
	typ    decoder.MsgType
	seq    uint16
	offset int
}

// dtlsConn is one DTLS association being followed.
type dtlsConn struct {
	lifecycle
	// ep are its endpoints by the decoder's Dir: ep[0] sent first (or is
	// taken for the client when no hello was seen).
	ep  [2]netip.AddrPort
	k   [2]netip.AddrPort
	tls *decoder.DTLSConn
	// What the datagrams showed, by Dir (DTLSFacts has them by role).
	runs          [2]resendRun
	resent        [2][nResendKinds]int
	resentFrames  [2][nResendKinds][]int64
	resentTimes   [2][]time.Time // when each resend began (at most maxResendFrames)
	largest       [2]int
	largestResent [2]int
	// lastNew is when each Dir last sent something not sent before;
	// empty the empty messages it sent (nothingNew).
	lastNew   [2]time.Time
	empty     [2][]resendPiece
	midstream bool
	// closedAt: a fatal alert or close_notify was read.
	closedAt time.Time
	// end is the handshake's state when the association ended, before
	// the decoder gave up on what the capture lacks (release).
	end    *decoder.State
	events []Event
	icmp   []ICMPError
	drops  *CaptureDrops
}

// dtlsTable is the analyzer's DTLS state.
type dtlsTable struct {
	byTuple map[[2]netip.AddrPort]*dtlsConn
	// checked are the conversations whose datagrams began like DTLS's
	// without a hello (at most maxDTLSChecked): how many, and how many read
	// as records. Datagrams whose first byte is not DTLS's (RFC 7983 §7:
	// DNS mostly, RTP, STUN) cost one comparison and no memory.
	checked map[[2]netip.AddrPort]dtlsCheck
	list    connList
}

type dtlsCheck struct{ datagrams, records uint8 }

func newDTLSTable() *dtlsTable {
	return &dtlsTable{byTuple: map[[2]netip.AddrPort]*dtlsConn{}, checked: map[[2]netip.AddrPort]dtlsCheck{}}
}

// dtlsFirstByte: RFC 7983 §7's range for DTLS (20–63).
func dtlsFirstByte(b []byte) bool { return len(b) > 0 && b[0] >= 20 && b[0] <= 63 }

// dtlsDatagram handles a UDP datagram of no QUIC connection: it reports
// false when the datagram is not DTLS (nor of a DTLS association), to be
// looked at as QUIC.
func (a *Analyzer) dtlsDatagram(seg *segment, k [2]netip.AddrPort, stream int32, t time.Time) bool {
	d := a.dtls
	b := seg.raw
	c := d.byTuple[k]
	if c == nil {
		if !dtlsFirstByte(b) {
			return false
		}
		ck, known := d.checked[k]
		if ck.datagrams >= dtlsGiveUp {
			return false // decided: not DTLS
		}
		ev := decoder.DetectDTLS(b)
		switch {
		case ev == decoder.DTLSHello:
			delete(d.checked, k)
			c = a.newDTLSConn(seg, k, stream, t, false)
		case ev == decoder.DTLSRecords && ck.records+1 >= dtlsRecordsToStart:
			delete(d.checked, k)
			c = a.newDTLSConn(seg, k, stream, t, true)
		default:
			if ev == decoder.DTLSRecords {
				ck.records++
			} else {
				ck.datagrams++
			}
			if known || len(d.checked) < maxDTLSChecked {
				d.checked[k] = ck
			}
			return ev != decoder.DTLSNone
		}
	}
	dir := decoder.Dir(0)
	if seg.src != c.ep[0] {
		dir = 1
	}
	c.last = t
	moveBack(&d.list.list, &c.lifecycle)
	if a.opts.KeepPackets && !c.dropFrames {
		a.keepFrame(&c.lifecycle)
	}
	if !dtlsFirstByte(b) {
		return true // STUN, SRTP beside it (RFC 7983): not the decoder's
	}
	var frame int64
	if a.cur != nil {
		frame = a.cur.Frame
	}
	alerts := len(c.tls.Handshake().Alerts)
	res := c.tls.Datagram(dir, b, frame, t)
	c.largest[dir] = max(c.largest[dir], len(b))
	again := c.nothingNew(dir, &res)
	if !again {
		c.lastNew[dir] = t
	}
	c.resend(dir, &res, again, frame, len(b), t)
	if hs := c.tls.Handshake(); c.closedAt.IsZero() && len(hs.Alerts) > alerts {
		for _, al := range hs.Alerts[alerts:] {
			if al.Level == 2 || al.Description == 0 { // fatal, or close_notify
				c.closedAt = t
			}
		}
	}
	if c.frames != nil && !c.completeAt().IsZero() {
		a.dropFrames(&c.lifecycle) // a good handshake: nothing to write out
	}
	a.dtlsLive(c)
	if c.reported && !c.provisional {
		a.dropFrames(&c.lifecycle) // its final verdict was handed over
	}
	return true
}

// resend follows the flights dir sends again (a run of datagrams that
// held only what was sent before), counting each by what it held.
func (c *dtlsConn) resend(dir decoder.Dir, res *decoder.DTLSDatagram, nothingNew bool, frame int64, size int, t time.Time) {
	dup := len(res.Records) > 0
	for _, r := range res.Records {
		dup = dup && r.Duplicate
	}
	if dup {
		return // the same datagram again (the network's copy): no resend
	}
	c.runs[1-dir].open = false // the peer spoke: its next resend is another
	run := &c.runs[dir]
	if !nothingNew {
		run.open = false
		return
	}
	var pieces []resendPiece
	kind := resendVerify
	for _, r := range res.Records {
		if r.Encrypted || len(r.Fragments) == 0 {
			pieces = append(pieces, resendPiece{typ: decoder.MsgEncryptedRecord, seq: r.Epoch, offset: r.Length})
			kind = max(kind, resendFlight)
			continue
		}
		for _, f := range r.Fragments {
			pieces = append(pieces, resendPiece{typ: f.Type, seq: f.MessageSeq, offset: f.Offset})
			switch f.Type {
			case decoder.MsgClientHello:
				kind = resendHello
			case decoder.MsgHelloVerifyRequest:
			default:
				kind = max(kind, resendFlight)
			}
		}
	}
	again := !run.open
	for _, p := range pieces {
		again = again || slices.Contains(run.seen, p)
	}
	if again {
		// A new resend: the peer spoke, or the sender's timer fired again.
		*run = resendRun{open: true, kind: kind, seen: run.seen[:0]}
		c.resent[dir][kind]++
		if fr := &c.resentFrames[dir][kind]; len(*fr) < maxResendFrames {
			*fr = append(*fr, frame)
		}
		if len(c.resentTimes[dir]) < maxResendFrames {
			c.resentTimes[dir] = append(c.resentTimes[dir], t)
		}
		c.event(decoder.Side(dir), t, frame, "flight again", "")
	} else if kind > run.kind {
		c.reclassify(dir, kind)
	}
	if len(run.seen)+len(pieces) <= 32 {
		run.seen = append(run.seen, pieces...)
	}
	if run.kind == resendFlight {
		c.largestResent[dir] = max(c.largestResent[dir], size)
	}
}

// nothingNew reports a datagram that held only what dir sent before: the
// decoder's word (DTLSDatagram.Retransmission), and an empty message
// (ServerHelloDone) sent again, which holds no byte to tell it by.
func (c *dtlsConn) nothingNew(dir decoder.Dir, res *decoder.DTLSDatagram) bool {
	if res.Retransmission {
		return true
	}
	again := len(res.Records) > 0
	for _, r := range res.Records {
		switch {
		case r.Duplicate || r.Retransmission:
		case r.Encrypted || len(r.Fragments) == 0:
			again = false
		default:
			for _, f := range r.Fragments {
				if f.Retransmission {
					continue
				}
				p := resendPiece{typ: f.Type, seq: f.MessageSeq}
				if f.Total == 0 && slices.Contains(c.empty[dir], p) {
					continue
				}
				if f.Total == 0 && len(c.empty[dir]) < 8 {
					c.empty[dir] = append(c.empty[dir], p)
				}
				again = false
			}
		}
	}
	return again
}

// reclassify moves the open run of dir to kind (a ClientHello found in
// its later datagram).
func (c *dtlsConn) reclassify(dir decoder.Dir, kind int) {
	run := &c.runs[dir]
	old := run.kind
	c.resent[dir][old]--
	c.resent[dir][kind]++
	if fr := c.resentFrames[dir][old]; len(fr) > 0 {
		f := fr[len(fr)-1]
		c.resentFrames[dir][old] = fr[:len(fr)-1]
		if len(c.resentFrames[dir][kind]) < maxResendFrames {
			c.resentFrames[dir][kind] = append(c.resentFrames[dir][kind], f)
		}
	}
	run.kind = kind
}

// event adds an event to the association's ladder; its From is a Dir,
// made a role in the result, once the hellos said who is who.
func (c *dtlsConn) event(side decoder.Side, t time.Time, frame int64, kind, note string) {
	if len(c.events) < maxDTLSEvents {
		c.events = append(c.events, Event{Time: t, From: side, Kind: kind, Note: note, Frame: frame})
	}
}

// dtlsServerPorts are ports where a DTLS server is expected: a
// conversation met mid-stream takes the endpoint on one for the server
// (DTLS over 443, 4433 for tests, 5684 CoAPS, 5349 TURNS, 3391 RD
// Gateway, 4740 IPFIX, 853 DNS over DTLS).
var dtlsServerPorts = map[uint16]bool{443: true, 853: true, 3391: true, 4433: true, 4740: true, 5349: true, 5684: true}

func (a *Analyzer) newDTLSConn(seg *segment, k [2]netip.AddrPort, stream int32, t time.Time, midstream bool) *dtlsConn {
	d := a.dtls
	// An association in its handshake holds a decoder and the fragments
	// of its messages (bounded by the budget).
	a.roomForHandshake(&d.list)
	c := &dtlsConn{k: k, midstream: midstream}
	a.begin(c, stream, t)
	c.last = t
	c.ep = [2]netip.AddrPort{seg.src, seg.dst}
	if midstream && dtlsServerPorts[seg.src.Port()] && !dtlsServerPorts[seg.dst.Port()] {
		c.ep = [2]netip.AddrPort{seg.dst, seg.src}
	}
	c.tls = decoder.NewDTLSConn(false)
	c.tls.SetBudget(a.budget)
	if a.keys != nil {
		c.tls.SetKeys(a.keys)
	}
	d.byTuple[k] = c
	push(&d.list.list, &c.lifecycle)
	return c
}

// dtlsICMP ties an ICMP error quoting a UDP datagram to its association.
func (a *Analyzer) dtlsICMP(src, dst netip.AddrPort, e ICMPError) {
	c := a.dtls.byTuple[key(src, dst)]
	if c == nil || len(c.icmp) >= 4 {
		return
	}
	dir := decoder.Dir(0)
	if src != c.ep[0] {
		dir = 1
	}
	e.About = decoder.Side(dir) // by Dir; by role in the result
	c.icmp = append(c.icmp, e)
}

// dtlsExpiry ends DTLS associations idle for the idle timeout, and those
// closed by a fatal alert or close_notify a moment after it.
func dtlsExpiry(a *Analyzer, l *lifecycle) expiry {
	return datagramExpiry(a, l, l.self.(*dtlsConn).closedAt)
}

func (c *dtlsConn) life() *lifecycle     { return &c.lifecycle }
func (c *dtlsConn) transport() Transport { return TransportDTLS }

// judge: with Options.Shard, an association is reported by the shard its
// addresses hash to.
func (c *dtlsConn) judge(a *Analyzer) *Result {
	if r := a.dtlsResult(c); r != nil && a.ownQUIC(r) {
		return r
	}
	return nil
}

// release keeps the handshake's state as it ended, then lets the decoder
// give up on the messages the capture lacks and let go of their bytes.
func (c *dtlsConn) release(_ *Analyzer, at time.Time) bool {
	st := c.tls.State()
	c.end = &st
	c.tls.Flush(at)
	c.tls.Release()
	return true
}

func (c *dtlsConn) forget(a *Analyzer) {
	if a.dtls.byTuple[c.k] == c {
		delete(a.dtls.byTuple, c.k)
	}
}

func (c *dtlsConn) dropped(n uint64, from, at time.Time) {
	c.drops = addDrops(c.drops, n, from, at, 0)
}

// closeAt is when a fatal alert or close_notify was read (zero: none).
func (c *dtlsConn) closeAt() time.Time { return c.closedAt }

// mayStall: a handshake decided while open was reported then (dtlsLive).
func (c *dtlsConn) mayStall() bool { return !c.tls.Decided() }
