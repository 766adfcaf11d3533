package flows

import (
	"encoding/binary"
	"strconv"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/reassembly"
	"github.com/tlsscope/tlsscope/decoder"
)

// Reassembler steering: the segments of undecided handshakes go through
// gopacket's reassembler to the decoder; holes the capture will never
// fill are skipped, and a decided connection is retired from it.

// reassemble hands a segment of an undecided handshake to the reassembler
// and, through it, the decoder.
func (a *Analyzer) reassemble(c *conn, side int, seg *segment, ci gopacket.CaptureInfo) {
	tcp := &seg.tcp
	if !c.sawPayload {
		if len(tcp.Payload) == 0 {
			// Nothing for the reassembler yet: SYN, FIN and RST before data
			// are noted in tcpFacts, and a connection that never carries
			// data costs the reassembler nothing.
			return
		}
		c.sawPayload = true
		c.socks = (c.ep[0].Port() == socksPort || c.ep[1].Port() == socksPort) && (tcp.Payload[0] == 4 || tcp.Payload[0] == 5)
		c.tls = decoder.NewConn(c.rolesByTCP)
		c.tls.SetBudget(a.budget)
		if a.keys != nil {
			c.tls.SetKeys(a.keys)
		}
		if !c.rolesByTCP && !c.synSeen[0] && !c.synSeen[1] {
			c.tls.SetMidstream()
		}
		// The reassembler starts each direction at its SYN when it saw one.
		for s := range 2 {
			if c.synSeen[s] {
				a.synthetic(c, s, c.synSeq[s], 0x02, c.tcp.SYN)
			}
		}
	}
	if tcp.RST && len(tcp.Payload) == 0 {
		// Not to the reassembler: a reset may be injected on the path,
		// and the named sender's bytes after it are still its own (tshark
		// decodes them too). retire ends the stream when it is judged.
		return
	}
	ctx := &a.ctx
	if c.seqs != nil && len(c.seqs.holes[side]) > 0 {
		// Queued behind a hole, the reassembler keeps the context with
		// the bytes: give it one of their own, so that they keep their
		// capture time (a.ctx is the next packet's by then).
		ctx = new(asmContext)
	}
	*ctx = asmContext{ci: ci, c: c, side: side, frame: a.cur.Frame}
	if ctx != &a.ctx {
		// Its bytes may be pushed past the hole without a segment of
		// ours: they keep their frame number too (frameOf).
		ctx.ci.AncillaryData = []any{frameTag(a.cur.Frame)}
	}
	flow := c.flow(side)
	// Only segments of undecided handshakes get here: decode the header
	// again, as the reassembler wants gopacket's layer.
	if err := a.tcp.DecodeFromBytes(seg.raw, gopacket.NilDecodeFeedback); err == nil {
		a.asm.AssembleWithContext(flow, &a.tcp, ctx)
	}
	if c.tls != nil && !c.decided && c.tls.Decided() {
		a.decide(c)
	}
}

// decide stops decoding a connection whose verdict is in.
func (a *Analyzer) decide(c *conn) {
	{
		c.decided = true
		if c.tls.Watch() {
			// With keys the records go on being framed and counted, for
			// the alerts that close the connection (decoder/watch.go).
			c.watching = true
		} else {
			c.tls.Release() // no more bytes go to the decoder
			a.retire(c)
		}
		a.noteTLSPort(c)
		if a.opts.Live && !c.reported && a.OnResult != nil {
			// The verdict is known: say it now, the connection still open.
			if r := a.result(c); r != nil {
				a.sayOpen(&c.lifecycle, r, false)
			}
		}
		if st := c.tls.State().Phase; st == decoder.PhaseComplete || st == decoder.PhaseResumed {
			a.dropFrames(&c.lifecycle) // a good handshake: nothing to write out
		}
	}
}

// retire ends both directions of a decided connection in the reassembler,
// which we feed no more, so that it frees the connection now instead of
// after the flush window (ten seconds of capture time, a few thousand
// connections on a busy link). The end is an RST at the sequence number
// the reassembler expects next, which for data seen in order is where the
// side's bytes end; if the guess is off, the reassembler ignores the RST
// as out of window (RFC 5961) and the flush frees the connection as before.
func (a *Analyzer) retire(c *conn) {
	if c.stream == nil {
		return
	}
	for side := range 2 {
		if !c.isnSet[side] {
			continue
		}
		a.synthetic(c, side, c.next[side], 0x04, a.now)
		if c.stream == nil {
			return // both directions ended: the reassembler let go
		}
	}
}

// synthetic hands the reassembler a segment of ours with no payload: a
// SYN (flags 0x02) at a direction's start, or an RST (0x04) at its end.
func (a *Analyzer) synthetic(c *conn, side int, seq uint32, flags byte, t time.Time) {
	var hdr [20]byte
	binary.BigEndian.PutUint16(hdr[0:], c.ep[side].Port())
	binary.BigEndian.PutUint16(hdr[2:], c.ep[1-side].Port())
	binary.BigEndian.PutUint32(hdr[4:], seq)
	hdr[12] = 5 << 4 // data offset: 20 bytes
	hdr[13] = flags
	if a.tcp.DecodeFromBytes(hdr[:], gopacket.NilDecodeFeedback) != nil {
		return
	}
	a.ctx = asmContext{ci: gopacket.CaptureInfo{Timestamp: t}, c: c, side: side, synthetic: true}
	flow := c.flow(side)
	a.asm.AssembleWithContext(flow, &a.tcp, &a.ctx)
}

// skipHoles makes the reassembler give up now on side's holes and hand
// over what waits behind them: the capture will never hold their bytes,
// the peer having acknowledged past them (capture loss) or the connection
// having ended. gopacket's reassembler has no flush for one connection,
// but it pushes a connection's first queued page through when it holds
// too many: a segment queued behind the hole with a limit of one page
// makes it skip exactly this hole.
func (a *Analyzer) skipHoles(c *conn, side int, t time.Time, all bool) {
	if c.stream == nil || c.decided || c.seqs == nil {
		return
	}
	limit := a.asm.MaxBufferedPagesPerConnection
	defer func() { a.asm.MaxBufferedPagesPerConnection = limit }()
	for n := 0; n < 8 && len(c.seqs.holes[side]) > 0 && c.stream != nil && !c.decided; n++ {
		i := c.firstHole(side)
		h := c.seqs.holes[side][i]
		if !all && !c.holeAcked(side, h) {
			return
		}
		a.asm.MaxBufferedPagesPerConnection = 1
		a.synthetic(c, side, h.end, 0x10, t) // ACK
		if len(c.seqs.holes[side]) > i && c.seqs.holes[side][i] == h {
			// The reassembler did not take it: forget it.
			c.seqs.skipHole(side, i)
		}
	}
}

// asmContext carries the packet's capture info and connection to the
// reassembler's callbacks.
type asmContext struct {
	ci        gopacket.CaptureInfo
	c         *conn
	side      int
	synthetic bool  // a segment of ours, not of the capture
	frame     int64 // the capture's frame number
}

// frameTag is the frame number of a segment queued behind a hole, kept
// in its capture info, which the reassembler hands back with its bytes.
type frameTag int64

func frameOf(ci gopacket.CaptureInfo) int64 {
	for _, x := range ci.AncillaryData {
		if f, ok := x.(frameTag); ok {
			return int64(f)
		}
	}
	return 0
}

func (x *asmContext) GetCaptureInfo() gopacket.CaptureInfo { return x.ci }

type streamFactory struct{ a *Analyzer }

func (f *streamFactory) New(_, _ gopacket.Flow, _ *layers.TCP, ac reassembly.AssemblerContext) reassembly.Stream {
	x := ac.(*asmContext)
	st := &stream{c: x.c, firstSide: x.side}
	x.c.stream = st
	return st
}

// stream receives one connection's reassembled bytes.
type stream struct {
	c         *conn
	firstSide int
	started   [2]bool
}

func (s *stream) Accept(tcp *layers.TCP, ci gopacket.CaptureInfo, dir reassembly.TCPFlowDirection, nextSeq reassembly.Sequence, start *bool, ac reassembly.AssemblerContext) bool {
	side := s.side(dir)
	if !s.started[side] {
		s.started[side] = true
		// Without a SYN the stream starts at its first captured byte.
		*start = true
	}
	return true
}

func (s *stream) side(dir reassembly.TCPFlowDirection) int {
	if dir == reassembly.TCPDirClientToServer {
		return s.firstSide
	}
	return 1 - s.firstSide
}

func (s *stream) ReassembledSG(sg reassembly.ScatterGather, ac reassembly.AssemblerContext) {
	if s.c == nil {
		return
	}
	dir, _, _, skip := sg.Info()
	side := s.side(dir)
	n, _ := sg.Lengths()
	var t time.Time
	if ac != nil {
		t = ac.GetCaptureInfo().Timestamp
	}
	if n > 0 {
		if ci := sg.CaptureInfo(n - 1); ci.Timestamp.After(t) || skip > 0 {
			t = ci.Timestamp // bytes after a hole keep their own time
		}
	}
	if skip > 0 {
		lost := s.c.holeLost(side)
		if s.c.seqs != nil && len(s.c.seqs.holes[side]) > 0 {
			s.c.seqs.skipHole(side, s.c.firstHole(side))
		}
		// The hole is told at the segment after it, where Wireshark says
		// "previous segment not captured", not at the packet that made
		// the reassembler give up on it (a later ACK, the end).
		at := Event{Time: t, From: decoder.Side(side)}
		if n > 0 {
			ci := sg.CaptureInfo(0)
			at.Time, at.Frame = ci.Timestamp, frameOf(ci)
		}
		if lost {
			at.Kind, at.Note = "loss", strconv.Itoa(skip)+" bytes never acknowledged: lost in the network"
			s.c.event(at)
			s.c.tls.Lost(decoder.Dir(side), skip, t)
		} else {
			s.c.tcp.Side[side].GapBytes += int64(skip)
			at.Kind, at.Note = "gap", strconv.Itoa(skip)+" bytes not captured"
			s.c.event(at)
			s.c.tls.Gap(decoder.Dir(side), skip, t)
		}
	}
	if n == 0 || s.c.decided && !s.c.watching {
		return
	}
	// The bytes complete their records in the frame that gave them to
	// us, where Wireshark shows what it reassembled (out-of-order
	// reassembly on: the segment that filled a hole); bytes pushed past a
	// hole that was never filled, in the frame of the last of them.
	frame := s.c.frame
	if x, ok := ac.(*asmContext); ok && !x.synthetic && x.frame > 0 {
		frame = x.frame
	} else if f := frameOf(sg.CaptureInfo(n - 1)); f > 0 {
		frame = f
	}
	s.c.tls.SetFrame(frame)
	s.c.tls.Feed(decoder.Dir(side), sg.Fetch(n), t)
}

// ReassemblyComplete: the reassembler drops the connection; a later
// segment of it gets a new stream.
func (s *stream) ReassemblyComplete(ac reassembly.AssemblerContext) bool {
	if s.c != nil && s.c.stream == s {
		s.c.stream = nil
	}
	s.c = nil
	return true
}

// flow is the reassembler's name for one direction of a connection: its
// stream number and the direction, as MAC-sized endpoints.
func (c *conn) flow(side int) gopacket.Flow {
	var src, dst [6]byte
	binary.BigEndian.PutUint32(src[:], uint32(c.id))
	binary.BigEndian.PutUint32(dst[:], uint32(c.id))
	src[5], dst[5] = byte(side), byte(1-side)
	return gopacket.NewFlow(layers.EndpointMAC, src[:], dst[:])
}
