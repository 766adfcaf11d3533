package flows

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"time"
)

// Two capture points. `tlsscope client.pcap server.pcap` merges its inputs
// by time, so a packet that passed both points comes twice: the second
// copy is the same packet, not a retransmission, and is counted once.
// A copy is told by what no router changes (RFC 791, RFC 9293): the IPv4
// identification, the TCP sequence and acknowledgment numbers, flags,
// options (the timestamps make each retransmission differ) and payload,
// from another input within vantageWindow. The TTL differs by the hops
// between the points and is not compared. NAT between the points (other
// addresses or ports) is out of scope: the two copies would be two
// connections.
//
// What passed the point near its sender and never reached the other one,
// while that one was capturing, was lost in the network between them.

const (
	// vantageWindow bounds how far apart the two copies of a packet are:
	// the one-way delay between the points plus their clocks' offset.
	vantageWindow = 3 * time.Second
	// vantageMargin is the queueing delay allowed, beyond the largest
	// delay between the points seen, before a capture that has packets
	// after it is said to have missed a segment's arrival.
	vantageMargin = time.Second
	// vantageRecent bounds the packets a connection keeps for matching,
	// vantageAlone the unmatched segments per direction kept for loss.
	vantageRecent = 256
	vantageAlone  = 64
	// vantagePrefix payload bytes are hashed: a capture point with a
	// shorter snapshot length still matches.
	vantagePrefix = 64
	// vantageFrames: the frames a loss names.
	vantageFrames = 8
)

// VantageFacts are what two capture points (inputs) tell of a connection
// seen at both. Indexed by role.
type VantageFacts struct {
	// Copies counts the packets seen at both points, counted once.
	Copies int
	// Near is the input nearer each end, which its packets pass first,
	// Far the other one (-1: not known, none of its packets was seen at
	// both).
	Near, Far [2]int
	// Lost is what each side sent that passed its near point and never
	// reached the far one, though that one was capturing.
	Lost [2]VantageLoss
}

// VantageLoss is what one side sent that was lost between the points.
type VantageLoss struct {
	Packets int
	Bytes   int64
	// Frames are the first lost packets' frame numbers at the near input.
	Frames []int64
	// LaterNear and LaterFar are a later packet of the same sender seen
	// at both points (its frames at the near and the far input): the far
	// capture was on, and the path passed it. LaterNear 0: no such packet,
	// LaterFar is then the far capture's packet after the lost ones were due.
	LaterNear, LaterFar int64
}

// vantageTable is the analyzer's part: each input's latest TCP packet,
// which tells until when it was capturing.
type vantageTable struct {
	seed maphash.Seed
	last []vantageMark
}

type vantageMark struct {
	t     int64 // Unix nanoseconds
	frame int64
}

func newVantageTable() *vantageTable { return &vantageTable{seed: maphash.MakeSeed()} }

// vantagePkt is one packet of a connection, as the matching needs it.
type vantagePkt struct {
	t      int64 // Unix nanoseconds
	sig    uint64
	frame  int64
	inputs uint64 // the inputs it was seen at (bit input%64)
	n      uint32 // payload bytes
	input  uint16 // where it was first seen
	side   uint8
	ttl    uint8
	data   bool // payload, SYN or FIN: a segment whose loss matters
}

// vantageConn is a connection's part.
type vantageConn struct {
	recent []vantagePkt    // the last packets, oldest first
	alone  [2][]vantagePkt // segments that left recent seen at one input only
	inputs [2]uint16       // the first two inputs it was seen at
	n      int             // how many inputs, up to 3 (more than 2: no loss judged)
	copies int
	// up votes, by direction, for which input is nearer the sender: > 0
	// inputs[0], < 0 inputs[1].
	up [2]int
	// delay is the largest time from the near to the far copy.
	delay [2]int64
	// later is each direction's latest packet seen at both points.
	later [2]vantagePair
}

type vantagePair struct {
	t           int64 // at the near point
	nearF, farF int64 // frames
	near        uint16
	set         bool
}

// vantageCopy reports whether a segment is a copy of a packet of the
// connection seen at another input: if so it is not counted again.
func (a *Analyzer) vantageCopy(c *conn, side int, seg *segment, t time.Time) bool {
	v, in, now := a.vantage, a.cur.Input, t.UnixNano()
	for int(in) >= len(v.last) {
		v.last = append(v.last, vantageMark{})
	}
	if now > v.last[in].t {
		v.last[in] = vantageMark{now, a.cur.Frame}
	}
	vc := c.vantage
	if vc == nil {
		vc = &vantageConn{}
		c.vantage = vc
	}
	vc.noteInput(in)
	tcp := &seg.tcp
	x := vantagePkt{t: now, sig: v.signature(seg), frame: a.cur.Frame, inputs: inputBit(in), n: uint32(len(tcp.Payload)),
		input: in, side: uint8(side), ttl: tcp.TTL, data: len(tcp.Payload) > 0 || tcp.SYN || tcp.FIN}
	// The other copy is most likely among the latest: look from the end,
	// and take the nearest in time (a retransmission has the same bytes
	// on IPv6 without timestamps).
	for i := len(vc.recent) - 1; i >= 0; i-- {
		e := &vc.recent[i]
		if e.sig != x.sig || e.side != x.side || e.inputs&x.inputs != 0 || absDur(now-e.t) > int64(vantageWindow) {
			continue
		}
		e.inputs |= x.inputs
		vc.copies++
		vc.matched(e, &x)
		return true
	}
	vc.push(x)
	return false
}

func inputBit(in uint16) uint64 { return 1 << (in % 64) }

func absDur(d int64) int64 {
	if d < 0 {
		return -d
	}
	return d
}

func (vc *vantageConn) noteInput(in uint16) {
	for i := range min(vc.n, 2) {
		if vc.inputs[i] == in {
			return
		}
	}
	if vc.n < 2 {
		vc.inputs[vc.n] = in
	}
	vc.n = min(vc.n+1, 3)
}

// signature hashes what stays the same from one capture point to the
// next: the IPv4 identification, sequence and acknowledgment numbers,
// flags, the options but a SYN's (a router may clamp its MSS), and the
// start of the payload.
func (v *vantageTable) signature(seg *segment) uint64 {
	var h maphash.Hash
	h.SetSeed(v.seed)
	var b [10]byte
	binary.BigEndian.PutUint16(b[0:], seg.tcp.IPID)
	binary.BigEndian.PutUint32(b[2:], seg.tcp.Seq)
	binary.BigEndian.PutUint32(b[6:], seg.tcp.Ack)
	h.Write(b[:])
	raw := seg.raw
	if len(raw) >= 20 {
		h.WriteByte(raw[13]) // flags
		if off := int(raw[12]>>4) * 4; !seg.tcp.SYN && off > 20 && off <= len(raw) {
			h.Write(raw[20:off])
		}
	}
	p := seg.tcp.Payload
	h.Write(p[:min(len(p), vantagePrefix)])
	return h.Sum64()
}

// push keeps a packet for matching; those leaving the window unmatched
// are kept for the loss, when they carry data.
func (vc *vantageConn) push(x vantagePkt) {
	drop := 0
	for drop < len(vc.recent) && (x.t-vc.recent[drop].t > int64(vantageWindow) || len(vc.recent)-drop >= vantageRecent) {
		vc.leave(vc.recent[drop])
		drop++
	}
	if drop > 0 {
		vc.recent = append(vc.recent[:0], vc.recent[drop:]...)
	}
	vc.recent = append(vc.recent, x)
}

func (vc *vantageConn) leave(e vantagePkt) {
	if e.data && bits.OnesCount64(e.inputs) == 1 && len(vc.alone[e.side]) < vantageAlone {
		vc.alone[e.side] = append(vc.alone[e.side], e)
	}
}

// matched learns from a packet seen at two points which is nearer its
// sender: the copy with the higher TTL, which fewer routers decremented;
// at equal TTLs (no router between) the earlier one.
func (vc *vantageConn) matched(first, second *vantagePkt) {
	near, far := first, second
	if second.ttl > first.ttl {
		near, far = second, first
	}
	s := first.side
	if near.input == vc.inputs[0] {
		vc.up[s]++
	} else {
		vc.up[s]--
	}
	vc.delay[s] = max(vc.delay[s], far.t-near.t)
	if p := &vc.later[s]; !p.set || near.t >= p.t {
		*p = vantagePair{t: near.t, near: near.input, nearF: near.frame, farF: far.frame, set: true}
	}
}

// nearFar is the input nearer side's end and the other one.
func (vc *vantageConn) nearFar(side int) (near, far uint16, ok bool) {
	if vc.n != 2 {
		return 0, 0, false
	}
	switch {
	case vc.up[side] > 0:
		return vc.inputs[0], vc.inputs[1], true
	case vc.up[side] < 0:
		return vc.inputs[1], vc.inputs[0], true
	}
	return 0, 0, false
}

// vantageFacts judges, at the end, what the two points tell; cd is the
// client's direction.
func (c *conn) vantageFacts(v *vantageTable, cd int) *VantageFacts {
	vc := c.vantage
	if vc == nil || vc.copies == 0 {
		return nil // seen at one point only
	}
	f := &VantageFacts{Copies: vc.copies, Near: [2]int{-1, -1}, Far: [2]int{-1, -1}}
	for side := range 2 {
		role := 0
		if side != cd {
			role = 1
		}
		near, far, ok := vc.nearFar(side)
		if !ok {
			continue
		}
		f.Near[role], f.Far[role] = int(near), int(far)
		l := &f.Lost[role]
		later := vc.later[side]
		var farLast vantageMark
		if int(far) < len(v.last) {
			farLast = v.last[far]
		}
		judge := func(e vantagePkt) {
			if !e.data || int(e.side) != side || e.input != near || bits.OnesCount64(e.inputs) != 1 {
				return
			}
			switch {
			case later.set && later.near == near && later.t > e.t:
				// A later packet of the sender passed both points.
				l.LaterNear, l.LaterFar = later.nearF, later.farF
			case farLast.t > e.t+vc.delay[side]+int64(vantageMargin):
				// The far point was capturing well after it was due.
				if l.LaterNear == 0 {
					l.LaterFar = farLast.frame
				}
			default:
				return // it may still have been on its way when the far capture ended
			}
			l.Packets++
			l.Bytes += int64(e.n)
			if len(l.Frames) < vantageFrames {
				l.Frames = append(l.Frames, e.frame)
			}
		}
		for _, e := range vc.alone[side] {
			judge(e)
		}
		for _, e := range vc.recent {
			judge(e)
		}
	}
	for role := range 2 {
		if f.Near[role] < 0 && f.Far[1-role] >= 0 {
			// Two points on one path: the one nearer the other end is the
			// farther from this one, though none of its packets showed it.
			f.Near[role], f.Far[role] = f.Far[1-role], f.Near[1-role]
		}
	}
	return f
}
