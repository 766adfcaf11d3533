package capgen

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sort"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Link is how packets are framed.
type Link uint8

const (
	LinkEthernet Link = iota
	LinkVLAN          // Ethernet with one 802.1Q tag
	LinkSLL           // Linux cooked capture v1
	LinkSLL2          // Linux cooked capture v2
)

func (l Link) linkType() layers.LinkType {
	switch l {
	case LinkSLL:
		return layers.LinkTypeLinuxSLL
	case LinkSLL2:
		return layers.LinkTypeLinuxSLL2
	}
	return layers.LinkTypeEthernet
}

// Shaping changes how a connection's bytes become segments.
type Shaping struct {
	MSS int // default 1448
	// SplitClientHello cuts the client's first write into two segments.
	SplitClientHello bool
	// ServerMSS, when set, cuts the server's first data write this small.
	ServerMSS int
	// SwapServerSegment swaps segment N and N+1 of the server's first
	// data write (N >= 1; 0 means no swap).
	SwapServerSegment int
	// RetransmitServerSegment sends segment N of the server's first data
	// write again after the rest (N >= 1).
	RetransmitServerSegment int
	// StartAtServerData drops every packet before the server's first
	// data segment: a capture that starts in the middle of the handshake.
	StartAtServerData bool
	// StartAtClientWrite drops every packet before the client's Nth data
	// write (N >= 1): a capture that starts later still.
	StartAtClientWrite int
	// Refused: the server answers the SYN with a RST (connection
	// refused); nothing else is sent.
	Refused bool
	// SYNUnanswered: the client sends its SYN this many times, with the
	// retransmission timeout doubling from 1 s, and nothing answers.
	SYNUnanswered int
	// OnlyFrom keeps the packets of one side only (OnlyClient,
	// OnlyServer; 0 keeps both): a capture point that sees one direction.
	OnlyFrom int
	// Path, when set, is what the network and the capture do to the
	// packets: loss, vantage point, TTLs, ICMP errors (loss.go).
	Path *Path
}

// Packet is one generated frame.
type Packet struct {
	At        time.Time
	Data      []byte
	Interface int
}

// endpoint addresses of a connection.
type endpoints struct {
	client, server net.IP
	cport, sport   uint16
}

type segment struct {
	from       int
	at         time.Duration
	syn, ack   bool
	fin, rst   bool
	psh        bool
	seq, ackNo uint32
	payload    []byte
	firstData  bool // part of the server's first data write
	index      int  // 1-based index within that write
	// Set by the loss model (loss.go) only; zero values frame as before.
	write  int         // 1-based index of the sender's data write
	ttl    uint8       // IP TTL / hop limit; 0 is 64
	sackOK bool        // a SYN offering SACK (SACK-permitted option)
	sack   []sackBlock // SACK blocks, most recent first
	icmp   *icmpError  // not TCP: an ICMP error quoting a segment
}

// segments turns the events of a connection into TCP segments with
// correct sequence numbers and acknowledgements, a SYN handshake first.
func segments(evs []event, sh Shaping, rtt time.Duration) []segment {
	mss := sh.MSS
	if mss == 0 {
		mss = 1448
	}
	isn := [2]uint32{0x1000_0000, 0x7000_0000}
	next := [2]uint32{isn[0] + 1, isn[1] + 1}
	var out []segment
	switch {
	case sh.Refused:
		// RFC 9293 §3.10.7.1: the RST acknowledges the SYN.
		return []segment{{from: 0, at: 0, syn: true, seq: isn[0]},
			{from: 1, at: rtt, rst: true, ack: true, ackNo: next[0]}}
	case sh.SYNUnanswered > 0:
		at, rto := time.Duration(0), time.Second
		for range sh.SYNUnanswered {
			out = append(out, segment{from: 0, at: at, syn: true, seq: isn[0]})
			at, rto = at+rto, 2*rto
		}
		return out
	}
	out = append(out,
		segment{from: 0, at: 0, syn: true, seq: isn[0]},
		segment{from: 1, at: rtt, syn: true, ack: true, seq: isn[1], ackNo: next[0]},
		segment{from: 0, at: rtt, ack: true, seq: next[0], ackNo: next[1]})
	clientWrites, serverWrites := 0, 0
	var startSeq uint32 // the first byte of the client's StartAtClientWrite-th write
	for i, ev := range evs {
		ev.at += rtt // the TCP handshake came first
		from := ev.side
		switch ev.kind {
		case evData:
			size := mss
			first := false
			if from == 0 {
				clientWrites++
				if clientWrites == sh.StartAtClientWrite {
					startSeq = next[0]
				}
				if clientWrites == 1 && sh.SplitClientHello {
					size = (len(ev.data) + 1) / 2
				}
			} else {
				serverWrites++
				if serverWrites == 1 {
					first = true
					if sh.ServerMSS > 0 {
						size = sh.ServerMSS
					}
				}
			}
			write := clientWrites
			if from == 1 {
				write = serverWrites
			}
			var segs []segment
			for off, idx := 0, 1; off < len(ev.data); off, idx = off+size, idx+1 {
				end := min(off+size, len(ev.data))
				segs = append(segs, segment{from: from, at: ev.at, ack: true, psh: end == len(ev.data),
					seq: next[from], ackNo: next[1-from], payload: ev.data[off:end], firstData: first, index: idx,
					write: write})
				next[from] += uint32(end - off)
			}
			if first && sh.SwapServerSegment > 0 && sh.SwapServerSegment < len(segs) {
				k := sh.SwapServerSegment - 1
				segs[k], segs[k+1] = segs[k+1], segs[k]
			}
			if first && sh.RetransmitServerSegment > 0 && sh.RetransmitServerSegment <= len(segs) {
				again := segs[sh.RetransmitServerSegment-1]
				again.at += 3 * time.Millisecond
				segs = append(segs, again)
			}
			out = append(out, segs...)
			// The receiver acknowledges unless it answers with data at once.
			if i+1 >= len(evs) || evs[i+1].side == from || evs[i+1].kind != evData {
				at := ev.at + 100*time.Microsecond
				if from == 0 {
					at = ev.at + rtt // the server's ACK reaches the capture a round trip later
				}
				if i+1 < len(evs) && evs[i+1].at+rtt < at {
					at = evs[i+1].at + rtt
				}
				out = append(out, segment{from: 1 - from, at: at, ack: true, seq: next[1-from], ackNo: next[from]})
			}
		case evFIN:
			out = append(out, segment{from: from, at: ev.at, fin: true, ack: true, seq: next[from], ackNo: next[1-from]})
			next[from]++
		case evRST:
			out = append(out, segment{from: from, at: ev.at, rst: true, ack: true, seq: next[from], ackNo: next[1-from]})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].at < out[j].at })
	if sh.StartAtServerData || sh.StartAtClientWrite > 0 {
		for i, s := range out {
			if len(s.payload) > 0 && (sh.StartAtServerData && s.from == 1 ||
				sh.StartAtClientWrite > 0 && s.from == 0 && s.seq == startSeq) {
				out = out[i:]
				break
			}
		}
	}
	if sh.Path != nil {
		out = sh.Path.apply(out, rtt)
	}
	return out
}

var (
	macClient = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	macServer = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}
)

// frame serializes one segment with the link framing of l.
func frame(s segment, ep endpoints, l Link) ([]byte, error) {
	if s.icmp != nil {
		return frameICMP(s, ep, l)
	}
	src, dst := ep.client, ep.server
	sport, dport := ep.cport, ep.sport
	smac, dmac := macClient, macServer
	if s.from == 1 {
		src, dst, sport, dport, smac, dmac = dst, src, dport, sport, dmac, smac
	}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: s.seq, Ack: s.ackNo,
		SYN: s.syn, ACK: s.ack, FIN: s.fin, RST: s.rst, PSH: s.psh, Window: 65535}
	if s.syn {
		tcp.Options = []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xa8}}}
	}
	tcp.Options = append(tcp.Options, sackOptions(s)...)
	ttl := s.ttl
	if ttl == 0 {
		ttl = 64
	}
	var ipLayer gopacket.SerializableLayer
	var ethType layers.EthernetType
	if src.To4() == nil {
		ip := &layers.IPv6{Version: 6, HopLimit: ttl, NextHeader: layers.IPProtocolTCP, SrcIP: src, DstIP: dst}
		tcp.SetNetworkLayerForChecksum(ip)
		ipLayer, ethType = ip, layers.EthernetTypeIPv6
	} else {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: ttl, Flags: layers.IPv4DontFragment, Protocol: layers.IPProtocolTCP, SrcIP: src.To4(), DstIP: dst.To4()}
		tcp.SetNetworkLayerForChecksum(ip)
		ipLayer, ethType = ip, layers.EthernetTypeIPv4
	}
	return serialize(l, s.from, smac, dmac, ethType, ipLayer, tcp, gopacket.Payload(s.payload))
}

// serialize frames an IP packet's layers with the link framing of l; from
// is the side sending it (the direction cooked headers record).
func serialize(l Link, from int, smac, dmac net.HardwareAddr, ethType layers.EthernetType, ip ...gopacket.SerializableLayer) ([]byte, error) {
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	var ls []gopacket.SerializableLayer
	switch l {
	case LinkEthernet:
		ls = append(ls, &layers.Ethernet{SrcMAC: smac, DstMAC: dmac, EthernetType: ethType})
	case LinkVLAN:
		ls = append(ls, &layers.Ethernet{SrcMAC: smac, DstMAC: dmac, EthernetType: layers.EthernetTypeDot1Q},
			&layers.Dot1Q{VLANIdentifier: 42, Type: ethType})
	}
	ls = append(ls, ip...)
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	// Cooked headers are written by hand (gopacket decodes them, but
	// serializes only some).
	switch l {
	case LinkSLL:
		// packet type (0 to us, 4 outgoing), ARPHRD_ETHER, address length, address, protocol.
		h := make([]byte, 16)
		if from == 0 {
			binary.BigEndian.PutUint16(h[0:], 4)
		}
		binary.BigEndian.PutUint16(h[2:], 1)
		binary.BigEndian.PutUint16(h[4:], 6)
		copy(h[6:], smac)
		binary.BigEndian.PutUint16(h[14:], uint16(ethType))
		b = append(h, b...)
	case LinkSLL2:
		// protocol, reserved, interface index, ARPHRD_ETHER, packet type, address length, address.
		h := make([]byte, 20)
		binary.BigEndian.PutUint16(h[0:], uint16(ethType))
		binary.BigEndian.PutUint32(h[4:], 2)
		binary.BigEndian.PutUint16(h[8:], 1)
		if from == 0 {
			h[10] = 4
		}
		h[11] = 6
		copy(h[12:], smac)
		b = append(h, b...)
	}
	return append([]byte(nil), b...), nil
}

// WritePcap writes packets as a classic pcap file (microsecond stamps).
func WritePcap(w io.Writer, link Link, pkts []Packet) error {
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(65535, link.linkType()); err != nil {
		return err
	}
	for _, p := range pkts {
		ci := gopacket.CaptureInfo{Timestamp: p.At, CaptureLength: len(p.Data), Length: len(p.Data)}
		if err := pw.WritePacket(ci, p.Data); err != nil {
			return err
		}
	}
	return nil
}

// WritePcapng writes packets as pcapng with one interface per link, and
// each of secrets (NSS key logs) in a Decryption Secrets Block before the
// first packet.
func WritePcapng(w io.Writer, links []Link, pkts []Packet, secrets ...[]byte) error {
	if len(links) == 0 {
		return fmt.Errorf("no interfaces")
	}
	opts := pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "tlsscope capgen", OS: "linux", Hardware: "simulated"}}
	ifaces := make([]pcapgo.NgInterface, len(links))
	for i, l := range links {
		ifaces[i] = pcapgo.NgInterface{Name: fmt.Sprintf("sim%d", i), LinkType: l.linkType(), SnapLength: 65535,
			TimestampResolution: 9, Filter: "", OS: "linux"}
	}
	nw, err := pcapgo.NewNgWriterInterface(w, ifaces[0], opts)
	if err != nil {
		return err
	}
	for _, iface := range ifaces[1:] {
		if _, err := nw.AddInterface(iface); err != nil {
			return err
		}
	}
	if len(secrets) > 0 {
		if err := nw.Flush(); err != nil { // the section and interfaces come first
			return err
		}
		for _, s := range secrets {
			if err := writeDSB(w, s); err != nil {
				return err
			}
		}
	}
	for _, p := range pkts {
		ci := gopacket.CaptureInfo{Timestamp: p.At, CaptureLength: len(p.Data), Length: len(p.Data), InterfaceIndex: p.Interface}
		if err := nw.WritePacket(ci, p.Data); err != nil {
			return err
		}
	}
	return nw.Flush()
}
