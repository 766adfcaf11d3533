package flows

import (
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/reassembly"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows/capture"
)

// Options tune the analysis.
type Options struct {
	// StallTimeout is how long the side that owes a handshake message may
	// stay silent before the handshake is called stalled.
	StallTimeout time.Duration
	// IdleTimeout expires connections without packets, on the capture clock.
	IdleTimeout time.Duration
	// Live hands each verdict to OnResult as soon as it is known (a
	// connection still open is marked so), and with Tick reports a stall
	// on the wall clock while the connection is open.
	Live bool
	// KeepPackets keeps each connection's frames, up to a cap, until its
	// verdict, in Result.Packets (for writing the failed ones out).
	KeepPackets bool
	// MaxConnections bounds the connection table. When it is full, the
	// connection that has been quiet the longest is judged at once on
	// what was seen (Result.JudgedEarly), as Suricata and Zeek do with
	// their memory caps.
	MaxConnections int
	// MaxHandshakes bounds the connections whose handshake is being
	// decoded (they hold a decoder and reassembler state, a few KiB
	// each); past it the quietest is judged on what was seen.
	MaxHandshakes int
	// HandshakeBudget bounds the bytes all connections together buffer
	// for records and handshake messages not yet complete; a connection
	// over it is judged on what was seen.
	HandshakeBudget int64
	// KeyLog, when set, holds the secrets of --keylog files; the secrets
	// in a pcapng's Decryption Secrets Blocks are added to it as they are
	// read (one is made for them when none is set).
	KeyLog *decoder.KeyLog
	// Validator, when set, judges each side's certificate chain
	// (Result.ServerChain, ClientChain) against its trust store.
	Validator *decoder.Validator
	// Shard keeps only the connections of one shard (shard.go): the
	// others' packets are dropped before the connection table, and their
	// connections still numbered.
	Shard Shard
}

// Caps on the frames kept with KeepPackets, per connection and for all
// (a variable for tests); a connection over them has Result.PacketsCut.
const maxKeptPerConn = 4 << 20

var maxKeptTotal = 64 << 20

// DefaultOptions are the command line's defaults.
var DefaultOptions = Options{StallTimeout: 2 * time.Second, IdleTimeout: 5 * time.Minute, MaxConnections: 80_000, MaxHandshakes: 20_000, HandshakeBudget: 64 << 20}

// Stats counts what the reader saw and could not use.
type Stats struct {
	Packets, Bytes  int64
	TCPPackets      int64
	NotTCP          int64
	UnsupportedLink int64
	Malformed       int64
	IPFragments     int64
	Truncated       int64
	TCPStreams      int
	// JudgedEarly counts connections judged before they ended because the
	// connection table was full (Options.MaxConnections).
	JudgedEarly          int64
	First, Last          time.Time
	UnsupportedLinkTypes map[layers.LinkType]int64
	// Drops is what the capturing side said it dropped, last told
	// (Analyzer.Dropped).
	Drops capture.Drops
	// Key log lines from the capture's Decryption Secrets Blocks, the
	// malformed ones among them, and blocks of secrets other than a TLS
	// key log.
	SecretLines    int
	SecretsBad     []decoder.BadLine
	SecretsIgnored int
	// UDPPackets counts UDP datagrams; UDPNotQUIC those to or from a QUIC
	// port (443, 8443) not read as QUIC (another protocol, or short
	// headers of a connection that began before the capture); UDPUnnumbered says the udp.stream
	// table was full, so later numbers may differ from Wireshark's.
	UDPPackets    int64
	UDPNotQUIC    int64
	UDPUnnumbered bool
	// QUICConnections counts the QUIC connections followed.
	QUICConnections int
	// OtherShards counts the TCP packets of other shards' connections
	// (Options.Shard), dropped.
	OtherShards int64
}

// TLSPorts are ports where TLS is expected even when no byte was seen.
var TLSPorts = map[uint16]bool{443: true, 8443: true, 465: true, 636: true, 853: true, 993: true, 995: true, 5061: true}

// Analyzer follows every TCP connection of a capture and judges the TLS
// handshakes on them. Feed packets with Packet, then call Finish.
type Analyzer struct {
	opts  Options
	dec   *linkDecoder
	table map[[2]netip.AddrPort]*conn
	// budget bounds what all connections buffer for the decoder.
	budget *decoder.Budget
	// keys decrypt, from the key log (nil: no keys); keyLog is that log,
	// for other goroutines.
	keys   *decoder.LogKeys
	keyLog atomic.Pointer[decoder.KeyLog]
	// ackedHole: the segment being handled acknowledged past a hole of
	// its peer's (tcpFacts), so skipHoles runs after it is assembled.
	ackedHole bool
	// deletes counts deletions from table since it was last copied.
	deletes int
	// The open connections in three lists, least recently active first, so
	// that expiry looks only at the fronts: those with a FIN from one side
	// (they linger briefly for the other's), those reset or closed before
	// any data (they linger for a SYN again with the same sequence number,
	// which Wireshark counts as the same stream), and all others.
	closing, refused, active connList
	// handshaking: connections carrying data whose handshake is not
	// decided, the ones with decoder and reassembler state.
	handshaking connList
	gone        tombs
	streams     streamNumbers
	asm         *reassembly.Assembler
	now         time.Time
	lastSweep   time.Time
	// lastStallScan: when live mode last looked for stalls; stallDue:
	// when it must look again, the earliest a silence reaches the stall
	// timeout.
	lastStallScan time.Time
	stallDue      time.Time
	done          []*conn
	tlsPorts      map[uint16]bool
	Stats         Stats
	onePacket     capture.Packet // the frame given to Packet
	one           decoded
	tcp           layers.TCP // the segment handed to the reassembler
	ctx           asmContext
	cur           *capture.Packet // the frame being processed
	kept          int             // bytes of frames kept for KeepPackets
	shard         shardState      // Options.Shard: other shards' connections
	quic          *quicTable      // QUIC connections (quicconn.go)
	vantage       *vantageTable   // several inputs: packets seen at two points (vantage.go)
	issuers       issuerIndex     // CA certificates sent, for chains lacking them (certs.go)
	// OnResult, when set, receives each result as soon as it is final
	// (live mode); otherwise results are returned by Finish.
	OnResult func(*Result)
	// OnDrops, when set, is told the capturing side's counts each time
	// they rise (Dropped), in the analysis goroutine.
	OnDrops func(capture.Drops)
	// dropsSaid: when the drop counts last changed; dropsIn, with
	// several inputs, each one's counts then.
	dropsSaid time.Time
	dropsIn   []capture.Drops
}

// NewAnalyzer starts an analysis.
func NewAnalyzer(opts Options) *Analyzer {
	if opts.StallTimeout <= 0 {
		opts.StallTimeout = DefaultOptions.StallTimeout
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultOptions.IdleTimeout
	}
	if opts.MaxConnections <= 0 {
		opts.MaxConnections = DefaultOptions.MaxConnections
	}
	if opts.MaxHandshakes <= 0 {
		opts.MaxHandshakes = DefaultOptions.MaxHandshakes
	}
	if opts.HandshakeBudget <= 0 {
		opts.HandshakeBudget = DefaultOptions.HandshakeBudget
	}
	a := &Analyzer{opts: opts, budget: &decoder.Budget{Limit: opts.HandshakeBudget}, dec: newLinkDecoder(), table: map[[2]netip.AddrPort]*conn{}, gone: newTombs(), tlsPorts: map[uint16]bool{}, quic: newQUICTable()}
	if opts.KeyLog != nil {
		a.keys = decoder.NewLogKeys(opts.KeyLog)
		a.keyLog.Store(opts.KeyLog)
	}
	a.Stats.UnsupportedLinkTypes = map[layers.LinkType]int64{}
	for p := range TLSPorts {
		a.tlsPorts[p] = true
	}
	pool := reassembly.NewStreamPool(&streamFactory{a: a})
	a.asm = reassembly.NewAssembler(pool)
	// Bound what one connection can hold while waiting for a missing segment.
	a.asm.MaxBufferedPagesPerConnection = 256
	a.asm.MaxBufferedPagesTotal = 65536
	return a
}

// Run reads a source to its end. Reading and link decoding run in a
// goroutine of their own, handing over decoded frames in batches, so that
// the file is read and its headers decoded while the packets before are
// analysed; the analysis itself stays in one goroutine and its results
// in capture order.
func (a *Analyzer) Run(src capture.Source) error {
	batches := make(chan *batch, 4)
	free := make(chan *batch, 6)
	for range 6 {
		free <- &batch{Batch: capture.Batch{Buf: make([]byte, 0, capture.BatchSize)}}
	}
	var readErr error
	if capture.Inputs(src) > 1 {
		a.vantage = newVantageTable()
	}
	live := capture.IsLive(src)
	bulk, _ := src.(capture.BatchSource)
	if bulk != nil && !bulk.Bulk() {
		bulk = nil
	}
	secretsSrc, _ := src.(capture.SecretsSource)
	seenSecrets := 0
	// newSecrets hands the Decryption Secrets Blocks read since the last
	// batch to the analysis goroutine with the batch: the reader appends
	// them as it goes.
	dropSrc, _ := src.(capture.DropSource)
	dropsChanger, _ := src.(capture.DropsChanger)
	inputDrops, _ := src.(capture.InputDropSource)
	if capture.Inputs(src) < 2 {
		inputDrops = nil
	}
	var seenDrops capture.Drops
	newSecrets := func(b *batch) {
		// What the capturing side says it dropped goes with the batch
		// too, when it changed.
		if dropSrc != nil {
			if d := dropSrc.Drops(); d != seenDrops {
				b.drops, b.dropsNew, seenDrops = d, true, d
				if inputDrops != nil {
					b.dropsIn = inputDrops.InputDrops()
				}
			}
		}
		if secretsSrc == nil {
			return
		}
		if all := secretsSrc.Secrets(); len(all) > seenSecrets {
			b.secrets = append(b.secrets[:0], all[seenSecrets:]...)
			seenSecrets = len(all)
		}
	}
	go func() {
		defer close(batches)
		dec := newLinkDecoder()
		if bulk != nil {
			// Whole records read straight into the batch's buffer.
			for {
				b := <-free
				err := bulk.Fill(&b.Batch)
				newSecrets(b)
				if len(b.Packets) > 0 || len(b.secrets) > 0 || b.dropsNew {
					b.decode(dec)
					batches <- b
				} else {
					free <- b
				}
				if err != nil {
					if err != io.EOF {
						readErr = err
					}
					return
				}
			}
		}
		b := <-free
		var first time.Time // when the batch's first packet was read, live
		send := func() {
			newSecrets(b)
			b.decode(dec)
			batches <- b
			b = <-free
		}
		for {
			p, err := src.Next()
			if err == capture.ErrTick {
				// No packet for a while: pass on what there is, and the time.
				if len(b.Packets) > 0 {
					send()
				}
				b.tick = true
				send()
				continue
			}
			if err != nil {
				if err != io.EOF {
					readErr = err
				}
				if newSecrets(b); len(b.Packets) > 0 || len(b.secrets) > 0 || b.dropsNew {
					b.decode(dec)
					batches <- b
				}
				return
			}
			if len(b.Buf)+len(p.Data) > cap(b.Buf) && len(b.Packets) > 0 {
				send()
			} else if dropsChanger != nil && dropsChanger.DropsChanged() && len(b.Packets) > 0 {
				// Drops told between the packets before and this one.
				send()
			}
			// Zero-copy data is only valid until the next read.
			off := len(b.Buf)
			b.Buf = append(b.Buf, p.Data...)
			p.Data = b.Buf[off:len(b.Buf):len(b.Buf)]
			b.Packets = append(b.Packets, p)
			if live {
				// A batch a packet costs a hand-over between goroutines a
				// packet, which halves the rate at which a burst waiting in
				// the kernel's ring is drained (BenchmarkLiveRun); a batch
				// goes when full, when no packet came (ErrTick), or once
				// its first packet has waited liveBatchWait.
				if len(b.Packets) == 1 {
					first = time.Now()
				} else if time.Since(first) >= liveBatchWait {
					send()
				}
			}
		}
	}()
	// Live, a stall is said when its silence reaches the timeout: a timer
	// wakes the analysis then, busy link or idle. From a stream (a pipe:
	// Live without a live source) the clock is the capture's, which only
	// packets move.
	stalls := newStallClock(a, live)
	for {
		b, ok := stalls.next(batches)
		if !ok {
			break
		}
		if b == nil {
			continue // woken for a stall
		}
		for _, sec := range b.secrets {
			a.AddSecrets(sec)
		}
		if b.tick {
			a.Tick(time.Now())
		}
		for i := range b.Packets {
			a.frameIn(&b.Packets[i], &b.decoded[i])
		}
		if b.dropsNew {
			// Told after the batch's packets were read: at the last one's
			// time, live at the clock's.
			at := a.now
			if live {
				at = time.Now()
			}
			a.dropped(at, b.drops, b.dropsIn)
		}
		// After the drops: a stall is not said on a silence they explain.
		if a.opts.Live && !live && len(b.Packets) > 0 {
			a.Tick(a.now)
		}
		if cap(b.Buf) > 4*capture.BatchSize {
			// Grown for one huge record: do not keep it.
			b.Buf = make([]byte, 0, capture.BatchSize)
		}
		b.Buf, b.Packets, b.decoded, b.tick, b.secrets, b.dropsNew = b.Buf[:0], b.Packets[:0], b.decoded[:0], false, b.secrets[:0], false
		free <- b
	}
	if dropSrc != nil {
		// The reading is over: the counts as they stand now (a live
		// source's last refresh), for the connections still open.
		at := a.now
		if live {
			at = time.Now()
		}
		var in []capture.Drops
		if inputDrops != nil {
			in = inputDrops.InputDrops()
		}
		a.dropped(at, dropSrc.Drops(), in)
	}
	return readErr
}

// stallClock wakes a live analysis when a stall is due (Analyzer.stallDue).
type stallClock struct {
	a     *Analyzer
	timer *time.Timer // nil: not live
}

func newStallClock(a *Analyzer, live bool) *stallClock {
	c := &stallClock{a: a}
	if live && a.opts.Live && a.OnResult != nil {
		c.timer = time.NewTimer(time.Hour)
	}
	return c
}

// next returns the next batch, false when there are no more, or nil
// after a stall was looked for at its due time.
func (c *stallClock) next(batches <-chan *batch) (*batch, bool) {
	if c.timer == nil {
		b, ok := <-batches
		return b, ok
	}
	at := c.a.stallDue
	if gap := c.a.lastStallScan.Add(stallScanGap); gap.After(at) {
		at = gap
	}
	c.timer.Reset(max(time.Until(at), time.Millisecond))
	select {
	case b, ok := <-batches:
		return b, ok
	case <-c.timer.C:
		c.a.Tick(time.Now())
		return nil, true
	}
}

// liveBatchWait bounds how long a live packet waits in a batch that is
// not full, so that verdicts wait for it little more than for the kernel
// (capture.BlockTimeout).
const liveBatchWait = 10 * time.Millisecond

// batch is a run of captured packets and what the link decoder made of
// each, decoded in the reading goroutine.
type batch struct {
	capture.Batch
	secrets []capture.Secret // Decryption Secrets Blocks read before these packets
	// drops: what the capturing side says it dropped, when it changed
	// (dropsNew) since the batch before.
	drops    capture.Drops
	dropsNew bool
	dropsIn  []capture.Drops // with several inputs, each one's
	decoded  []decoded
	tick     bool // no packets: the time passed
}

func (b *batch) decode(dec *linkDecoder) {
	b.decoded = slices.Grow(b.decoded[:0], len(b.Packets))[:len(b.Packets)]
	for i := range b.Packets {
		p, d := &b.Packets[i], &b.decoded[i]
		d.seg = segment{}
		d.res = dec.decode(p.Link, p.Data, &d.seg, &d.icmp)
	}
}

func key(x, y netip.AddrPort) [2]netip.AddrPort {
	if x.Addr().Less(y.Addr()) || (x.Addr() == y.Addr() && x.Port() < y.Port()) {
		return [2]netip.AddrPort{x, y}
	}
	return [2]netip.AddrPort{y, x}
}

// Packet processes one captured frame.
func (a *Analyzer) Packet(data []byte, ci gopacket.CaptureInfo, link layers.LinkType) {
	p, d := &a.onePacket, &a.one
	// Frames are numbered as they come, from 1.
	*p, *d = capture.Packet{Data: data, CI: ci, Link: link, Frame: a.Stats.Packets + 1}, decoded{}
	d.res = a.dec.decode(link, data, &d.seg, &d.icmp)
	a.frameIn(p, d)
}

// frameIn processes a frame whose link layers are decoded.
func (a *Analyzer) frameIn(p *capture.Packet, f *decoded) {
	ci, link := p.CI, p.Link
	a.cur = p
	atomic.AddInt64(&a.Stats.Packets, 1)
	atomic.AddInt64(&a.Stats.Bytes, int64(ci.CaptureLength))
	t := ci.Timestamp
	if a.Stats.First.IsZero() || t.Before(a.Stats.First) {
		a.Stats.First = t
	}
	if t.After(a.now) {
		a.now = t
	}
	a.Stats.Last = a.now
	seg := &f.seg
	switch f.res {
	case notTCP:
		a.Stats.NotTCP++
		return
	case unsupportedLink:
		a.Stats.UnsupportedLink++
		a.Stats.UnsupportedLinkTypes[link]++
		return
	case malformed:
		a.Stats.Malformed++
		return
	case ipFragment:
		a.Stats.IPFragments++
		return
	case icmpError:
		a.Stats.NotTCP++
		a.icmpError(f, t)
		return
	case decodedUDP:
		a.Stats.NotTCP++
		a.cur = p
		a.datagram(seg, t)
		if a.now.Sub(a.lastSweep) >= time.Second {
			a.sweep()
		}
		return
	}
	a.Stats.TCPPackets++
	if seg.truncated || ci.CaptureLength < ci.Length {
		a.Stats.Truncated++
	}
	a.segment(seg, ci)
	if a.now.Sub(a.lastSweep) >= time.Second {
		a.sweep()
	}
}

func (a *Analyzer) newConn(seg *segment, t time.Time) *conn {
	tcp := &seg.tcp
	c := &conn{id: a.newStream(TransportTCP), first: t}
	if a.cur != nil {
		c.input = a.cur.Input
	}
	if a.opts.Shard.On() {
		a.markForeign(c, seg)
	}
	if testHookNewConn != nil {
		testHookNewConn(int(c.id), seg, t)
	}
	// Who is the client: the SYN's sender, the SYN-ACK's receiver, else the
	// side talking to a well-known TLS port or the higher port.
	switch {
	case tcp.SYN && !tcp.ACK:
		c.ep = [2]netip.AddrPort{seg.src, seg.dst}
		c.rolesByTCP = true
	case tcp.SYN && tcp.ACK:
		c.ep = [2]netip.AddrPort{seg.dst, seg.src}
		c.rolesByTCP = true
	case a.tlsPorts[seg.dst.Port()] && !a.tlsPorts[seg.src.Port()], seg.src.Port() > seg.dst.Port():
		c.ep = [2]netip.AddrPort{seg.src, seg.dst}
	default:
		c.ep = [2]netip.AddrPort{seg.dst, seg.src}
	}
	return c
}

func (a *Analyzer) segment(seg *segment, ci gopacket.CaptureInfo) {
	tcp := &seg.tcp
	t := ci.Timestamp
	if a.opts.Shard.On() && a.otherShard(seg, t) {
		return
	}
	k := key(seg.src, seg.dst)
	c := a.table[k]
	side := 0
	if c != nil && c.ep[1] == seg.src {
		side = 1
	}
	// Port reuse, as Wireshark decides it: a SYN whose sequence number
	// differs from the one this side started with opens a new stream.
	if c != nil && newSYN(tcp, c.isnSet[side], c.isn[side]) {
		a.finish(c, c.last)
		if c.list != nil {
			// Out of its list too: expiring later, it would take the new
			// connection out of the table.
			c.list.remove(c)
		}
		c = nil
	}
	if c == nil {
		if a.lateOfGone(k, seg) {
			return
		}
		c = a.newConn(seg, t)
		a.table[k] = c
		side = 0
		if c.ep[1] == seg.src {
			side = 1
		}
	}
	if a.vantage != nil && a.vantageCopy(c, side, seg, t) {
		return // seen at another capture point already: counted once
	}
	if t.After(c.last) {
		c.last = t
	}
	c.frame = a.cur.Frame
	a.tcpFacts(c, side, tcp, t, seg.truncated || ci.CaptureLength < ci.Length)
	if a.opts.KeepPackets && !c.dropFrames {
		a.keepFrame(c)
	}
	if !c.decided || c.watching {
		a.reassemble(c, side, seg, ci)
		if a.ackedHole {
			// The peer acknowledged bytes the capture lacks: capture loss,
			// and no retransmission will fill the hole.
			a.ackedHole = false
			a.skipHoles(c, 1-side, t, false)
		}
		if c.socks && c.tls != nil && c.tls.TunnelStarted() {
			// Wireshark's SOCKS dissector (TCP port 1080) makes a second
			// conversation at the tunnel's first packet, which takes a
			// tcp.stream number: so do we, for the numbers to agree.
			c.socks = false
			a.newStream(TransportTCP)
		}
		if (tcp.FIN || tcp.RST) && c.tls != nil && !c.decided {
			// After its bytes: an alert-sized record just before proves an alert.
			c.tls.Closed(decoder.Dir(side), t)
			if tcp.RST {
				c.tls.Reset()
			}
			if c.tls.Decided() {
				a.decide(c)
			}
		}
	}
	a.place(c)
	if c.closed && c.sawPayload && c.tcp.Side[0].RST.IsZero() && c.tcp.Side[1].RST.IsZero() {
		// A FIN from each side after data: nothing that comes later changes
		// the verdict, and the tombstone keeps the stream number for late
		// packets. A reset lingers briefly instead: what its named sender
		// does after it tells whether it really sent it.
		a.end(k, c)
	}
	if len(a.table) > a.opts.MaxConnections {
		a.judgeEarly()
	}
	if a.handshaking.n > a.opts.MaxHandshakes {
		a.judgeEarlyAt(a.handshaking.head)
	}
}

// newSYN reports a SYN that starts another stream on the same addresses
// and ports, as Wireshark decides port reuse: its sequence number differs
// from the one that side started with.
func newSYN(tcp *tcpHeader, isnSet bool, isn uint32) bool {
	return tcp.SYN && !tcp.ACK && isnSet && tcp.Seq != isn
}

// lateOfGone reports whether seg is a late packet of a connection already
// judged, which keeps its stream number, as in Wireshark; a SYN with a new
// sequence number forgets the tombstone and starts another connection.
func (a *Analyzer) lateOfGone(k [2]netip.AddrPort, seg *segment) bool {
	g, h, ok := a.gone.find(k)
	if !ok {
		return false
	}
	gs := 0
	if (seg.src == k[0]) != g.clientFirst {
		gs = 1
	}
	if !newSYN(&seg.tcp, g.isnSet[gs], g.isn[gs]) {
		return true
	}
	a.gone.forget(h)
	return false
}

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
				r.Open, r.EndedBy = true, EndedOpen
				c.reported = true
				a.OnResult(r)
			}
		}
		if st := c.tls.State().Phase; st == decoder.PhaseComplete || st == decoder.PhaseResumed {
			a.dropFrames(c) // a good handshake: nothing to write out
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

func (a *Analyzer) keepFrame(c *conn) {
	if !a.keepCurrent(&c.frames, &c.keptBytes) {
		c.framesCut = true
	}
}

// keepCurrent adds a copy of the frame being read to a connection's
// frames, within the caps (false: over them, not kept).
func (a *Analyzer) keepCurrent(frames *[]capture.Packet, kept *int32) bool {
	n := len(a.cur.Data)
	if int(*kept)+n > maxKeptPerConn || a.kept+n > maxKeptTotal {
		return false
	}
	p := *a.cur
	p.Data = append([]byte(nil), p.Data...)
	*frames = append(*frames, p)
	*kept += int32(n)
	a.kept += n
	return true
}

func (a *Analyzer) dropFrames(c *conn) {
	a.kept -= int(c.keptBytes)
	c.frames, c.keptBytes, c.dropFrames = nil, 0, true
}

// Tick tells a live analysis the time when no packet came: idle
// connections expire, and a handshake whose owed side has been silent
// for the stall timeout is reported as stalled while still open; its
// final record follows, marked as an update, when it ends.
func (a *Analyzer) Tick(now time.Time) {
	if now.After(a.now) {
		a.now = now
	}
	if a.now.Sub(a.lastSweep) >= time.Second {
		a.sweep()
	}
	if !a.opts.Live || a.OnResult == nil {
		return
	}
	// Live only: a side may be silent while its peer keeps the connection
	// busy (retransmitting a ClientHello), so the whole lists are looked
	// at, bounded by MaxConnections, when the earliest silence reaches the
	// stall timeout, and no more often than stallScanGap.
	if a.now.Before(a.stallDue) || a.now.Sub(a.lastStallScan) < stallScanGap {
		return
	}
	a.lastStallScan = a.now
	// A connection that begins after this scan stalls no sooner than this.
	due := a.now.Add(a.opts.StallTimeout)
	a.quicStalls(&due)
	nowNs := a.now.UnixNano()
	for _, l := range []*connList{&a.handshaking, &a.active} {
		for c := l.head; c != nil; c = c.nextConn {
			if c.decided || c.reported || c.finished || c.closing() {
				continue
			}
			if seen := c.last.UnixNano(); c.stallSeen == seen && c.stallAt > nowNs {
				// No packet since its deadline was worked out.
				due = earlier(due, time.Unix(0, c.stallAt))
				continue
			}
			last := c.last
			c.last = a.now // judge up to now
			r := a.result(c)
			c.last = last
			if r == nil || r.Outcome != Stalled {
				// Not stalled: looked at again when its owing side's
				// silence reaches the timeout, or, when it has and that
				// did not make a stall (a capture missing a side), after
				// its next packet.
				c.stallAt, c.stallSeen = math.MaxInt64, last.UnixNano()
				if r != nil && r.Stall != nil {
					if at := r.Stall.Since.Add(a.opts.StallTimeout); at.After(a.now) {
						c.stallAt = at.UnixNano()
						due = earlier(due, at)
					}
				}
				continue
			}
			r.Open, r.EndedBy, r.ClosedBy = true, EndedOpen, nil
			c.reported, c.provisional = true, true
			a.OnResult(r)
		}
	}
	a.stallDue = due
}

// stallScanGap bounds how often live mode looks for stalls (each look
// judges every handshake whose deadline passed or whose packets changed
// it): a stall is said at most this late.
const stallScanGap = 50 * time.Millisecond

func earlier(x, y time.Time) time.Time {
	if y.Before(x) {
		return y
	}
	return x
}

func (a *Analyzer) noteTLSPort(c *conn) {
	if c.tls != nil && c.tls.ServerHelloSeen() {
		a.tlsPorts[c.ep[1-c.tls.ClientDir()].Port()] = true
	}
}

// tcpFacts records the TCP-level facts of one segment.
func (a *Analyzer) tcpFacts(c *conn, side int, tcp *tcpHeader, t time.Time, truncated bool) {
	f := &c.tcp
	sf := &f.Side[side]
	sf.Packets++
	c.lastPkt[side] = t.UnixNano()
	switch {
	case tcp.RST:
		if sf.RST.IsZero() { // that of the RST the facts keep, the first
			sf.RSTTTL = tcp.TTL
		}
	case sf.Packets == 1 || sf.TTL == 0 && sf.RSTTTL != 0 && !sf.TTLVaries:
		sf.TTL = tcp.TTL
	case tcp.TTL != sf.TTL:
		sf.TTLVaries = true
	}
	if tcp.ACK && !tcp.SYN {
		sf.Acks++
	}
	if tcp.SYN && tcp.MSS != 0 {
		sf.MSS = tcp.MSS
	}
	if !tcp.RST && !sf.RST.IsZero() && (len(tcp.Payload) > 0 || tcp.FIN) {
		if x := c.rareFacts(); x.after[side].AfterRST.IsZero() {
			x.after[side].AfterRST, x.after[side].AfterRSTFIN = t, tcp.FIN
		}
	}
	if tcp.HasSACK {
		if c.seqs == nil {
			c.seqs = new(seqFacts)
		}
		if l := c.seqs.loss(); !l.sackSet[side] || seqLT(l.sack[side], tcp.SACK) {
			l.sack[side], l.sackSet[side] = tcp.SACK, true
		}
		for _, b := range tcp.SACKBlocks[:tcp.NSACK] {
			c.seqs.addSACK(side, b)
		}
	}
	if truncated {
		if f.Truncated < 3 {
			// The first few, for the finding to cite.
			c.event(Event{Time: t, From: decoder.Side(side), Kind: "truncated"})
		}
		f.Truncated++
	}
	if !c.isnSet[side] {
		c.isn[side], c.isnSet[side] = tcp.Seq, true
		c.next[side] = tcp.Seq
		if tcp.SYN {
			c.next[side] = tcp.Seq + 1
		}
	}
	if tcp.SYN && c.closed {
		// The same SYN again after a reset: the connection starts over
		// (Wireshark keeps its stream number); forget how it ended.
		for i := range f.Side {
			f.Side[i].FIN, f.Side[i].RST = time.Time{}, time.Time{}
		}
		c.closed = false
	}
	switch {
	case tcp.SYN && !tcp.ACK:
		c.synSeq[side] = tcp.Seq
		if f.SYN.IsZero() {
			f.SYN = t
			c.synSeen[side] = true
			c.event(Event{Time: t, From: decoder.Side(side), Kind: "SYN"})
		} else {
			c.event(Event{Time: t, From: decoder.Side(side), Kind: "SYN", Note: "retransmitted"})
		}
	case tcp.SYN && tcp.ACK:
		c.synSeq[side] = tcp.Seq
		if f.SYNACK.IsZero() {
			f.SYNACK = t
			c.synSeen[side] = true
			c.event(Event{Time: t, From: decoder.Side(side), Kind: "SYN-ACK"})
		}
	}
	if tcp.ACK {
		if !c.ackSet[side] || seqLT(c.ackMax[side], tcp.Ack) {
			c.ackMax[side], c.ackSet[side] = tcp.Ack, true
			if c.seqs != nil && len(c.seqs.holes[1-side]) > 0 {
				a.ackedHole = true // skipHoles after this segment is assembled
			}
		}
		if f.Established.IsZero() && !f.SYNACK.IsZero() && side == 0 && !tcp.SYN {
			f.Established = t
		}
	}
	if tcp.Window == 0 && !tcp.SYN && !tcp.RST && !tcp.FIN {
		f.Side[side].ZeroWindows++
		if f.Side[side].ZeroWindows == 1 {
			c.event(Event{Time: t, From: decoder.Side(side), Kind: "zero window"})
		}
	}
	if n := uint32(len(tcp.Payload)); n > 0 {
		sf.MaxSegment = max(sf.MaxSegment, int32(n))
		if c.seqs == nil {
			c.seqs = new(seqFacts)
		}
		start, end := tcp.Seq, tcp.Seq+n
		switch {
		case seqLE(end, c.next[side]):
			// Old data: a hole being filled (out of order) or a retransmission.
			if c.fillHole(side, start, end) {
				f.Side[side].OutOfOrder++
			} else {
				f.Side[side].Retransmissions++
				if len(c.seqs.retrans[side]) < 16 {
					c.seqs.retrans[side] = append(c.seqs.retrans[side], seqRange{c.rel(side, start), c.rel(side, end)})
				}
				c.retransmission(side, t, c.rel(side, start), n)
			}
		default:
			if seqLT(c.next[side], start) && len(c.seqs.holes[side]) < 8 {
				c.seqs.holes[side] = append(c.seqs.holes[side], seqRange{c.next[side], start})
			}
			if seqLT(start, c.next[side]) {
				// Partly old, partly new: count the new part.
				n = end - c.next[side]
			}
			f.Side[side].Bytes += int64(n)
			f.Side[side].LastData = t
			c.next[side] = end
			if !c.decided && len(c.seqs.segs[side]) < 64 { // the ClientHello's and the server flight's
				c.seqs.segs[side] = append(c.seqs.segs[side], seqRange{c.rel(side, start), c.rel(side, end)})
			}
		}
	}
	if tcp.FIN {
		if f.Side[side].FIN.IsZero() {
			f.Side[side].FIN = t
			c.event(Event{Time: t, From: decoder.Side(side), Kind: "FIN"})
		}
		c.next[side] = tcp.Seq + uint32(len(tcp.Payload)) + 1
	}
	if tcp.RST && f.Side[side].RST.IsZero() {
		f.Side[side].RST = t
		c.event(Event{Time: t, From: decoder.Side(side), Kind: "RST"})
	}
	if !f.Side[0].RST.IsZero() || !f.Side[1].RST.IsZero() || (!f.Side[0].FIN.IsZero() && !f.Side[1].FIN.IsZero()) {
		c.closed = true
	}
}

func relNote(start, n uint32) string {
	return "seq " + strconv.Itoa(int(start)) + ", " + strconv.Itoa(int(n)) + " bytes"
}

// fillHole reports whether [start,end) falls in a hole left by an earlier
// jump in sequence numbers, and shrinks that hole.
func (c *conn) fillHole(side int, start, end uint32) bool {
	for i, h := range c.seqs.holes[side] {
		if seqLE(h.start, start) && seqLE(end, h.end) || seqLT(start, h.end) && seqLT(h.start, end) {
			switch {
			case seqLE(start, h.start) && seqLE(h.end, end):
				c.seqs.holes[side] = append(c.seqs.holes[side][:i], c.seqs.holes[side][i+1:]...)
			case seqLE(start, h.start):
				c.seqs.holes[side][i].start = end
			case seqLE(h.end, end):
				c.seqs.holes[side][i].end = start
			default:
				c.seqs.holes[side][i].end = start
				if len(c.seqs.holes[side]) < 8 {
					c.seqs.holes[side] = append(c.seqs.holes[side], seqRange{end, h.end})
				}
			}
			return true
		}
	}
	return false
}

// sweep expires idle connections and lets the reassembler give up on
// segments that will not come, all on the capture clock. It looks only at
// the fronts of the lists, where the connections quiet the longest are.
func (a *Analyzer) sweep() {
	a.lastSweep = a.now
	a.asm.FlushCloseOlderThan(a.now.Add(-10 * time.Second))
	// A FIN from one side: two seconds of capture time for the other's
	// data and FIN; data after a FIN no longer changes a verdict.
	for c := a.closing.head; c != nil && a.now.Sub(c.last) > closingLinger; c = a.closing.head {
		a.end(key(c.ep[0], c.ep[1]), c)
	}
	for c := a.refused.head; c != nil && a.now.Sub(c.last) > refusedLinger; c = a.refused.head {
		a.end(key(c.ep[0], c.ep[1]), c)
	}
	for _, l := range []*connList{&a.active, &a.handshaking} {
		for c := l.head; c != nil && a.now.Sub(c.last) > a.opts.IdleTimeout; c = l.head {
			c.endedIdle = true
			a.end(key(c.ep[0], c.ep[1]), c)
		}
	}
	if a.opts.Shard.On() {
		a.sweepGhosts()
	}
	a.sweepQUIC()
	a.gone.turn(a.now)
}

// socksPort is the port Wireshark's SOCKS dissector is registered on.
const socksPort = 1080

const (
	closingLinger = 2 * time.Second
	refusedLinger = time.Minute
)

// end judges a connection now, as of its last packet, and leaves a
// tombstone for its late packets.
func (a *Analyzer) end(k [2]netip.AddrPort, c *conn) { a.endAt(k, c, c.last) }

func (a *Analyzer) endAt(k [2]netip.AddrPort, c *conn, at time.Time) {
	a.finish(c, at)
	if c.list != nil {
		c.list.remove(c)
	}
	delete(a.table, k)
	a.gone.bury(k, c, a.now)
	// A map that keeps taking and losing entries fills with deleted
	// slots that lookups must step over; copy it anew now and then.
	if a.deletes++; a.deletes > 4*len(a.table)+4096 {
		fresh := make(map[[2]netip.AddrPort]*conn, len(a.table))
		for k, c := range a.table {
			fresh[k] = c
		}
		a.table = fresh
		a.deletes = 0
	}
}

// judgeEarly makes room in a full table: the connection quiet the longest
// is judged on what was seen.
// A connection already reset or closed goes first: its verdict is final,
// and only a SYN again with the same sequence number would now get a new
// stream number.
func (a *Analyzer) judgeEarly() {
	if c := a.refused.head; c != nil {
		a.end(key(c.ep[0], c.ep[1]), c)
		return
	}
	var c *conn
	for _, l := range []*connList{&a.active, &a.handshaking, &a.closing} {
		if l.head != nil && (c == nil || l.head.last.Before(c.last)) {
			c = l.head
		}
	}
	a.judgeEarlyAt(c)
}

// judgeEarlyAt judges c, still open, up to now, as at the end of a capture.
func (a *Analyzer) judgeEarlyAt(c *conn) {
	if c == nil {
		return
	}
	c.judgedEarly = true
	a.Stats.JudgedEarly++
	a.endAt(key(c.ep[0], c.ep[1]), c, a.now)
}

// place moves a connection that just had a packet to the back of its list.
func (a *Analyzer) place(c *conn) {
	l := &a.active
	switch {
	case c.closed && !c.sawPayload:
		l = &a.refused
	case c.closing():
		l = &a.closing
	case c.tls != nil && !c.decided && !c.finished:
		l = &a.handshaking
	}
	if c.list != nil {
		c.list.remove(c)
	}
	l.push(c)
}

// Finish judges every connection still open at the end of the capture
// and returns the results not yet given to OnResult, ordered by stream.
func (a *Analyzer) Finish() []*Result {
	a.asm.FlushAll()
	open := make([]*conn, 0, len(a.table))
	for k, c := range a.table {
		open = append(open, c)
		delete(a.table, k)
	}
	sort.Slice(open, func(i, j int) bool { return open[i].id < open[j].id })
	for _, c := range open {
		if c.list != nil {
			c.list.remove(c)
		}
		at := a.now // still open: judged up to the capture's end
		if c.closing() {
			at = c.last
		}
		a.finish(c, at)
	}
	var out []*Result
	for _, c := range a.done {
		if r := a.result(c); r != nil {
			out = append(out, r)
		}
	}
	a.done = nil
	// After the TCP results, which link their QUIC attempts (fallbackOf).
	for c := a.quic.list.head; c != nil; c = a.quic.list.head {
		a.endQUIC(c, a.now)
	}
	for _, c := range a.quic.done {
		if r := a.quicResult(c); r != nil && a.ownQUIC(r) {
			out = append(out, r)
		}
		a.dropQUICFrames(c)
	}
	a.quic.done = nil
	// TCP connections first, then QUIC ones, each by stream number.
	sort.Slice(out, func(i, j int) bool { return out[i].ID().Compare(out[j].ID()) < 0 })
	return out
}

// finish ends a connection. Without OnResult, connections are judged at
// the end, when every port that carried TLS is known. With OnResult they
// are judged now and handed over as they end, with their stream numbers:
// nothing waits for an earlier stream, so memory follows the connections
// open at once, not the capture. Live, a verdict given while the
// connection was open is final unless it was a stall, which the final
// result updates.
func (a *Analyzer) finish(c *conn, at time.Time) {
	if c.finished {
		return
	}
	c.finished = true
	c.last = at
	if c.vantage != nil {
		cd := 0
		if c.tls != nil {
			cd = int(c.tls.ClientDir())
		}
		c.tcp.Vantage, c.vantage = c.vantageFacts(a.vantage, cd), nil
	}
	// What waits behind holes the capture will never fill goes to the
	// decoder before the verdict.
	for side := range 2 {
		a.skipHoles(c, side, at, true)
	}
	// Let the reassembler free its side now, not after its flush window:
	// ten seconds of a busy capture's connections.
	a.retire(c)
	if c.stream != nil {
		// The reassembler may keep its half of a quiet connection for a
		// while: let it hold nothing of ours.
		c.stream.c = nil
		c.stream = nil
	}
	if c.tls != nil {
		c.tls.Release()
		if c.tls.Decided() {
			a.noteTLSPort(c)
		}
	}
	if a.opts.Shard.On() && a.foreignConn(c) {
		a.dropFrames(c) // another shard's: analysed, not reported
		return
	}
	if a.OnResult == nil {
		a.done = append(a.done, c)
		return
	}
	if c.reported && !c.provisional {
		a.dropFrames(c)
		return
	}
	if r := a.result(c); r != nil {
		r.Update = c.provisional
		a.OnResult(r)
	}
	a.dropFrames(c)
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

// AddSecrets takes a pcapng Decryption Secrets Block: a TLS key log is
// added to the key log, which is made now if none was given; connections
// that start from now on are decrypted with it.
func (a *Analyzer) AddSecrets(s capture.Secret) {
	if s.SecretsType != capture.SecretsTLSKeyLog {
		a.Stats.SecretsIgnored++
		return
	}
	if a.opts.KeyLog == nil {
		a.opts.KeyLog = decoder.NewKeyLog()
		a.keyLog.Store(a.opts.KeyLog)
	}
	if a.keys == nil {
		a.keys = decoder.NewLogKeys(a.opts.KeyLog)
	}
	lines, bad, _ := a.opts.KeyLog.Add("pcapng Decryption Secrets Block", bytes.NewReader(s.Data))
	a.Stats.SecretLines += lines
	a.Stats.SecretsBad = append(a.Stats.SecretsBad, bad...)
}

// KeyLog is the key log in use (nil: none given and none in the capture
// so far); safe to call from another goroutine.
func (a *Analyzer) KeyLog() *decoder.KeyLog { return a.keyLog.Load() }

// BudgetExceeded counts the connections decoded no further because the
// handshake budget was spent.
func (a *Analyzer) BudgetExceeded() int64 { return a.budget.Exceeded }

// Progress returns the packets read so far; safe to call from another
// goroutine for a progress display (a torn read only shows a stale count).
func (a *Analyzer) Progress() int64 { return atomicLoad(&a.Stats.Packets) }

// ProgressBytes returns the bytes read so far.
func (a *Analyzer) ProgressBytes() int64 { return atomicLoad(&a.Stats.Bytes) }

// testHookNewConn, when set by a test, sees each new stream number.
var testHookNewConn func(id int, seg *segment, t time.Time)

// closing reports whether either side sent FIN or RST.
func (c *conn) closing() bool {
	f := &c.tcp
	return c.closed || !f.Side[0].FIN.IsZero() || !f.Side[1].FIN.IsZero() || !f.Side[0].RST.IsZero() || !f.Side[1].RST.IsZero()
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
