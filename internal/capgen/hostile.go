package capgen

// Hostile and huge captures: the shapes of a busy server or an attack,
// for measuring tlsscope's memory and time (make bench-hostile).
//
// Nothing here runs crypto/tls per connection: one real handshake is
// recorded with the simulator (recordTemplates) and stamped per copy with
// new addresses, ports, sequence numbers and times. Packets are written
// in time order as they are made: a heap holds one cursor per open
// connection, never the capture. The shape of every capture (counts,
// addresses, ports, sequence numbers, times) comes from fixed seeds; the
// recorded handshake's random bytes are fixed only when the caller fixes
// crypto randomness (as the tests do).

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"container/heap"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// HostileCase is one hostile capture.
type HostileCase struct {
	Name string
	File string // file name to write it under
	Doc  string
}

// HostileCases lists the cases in the order the bench runs them.
func HostileCases() []HostileCase {
	return []HostileCase{
		{"longlived", "longlived.pcap", "one TLS connection open for the whole capture (a ping each way every second), then 500,000 short complete TLS 1.3 connections over 100 s"},
		{"synflood", "synflood.pcap", "2,000,000 SYNs to :443 from distinct pseudo-random sources, never answered, over 60 s"},
		{"portscan", "portscan.pcap", "1,000,000 SYNs from one scanner to every port of 16 hosts in pseudo-random order, each answered by RST, over 10 s"},
		{"stalls", "stalls.pcap", "300,000 connections over 30 s whose ClientHello is acknowledged but never answered; the client gives up with a FIN after 5 s"},
		{"bighello", "bighello.pcap", "10,000 connections over 10 s sending a ClientHello whose length field says 262,140 bytes, 1448 bytes every 50 ms (9 s each); the server then answers with a decode_error alert"},
		{"ngbomb-1g", "ngbomb-1g.pcapng.gz", "gzipped pcapng: a complete connection, an Enhanced Packet Block of 1 GiB of zeros (interface snaplen 0), another complete connection"},
		{"ngbomb-4g", "ngbomb-4g.pcapng.gz", "as ngbomb-1g with a block of 4 GiB - 4 bytes (the largest a block length can say)"},
		{"zerorecords", "zerorecords.pcap.gz", "gzipped pcap: a header followed by 20 GiB of all-zero 16-byte record headers (1,342,177,280 zero-length records)"},
		{"garbage", "garbage.pcap", "a pcap header followed by 16 MiB of pseudo-random bytes"},
		{"quicflood", "quicflood.pcap", "300,000 QUIC v1 client Initials over 30 s, each from its own source with its own connection ID and a real ClientHello, never answered"},
		{"trickle", "trickle.pcap", "one connection whose ClientHello claims 16 MB (length 0xFFFFFF), sent steadily as 1448 bytes every 10 ms over 10,000 segments; the capture ends while the client is still sending"},
		{"dtlsflood", "dtlsflood.pcap", "300,000 DTLS 1.2 ClientHellos to UDP 4433 over 30 s, each from its own source (its own association), sent once and never answered"},
		{"dtlsfragbomb", "dtlsfragbomb.pcap", "2,000 DTLS associations each sending 300 ClientHello fragments of 1,200 bytes over 30 s that say the message is 16 MiB (length 0xFFFFFF), at pseudo-random offsets, every other one overlapping the one before by half (about 270 KB apiece, 540 MB in all, held at once); never answered"},
	}
}

// HostileTruth is what a hostile capture holds, for checking tlsscope's
// verdicts by count.
type HostileTruth struct {
	Case  string  `json:"case"`
	File  string  `json:"file"`
	Doc   string  `json:"doc"`
	Scale float64 `json:"scale"`
	// Conns is the number of TCP connections written.
	Conns int `json:"conns"`
	// Rows are the connections tlsscope should report, by outcome, with
	// its default stall timeout (HostileStallTimeout). A connection that
	// sent no payload is reported only on a TLS port (HostileTLSPorts).
	Rows map[string]int `json:"rows"`
	// TCPOnly is how many of the rows carried no payload byte.
	TCPOnly int `json:"tcp_only"`
	// Warn: the file is malformed or degenerate; tlsscope should say so
	// on stderr (or fail) rather than exit 0 in silence.
	Warn bool `json:"warn"`
	// Packets is the number of packet records written; Bytes the bytes
	// written (compressed, for a gzip case); Raw the uncompressed bytes.
	Packets int64 `json:"packets"`
	Bytes   int64 `json:"bytes"`
	Raw     int64 `json:"raw_bytes"`
}

// RowCount is the number of rows the truth expects.
func (t HostileTruth) RowCount() int {
	n := 0
	for _, v := range t.Rows {
		n += v
	}
	return n
}

// HostileStallTimeout is tlsscope's default stall timeout, which the
// truth of the SYN flood depends on.
const HostileStallTimeout = 2 * time.Second

// HostileTLSPorts are the ports on which tlsscope reports a connection
// that carried no byte (flows.TLSPorts).
var HostileTLSPorts = map[uint16]bool{443: true, 8443: true, 465: true, 636: true, 853: true, 993: true, 995: true, 5061: true}

// WriteHostile writes the named case at scale (1 is the full size; 0.001
// makes a tiny one) and returns its truth.
func WriteHostile(w io.Writer, name string, scale float64) (HostileTruth, error) {
	if scale <= 0 {
		scale = 1
	}
	var hc HostileCase
	for _, c := range HostileCases() {
		if c.Name == name {
			hc = c
		}
	}
	if hc.Name == "" {
		return HostileTruth{}, fmt.Errorf("capgen: no hostile case %q", name)
	}
	cw := &countWriter{w: w}
	bw := bufio.NewWriterSize(cw, 1<<20)
	t := HostileTruth{Case: name, File: hc.File, Doc: hc.Doc, Scale: scale, Rows: map[string]int{}}
	var err error
	switch name {
	case "longlived":
		err = writeLongLived(bw, &t, scaled(500_000, scale))
	case "synflood":
		err = writeSYNFlood(bw, &t, scaled(2_000_000, scale))
	case "portscan":
		err = writePortScan(bw, &t, scaled(1_000_000, scale))
	case "stalls":
		err = writeStalls(bw, &t, scaled(300_000, scale))
	case "bighello":
		err = writeBigHello(bw, &t, scaled(10_000, scale))
	case "ngbomb-1g":
		err = writeNgBomb(bw, &t, int64(float64(1<<30)*scale))
	case "ngbomb-4g":
		err = writeNgBomb(bw, &t, int64(float64(0xFFFFFFFC)*scale))
	case "zerorecords":
		err = writeZeroRecords(bw, &t, int64(float64(20<<30)*scale))
	case "garbage":
		err = writeGarbage(bw, &t, int64(float64(16<<20)*scale))
	case "trickle":
		err = writeTrickle(bw, &t, scaled(10_000, scale))
	case "quicflood":
		err = writeQUICFlood(bw, &t, scaled(300_000, scale))
	case "dtlsflood":
		err = writeDTLSFlood(bw, &t, scaled(300_000, scale))
	case "dtlsfragbomb":
		err = writeDTLSFragBomb(bw, &t, scaled(2_000, scale), 300)
	}
	if err == nil {
		err = bw.Flush()
	}
	t.Bytes = cw.n
	if t.Raw == 0 {
		t.Raw = cw.n
	}
	return t, err
}

func scaled(n int, scale float64) int { return max(1, int(float64(n)*scale)) }

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// templates are the recorded handshakes, made once per process.
type templates struct {
	short   []segment // TLS 1.3, handshake then close: complete
	stalled []segment // ClientHello never answered, client FIN after 5 s
	long    []segment // TLS 1.3 with a ping each way every second
	hello   []byte    // the short connection's ClientHello record
}

var (
	tmplOnce sync.Once
	tmpl     *templates
)

const hostilePings = 101 // the long connection's pings: longer than the 100 s of longlived

func recordTemplates() *templates {
	tmplOnce.Do(func() {
		p := newPKI()
		cc := clientConfig(p, "shop.example")
		cc.CurvePreferences = []tls.CurveID{tls.X25519} // a small ClientHello: no ML-KEM share
		sc := serverConfig(p, p.shop)
		t := &templates{}
		// A short connection: handshake, close.
		shortClient := func(c net.Conn) {
			tc := tls.Client(c, cc)
			if err := tc.Handshake(); err != nil {
				c.Close()
				return
			}
			tc.Close()
		}
		shortServer := func(c net.Conn) {
			tc := tls.Server(c, sc)
			if err := tc.Handshake(); err != nil {
				c.Close()
				return
			}
			io.Copy(io.Discard, tc)
			tc.Close()
		}
		evs := newSim(rtt).run(shortClient, shortServer)
		t.short = segments(evs, Shaping{}, rtt)
		for _, ev := range evs {
			if ev.side == 0 && ev.kind == evData {
				t.hello = ev.data
				break
			}
		}
		sm := newSim(rtt)
		sm.timeout = [2]time.Duration{5 * time.Second, 0}
		t.stalled = segments(sm.run(client(cc, false), silentServer), Shaping{}, rtt)
		// The long connection.
		ping := []byte("ping\n")
		longClient := func(c net.Conn) {
			tc := tls.Client(c, cc)
			if err := tc.Handshake(); err != nil {
				c.Close()
				return
			}
			buf := make([]byte, len(ping))
			for range hostilePings {
				c.(*simConn).Sleep(time.Second)
				if _, err := tc.Write(ping); err != nil {
					break
				}
				if _, err := io.ReadFull(tc, buf); err != nil {
					break
				}
			}
			tc.Close()
		}
		longServer := serve(sc, func(tc *tls.Conn) {
			tc.Write(ping)
			buf := make([]byte, 64)
			for {
				if _, err := tc.Read(buf); err != nil {
					return
				}
				tc.Write(ping)
			}
		})
		t.long = segments(newSim(rtt).run(longClient, longServer), Shaping{}, rtt)
		tmpl = t
	})
	return tmpl
}

// ep4 are a connection's IPv4 endpoints.
type ep4 struct {
	client, server [4]byte
	cport, sport   uint16
}

func ip4(a, b, c, d byte) [4]byte { return [4]byte{a, b, c, d} }

// flow is one connection being written: a cursor over its segments, from
// a template or made on demand by gen.
type flow struct {
	ep    ep4
	off   [2]uint32 // added to each side's sequence numbers
	start time.Duration
	segs  []segment
	gen   func(k int) (segment, bool)
	k     int
	cur   segment
	order uint64
}

func (f *flow) advance() bool {
	if f.gen != nil {
		s, ok := f.gen(f.k)
		f.k++
		f.cur = s
		return ok
	}
	if f.k >= len(f.segs) {
		return false
	}
	f.cur = f.segs[f.k]
	f.k++
	return true
}

func (f *flow) at() time.Duration { return f.start + f.cur.at }

type flowHeap []*flow

func (h flowHeap) Len() int { return len(h) }
func (h flowHeap) Less(i, j int) bool {
	a, b := h[i].at(), h[j].at()
	if a != b {
		return a < b
	}
	return h[i].order < h[j].order
}
func (h flowHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *flowHeap) Push(x any)   { *h = append(*h, x.(*flow)) }
func (h *flowHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// merger writes the packets of many flows in time order.
type merger struct {
	h     flowHeap
	out   packetWriter
	buf   []byte
	order uint64
	t     *HostileTruth
}

func (m *merger) add(f *flow) {
	if !f.advance() {
		return
	}
	f.order = m.order
	m.order++
	heap.Push(&m.h, f)
}

// drain writes every packet before t (all of them when t < 0).
func (m *merger) drain(t time.Duration) error {
	for len(m.h) > 0 {
		f := m.h[0]
		at := f.at()
		if t >= 0 && at >= t {
			return nil
		}
		m.buf = stamp(m.buf[:0], &f.cur, f.ep, f.off)
		if err := m.out.packet(at, m.buf, len(m.buf)); err != nil {
			return err
		}
		m.t.Packets++
		if f.advance() {
			heap.Fix(&m.h, 0)
		} else {
			heap.Pop(&m.h)
		}
	}
	return nil
}

// stamp appends the Ethernet/IPv4/TCP frame of s, as frame() makes it.
func stamp(b []byte, s *segment, ep ep4, off [2]uint32) []byte {
	src, dst, sport, dport := ep.client, ep.server, ep.cport, ep.sport
	smac, dmac := macClient, macServer
	if s.from == 1 {
		src, dst, sport, dport, smac, dmac = dst, src, dport, sport, dmac, smac
	}
	eth := len(b)
	tcpLen := 20
	if s.syn {
		tcpLen = 24
	}
	ipLen := 20 + tcpLen + len(s.payload)
	b = append(b, dmac...)
	b = append(b, smac...)
	b = append(b, 0x08, 0x00)
	ip := len(b)
	b = append(b, 0x45, 0, byte(ipLen>>8), byte(ipLen), 0, 0, 0x40, 0, 64, 6, 0, 0)
	b = append(b, src[:]...)
	b = append(b, dst[:]...)
	binary.BigEndian.PutUint16(b[ip+10:], ^csumAdd(0, b[ip:ip+20]))
	tcp := len(b)
	seq := s.seq + off[s.from]
	ack := s.ackNo
	if s.ack {
		ack += off[1-s.from]
	}
	var flags byte
	if s.fin {
		flags |= 0x01
	}
	if s.syn {
		flags |= 0x02
	}
	if s.rst {
		flags |= 0x04
	}
	if s.psh {
		flags |= 0x08
	}
	if s.ack {
		flags |= 0x10
	}
	b = binary.BigEndian.AppendUint16(b, sport)
	b = binary.BigEndian.AppendUint16(b, dport)
	b = binary.BigEndian.AppendUint32(b, seq)
	b = binary.BigEndian.AppendUint32(b, ack)
	b = append(b, byte(tcpLen/4)<<4, flags, 0xff, 0xff, 0, 0, 0, 0)
	if s.syn {
		b = append(b, 2, 4, 0x05, 0xa8)
	}
	b = append(b, s.payload...)
	// Pseudo-header: addresses, protocol, TCP length.
	sum := csumAdd(0, b[ip+12:ip+20])
	sum = csumAdd(sum, []byte{0, 6, byte((ipLen - 20) >> 8), byte(ipLen - 20)})
	sum = csumAdd(sum, b[tcp:])
	binary.BigEndian.PutUint16(b[tcp+16:], ^sum)
	for len(b)-eth < 60 { // Ethernet's minimum frame, as gopacket pads it
		b = append(b, 0)
	}
	return b
}

// csumAdd adds data to a ones' complement sum (data of odd length only
// last).
func csumAdd(sum uint16, data []byte) uint16 {
	s := uint64(sum)
	for len(data) >= 8 {
		s += uint64(binary.BigEndian.Uint32(data)) + uint64(binary.BigEndian.Uint32(data[4:]))
		data = data[8:]
	}
	for len(data) >= 2 {
		s += uint64(binary.BigEndian.Uint16(data))
		data = data[2:]
	}
	if len(data) == 1 {
		s += uint64(data[0]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// packetWriter writes packet records.
type packetWriter interface {
	// packet writes a record of caplen bytes at Base+at whose first
	// len(data) bytes are data (the rest is written by the caller).
	packet(at time.Duration, data []byte, caplen int) error
}

type pcapWriter struct {
	w   io.Writer
	hdr [16]byte
}

func newPcapWriter(w io.Writer) (*pcapWriter, error) {
	h := make([]byte, 24)
	binary.LittleEndian.PutUint32(h[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], 262144)
	binary.LittleEndian.PutUint32(h[20:], 1) // Ethernet
	_, err := w.Write(h)
	return &pcapWriter{w: w}, err
}

func (p *pcapWriter) packet(at time.Duration, data []byte, caplen int) error {
	ts := Base.Add(at)
	binary.LittleEndian.PutUint32(p.hdr[0:], uint32(ts.Unix()))
	binary.LittleEndian.PutUint32(p.hdr[4:], uint32(ts.Nanosecond()/1000))
	binary.LittleEndian.PutUint32(p.hdr[8:], uint32(caplen))
	binary.LittleEndian.PutUint32(p.hdr[12:], uint32(caplen))
	if _, err := p.w.Write(p.hdr[:]); err != nil {
		return err
	}
	_, err := p.w.Write(data)
	return err
}

// pcapngWriter writes one section with one Ethernet interface
// (microsecond stamps, snaplen 0: no limit).
type pcapngWriter struct {
	w    io.Writer
	tail []byte
}

func newPcapngWriter(w io.Writer) (*pcapngWriter, error) {
	var b []byte
	le := binary.LittleEndian
	b = le.AppendUint32(b, 0x0A0D0D0A)
	b = le.AppendUint32(b, 28)
	b = le.AppendUint32(b, 0x1A2B3C4D)
	b = le.AppendUint16(b, 1)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint64(b, ^uint64(0)) // section length unknown
	b = le.AppendUint32(b, 28)
	b = le.AppendUint32(b, 1) // IDB
	b = le.AppendUint32(b, 20)
	b = le.AppendUint16(b, 1) // Ethernet
	b = le.AppendUint16(b, 0)
	b = le.AppendUint32(b, 0) // snaplen: none
	b = le.AppendUint32(b, 20)
	_, err := w.Write(b)
	return &pcapngWriter{w: w}, err
}

func (p *pcapngWriter) packet(at time.Duration, data []byte, caplen int) error {
	le := binary.LittleEndian
	pad := (4 - caplen%4) % 4
	total := uint32(32 + caplen + pad)
	us := uint64(Base.Add(at).UnixMicro())
	var h []byte
	h = le.AppendUint32(h, 6)
	h = le.AppendUint32(h, total)
	h = le.AppendUint32(h, 0)
	h = le.AppendUint32(h, uint32(us>>32))
	h = le.AppendUint32(h, uint32(us))
	h = le.AppendUint32(h, uint32(caplen))
	h = le.AppendUint32(h, uint32(caplen))
	if _, err := p.w.Write(h); err != nil {
		return err
	}
	if _, err := p.w.Write(data); err != nil {
		return err
	}
	p.tail = le.AppendUint32(make([]byte, pad, pad+4), total)
	if len(data) == caplen {
		return p.finish()
	}
	return nil
}

// finish writes the padding and trailer of the last block.
func (p *pcapngWriter) finish() error {
	_, err := p.w.Write(p.tail)
	p.tail = nil
	return err
}

// conns writes n connections starting every gap, each made by mk.
func (m *merger) conns(n int, gap time.Duration, first time.Duration, mk func(i int, f *flow)) error {
	for i := range n {
		f := &flow{start: first + time.Duration(i)*gap}
		mk(i, f)
		if err := m.drain(f.start); err != nil {
			return err
		}
		m.add(f)
	}
	return m.drain(-1)
}

func seqOff(r *rand.Rand) [2]uint32 { return [2]uint32{r.Uint32(), r.Uint32()} }

var hostileServer = ip4(198, 51, 100, 20)

// clientIP spreads i over 10.0.0.0/8.
func clientIP(i int) [4]byte { return ip4(10, byte(i>>16), byte(i>>8), byte(i)) }

func writeLongLived(w io.Writer, t *HostileTruth, n int) error {
	tp := recordTemplates()
	pw, err := newPcapWriter(w)
	if err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(1, 1))
	m := &merger{out: pw, t: t}
	m.add(&flow{ep: ep4{client: ip4(192, 0, 2, 1), server: hostileServer, cport: 50000, sport: 443}, off: seqOff(r), segs: tp.long})
	gap := 100 * time.Second / time.Duration(n)
	err = m.conns(n, gap, 500*time.Millisecond, func(i int, f *flow) {
		f.ep = ep4{client: clientIP(i + 1), server: hostileServer, cport: uint16(1024 + i%60000), sport: 443}
		f.off, f.segs = seqOff(r), tp.short
	})
	t.Conns = n + 1
	t.Rows["complete"] = n + 1
	return err
}

func writeSYNFlood(w io.Writer, t *HostileTruth, n int) error {
	pw, err := newPcapWriter(w)
	if err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(2, 2))
	m := &merger{out: pw, t: t}
	gap := 60 * time.Second / time.Duration(n)
	end := time.Duration(n-1) * gap
	syn := []segment{{from: 0, syn: true, seq: 0}}
	err = m.conns(n, gap, 0, func(i int, f *flow) {
		// An odd multiplier permutes 24 bits: every source differs.
		a := uint32(i)*0x9E3779B1 + 0x5bd1e995
		f.ep = ep4{client: ip4(10, byte(a>>16), byte(a>>8), byte(a)), server: hostileServer, cport: uint16(1024 + r.IntN(64000)), sport: 443}
		f.off, f.segs = seqOff(r), syn
		if end-f.start >= HostileStallTimeout {
			t.Rows["stalled"]++
		} else {
			t.Rows["incomplete"]++
		}
	})
	t.Conns, t.TCPOnly = n, n
	return err
}

func writePortScan(w io.Writer, t *HostileTruth, n int) error {
	pw, err := newPcapWriter(w)
	if err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(3, 3))
	m := &merger{out: pw, t: t}
	gap := 10 * time.Second / time.Duration(n)
	segs := segments(nil, Shaping{Refused: true}, 500*time.Microsecond)
	err = m.conns(n, gap, 0, func(i int, f *flow) {
		k, host := i%65535, i/65535
		port := uint16(1 + k*7919%65535) // 7919 is prime to 65535: each port once per host
		f.ep = ep4{client: ip4(203, 0, 113, 9), server: ip4(198, 51, 100, byte(100+host)), cport: 45678, sport: port}
		f.off, f.segs = seqOff(r), segs
		if HostileTLSPorts[port] {
			t.Rows["reset"]++
			t.TCPOnly++
		}
	})
	t.Conns = n
	return err
}

func writeStalls(w io.Writer, t *HostileTruth, n int) error {
	tp := recordTemplates()
	pw, err := newPcapWriter(w)
	if err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(4, 4))
	m := &merger{out: pw, t: t}
	gap := 30 * time.Second / time.Duration(n)
	err = m.conns(n, gap, 0, func(i int, f *flow) {
		f.ep = ep4{client: clientIP(i), server: hostileServer, cport: uint16(1024 + i%60000), sport: 443}
		f.off, f.segs = seqOff(r), tp.stalled
	})
	t.Conns = n
	t.Rows["stalled"] = n
	return err
}

// hugeHello is the client's byte stream for a ClientHello whose length
// field says claim: the recorded ClientHello's body, then zeros, in
// records of 16384 bytes; at most limit bytes of it.
func hugeHello(claim int, limit int) []byte {
	tp := recordTemplates()
	body := tp.hello[9:] // record header 5, handshake header 4
	msg := make([]byte, 4+claim)
	msg[0] = 1
	msg[1], msg[2], msg[3] = byte(claim>>16), byte(claim>>8), byte(claim)
	copy(msg[4:], body)
	var out []byte
	for off := 0; off < len(msg) && len(out) < limit; off += 16384 {
		end := min(off+16384, len(msg))
		out = append(out, 22, tp.hello[1], tp.hello[2], byte((end-off)>>8), byte(end-off))
		out = append(out, msg[off:end]...)
	}
	return out[:min(len(out), limit)]
}

// slowSender makes a connection that sends data in segments of mss bytes
// every every, each acknowledged after ackAfter; when done is set the
// server then answers with done and both sides close.
func slowSender(data []byte, mss int, every, ackAfter time.Duration, done []byte) func(k int) (segment, bool) {
	const isnC, isnS = 0x1000_0000, 0x7000_0000
	nseg := (len(data) + mss - 1) / mss
	start := 2 * ackAfter
	clientEnd := uint32(isnC + 1 + len(data))
	last := start + time.Duration(nseg-1)*every
	return func(k int) (segment, bool) {
		switch {
		case k == 0:
			return segment{from: 0, syn: true, seq: isnC}, true
		case k == 1:
			return segment{from: 1, at: ackAfter, syn: true, ack: true, seq: isnS, ackNo: isnC + 1}, true
		case k == 2:
			return segment{from: 0, at: ackAfter, ack: true, seq: isnC + 1, ackNo: isnS + 1}, true
		}
		k -= 3
		if k < 2*nseg {
			i := k / 2
			off := i * mss
			end := min(off+mss, len(data))
			at := start + time.Duration(i)*every
			if k%2 == 0 {
				return segment{from: 0, at: at, ack: true, psh: true, seq: uint32(isnC + 1 + off), ackNo: isnS + 1, payload: data[off:end]}, true
			}
			return segment{from: 1, at: at + ackAfter, ack: true, seq: isnS + 1, ackNo: uint32(isnC + 1 + end)}, true
		}
		if done == nil {
			return segment{}, false
		}
		at := last + ackAfter + 200*time.Microsecond
		srvEnd := uint32(isnS + 1 + len(done))
		switch k - 2*nseg {
		case 0:
			return segment{from: 1, at: at, ack: true, psh: true, seq: isnS + 1, ackNo: clientEnd, payload: done}, true
		case 1:
			return segment{from: 1, at: at + 50*time.Microsecond, ack: true, fin: true, seq: srvEnd, ackNo: clientEnd}, true
		case 2:
			return segment{from: 0, at: at + ackAfter, ack: true, fin: true, seq: clientEnd, ackNo: srvEnd + 1}, true
		case 3:
			return segment{from: 1, at: at + 2*ackAfter, ack: true, seq: srvEnd + 1, ackNo: clientEnd + 1}, true
		}
		return segment{}, false
	}
}

func writeBigHello(w io.Writer, t *HostileTruth, n int) error {
	pw, err := newPcapWriter(w)
	if err != nil {
		return err
	}
	data := hugeHello(262_140, 1<<30)
	alert := []byte{21, 3, 3, 0, 2, 2, 50} // fatal decode_error
	r := rand.New(rand.NewPCG(5, 5))
	m := &merger{out: pw, t: t}
	gap := 10 * time.Second / time.Duration(n)
	err = m.conns(n, gap, 0, func(i int, f *flow) {
		f.ep = ep4{client: clientIP(i), server: hostileServer, cport: uint16(1024 + i%60000), sport: 443}
		f.off = seqOff(r)
		f.gen = slowSender(data, 1448, 50*time.Millisecond, rtt, alert)
	})
	t.Conns = n
	t.Rows["failed"] = n
	return err
}

func writeTrickle(w io.Writer, t *HostileTruth, nseg int) error {
	pw, err := newPcapWriter(w)
	if err != nil {
		return err
	}
	data := hugeHello(0xFFFFFF, nseg*1448)
	m := &merger{out: pw, t: t}
	m.add(&flow{ep: ep4{client: ip4(192, 0, 2, 10), server: hostileServer, cport: 41000, sport: 443},
		gen: slowSender(data, 1448, 10*time.Millisecond, 5*time.Millisecond, nil)})
	t.Conns = 1
	t.Rows["incomplete"] = 1 // still sending when the capture ends: not silent
	return m.drain(-1)
}

// zeroMember is a gzip member of zeroChunk zero bytes, compressed once.
const zeroChunk = 64 << 20

var zeroMember = sync.OnceValue(func() []byte {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zeros := make([]byte, 1<<20)
	for range zeroChunk / len(zeros) {
		zw.Write(zeros)
	}
	zw.Close()
	return b.Bytes()
})

// gzipMember writes data as one gzip member.
func gzipMember(w io.Writer, data []byte) error {
	zw, _ := gzip.NewWriterLevel(w, gzip.BestCompression)
	if _, err := zw.Write(data); err != nil {
		return err
	}
	return zw.Close()
}

// gzipZeros writes n zero bytes as gzip members (a gzip file may hold
// many: RFC 1952 §2.2), the 64 MiB ones compressed once.
func gzipZeros(w io.Writer, n int64) error {
	for ; n >= zeroChunk; n -= zeroChunk {
		if _, err := w.Write(zeroMember()); err != nil {
			return err
		}
	}
	if n > 0 {
		return gzipMember(w, make([]byte, n))
	}
	return nil
}

func writeNgBomb(w io.Writer, t *HostileTruth, claim int64) error {
	tp := recordTemplates()
	claim = max(claim&^3, 64)
	caplen := claim - 32
	// The plain parts are made in memory (small) and gzipped as members.
	var head, tail bytes.Buffer
	pw, err := newPcapngWriter(&head)
	if err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(6, 6))
	m := &merger{out: pw, t: t}
	m.add(&flow{ep: ep4{client: ip4(192, 0, 2, 10), server: hostileServer, cport: 41001, sport: 443}, off: seqOff(r), segs: tp.short})
	if err := m.drain(-1); err != nil {
		return err
	}
	// The huge block: its header, then caplen zero bytes.
	if err := pw.packet(time.Second, nil, int(caplen)); err != nil {
		return err
	}
	pw.w = &tail
	if err := pw.finish(); err != nil {
		return err
	}
	m.add(&flow{start: 2 * time.Second, ep: ep4{client: ip4(192, 0, 2, 11), server: hostileServer, cport: 41002, sport: 443}, off: seqOff(r), segs: tp.short})
	if err := m.drain(-1); err != nil {
		return err
	}
	t.Packets++
	if err := gzipMember(w, head.Bytes()); err != nil {
		return err
	}
	if err := gzipZeros(w, caplen); err != nil {
		return err
	}
	if err := gzipMember(w, tail.Bytes()); err != nil {
		return err
	}
	t.Raw = int64(head.Len()) + caplen + int64(tail.Len())
	t.Conns = 2
	t.Rows["complete"] = 2
	t.Warn = true // a 1 GiB packet deserves a word
	return nil
}

func writeZeroRecords(w io.Writer, t *HostileTruth, n int64) error {
	n = max(n&^15, 16)
	var head bytes.Buffer
	if _, err := newPcapWriter(&head); err != nil {
		return err
	}
	if err := gzipMember(w, head.Bytes()); err != nil {
		return err
	}
	if err := gzipZeros(w, n); err != nil {
		return err
	}
	t.Packets = n / 16
	t.Raw = int64(head.Len()) + n
	t.Warn = true
	return nil
}

func writeGarbage(w io.Writer, t *HostileTruth, n int64) error {
	if _, err := newPcapWriter(w); err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(7, 7))
	buf := make([]byte, 1<<16)
	for n > 0 {
		for i := 0; i < len(buf); i += 8 {
			binary.LittleEndian.PutUint64(buf[i:], r.Uint64())
		}
		k := min(n, int64(len(buf)))
		if _, err := w.Write(buf[:k]); err != nil {
			return err
		}
		n -= k
	}
	t.Warn = true
	return nil
}

// WriteHostileFile writes one case into dir under its file name, through a
// temporary name so that a killed run leaves no half file, with its truth
// beside it as FILE.truth.json.
func WriteHostileFile(dir, name string, scale float64) (HostileTruth, error) {
	var file string
	for _, c := range HostileCases() {
		if c.Name == name {
			file = c.File
		}
	}
	if file == "" {
		return HostileTruth{}, fmt.Errorf("no hostile case %q", name)
	}
	path := filepath.Join(dir, file)
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return HostileTruth{}, err
	}
	t, err := WriteHostile(f, name, scale)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(path+".tmp", path)
	}
	if err != nil {
		os.Remove(path + ".tmp")
		return t, err
	}
	data, _ := json.MarshalIndent(t, "", " ")
	return t, os.WriteFile(path+".truth.json", append(data, '\n'), 0o644)
}
