package flows

import (
	"encoding/binary"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// linkDecoder turns frames into TCP segments with DecodingLayerParser and
// preallocated layers: no allocation per packet.
type linkDecoder struct {
	eth     layers.Ethernet
	dot1q   layers.Dot1Q
	sll     layers.LinuxSLL
	sll2    layers.LinuxSLL2
	loop    layers.Loopback
	ip4     layers.IPv4
	ip6     layers.IPv6
	ip6ext  layers.IPv6ExtensionSkipper
	tcp     layers.TCP
	udp     layers.UDP
	payload gopacket.Payload
	parsers map[gopacket.LayerType]*gopacket.DecodingLayerParser
	decoded []gopacket.LayerType
}

func newLinkDecoder() *linkDecoder {
	d := &linkDecoder{parsers: map[gopacket.LayerType]*gopacket.DecodingLayerParser{}, decoded: make([]gopacket.LayerType, 0, 12)}
	all := []gopacket.DecodingLayer{&d.eth, &d.dot1q, &d.sll, &d.sll2, &d.loop, &d.ip4, &d.ip6, &d.ip6ext, &d.tcp, &d.udp, &d.payload}
	for _, first := range []gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeDot1Q, layers.LayerTypeLinuxSLL, layers.LayerTypeLinuxSLL2,
		layers.LayerTypeLoopback, layers.LayerTypeIPv4, layers.LayerTypeIPv6} {
		p := gopacket.NewDecodingLayerParser(first, all...)
		p.IgnoreUnsupported = true
		d.parsers[first] = p
	}
	return d
}

// segment is a decoded TCP segment. It holds copies of the header fields,
// not the decoder's layers, so that frames can be decoded ahead of the
// analysis (in the reading goroutine) and used after the decoder moved on.
type segment struct {
	src, dst  netip.AddrPort
	tcp       tcpHeader
	raw       []byte // the TCP header and payload, for the reassembler; a UDP datagram's payload
	truncated bool   // the capture holds less than the IP header says
}

// tcpHeader is what the analysis reads of a TCP header (RFC 9293 §3.1).
type tcpHeader struct {
	Seq, Ack           uint32
	Window             uint16
	SYN, ACK, FIN, RST bool
	Payload            []byte
	// TTL is the IP TTL or hop limit; MSS the option of a SYN (0: none);
	// SACK the highest right edge of its SACK blocks (RFC 2018), when
	// HasSACK.
	TTL     uint8
	MSS     uint16
	SACK    uint32
	HasSACK bool
	// SACKBlocks are its first SACK blocks (absolute sequence numbers).
	SACKBlocks [4]seqRange
	NSACK      uint8
	// IPID is the IPv4 identification (RFC 791), which routers keep:
	// with the TCP fields it tells a packet seen at two capture points
	// (vantage.go); IPv6 has none (0).
	IPID uint16
}

// decoded is what the link decoder made of a captured packet.
type decoded struct {
	seg  segment
	res  decodeResult
	icmp icmpInfo // when res is icmpError
}

// decodeResult explains why a frame yielded no segment.
type decodeResult uint8

const (
	decodedTCP decodeResult = iota
	notTCP
	unsupportedLink
	malformed
	ipFragment
	icmpError // an ICMP error quoting a TCP segment: seg holds its addresses
	// decodedUDP: a UDP datagram, seg holds its addresses and raw its
	// payload (QUIC, RFC 9000).
	decodedUDP
)

func (d *linkDecoder) firstLayer(link layers.LinkType, data []byte) (gopacket.LayerType, bool) {
	switch link {
	case layers.LinkTypeEthernet:
		return layers.LayerTypeEthernet, true
	case layers.LinkTypeLinuxSLL:
		return layers.LayerTypeLinuxSLL, true
	case layers.LinkTypeLinuxSLL2:
		return layers.LayerTypeLinuxSLL2, true
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		return layers.LayerTypeLoopback, true
	case layers.LinkTypeIPv4:
		return layers.LayerTypeIPv4, true
	case layers.LinkTypeIPv6:
		return layers.LayerTypeIPv6, true
	case layers.LinkTypeRaw, 12, 14: // DLT_RAW has several numbers across systems
		if len(data) > 0 && data[0]>>4 == 6 {
			return layers.LayerTypeIPv6, true
		}
		return layers.LayerTypeIPv4, true
	}
	return 0, false
}

func (d *linkDecoder) decode(link layers.LinkType, data []byte, seg *segment, icmp *icmpInfo) decodeResult {
	first, ok := d.firstLayer(link, data)
	if !ok {
		return unsupportedLink
	}
	for range 4 { // more passes after headers gopacket does not decode
		d.decoded = d.decoded[:0]
		err := d.parsers[first].DecodeLayers(data, &d.decoded)
		var isTCP, isUDP, ip4, ip6 bool
		lastIP := 0 // the innermost IP header carries the TCP segment
		for _, t := range d.decoded {
			switch t {
			case layers.LayerTypeTCP:
				isTCP = true
			case layers.LayerTypeUDP:
				isUDP = true
			case layers.LayerTypeIPv4:
				ip4, lastIP = true, 4
			case layers.LayerTypeIPv6:
				ip6, lastIP = true, 6
			}
		}
		if !ip4 && !ip6 && len(d.decoded) > 0 {
			// PPPoE session (RFC 2516) carrying PPP: not a DecodingLayer in
			// gopacket; skip its 6+2 header bytes by hand.
			var et layers.EthernetType
			var rest []byte
			switch d.decoded[len(d.decoded)-1] {
			case layers.LayerTypeEthernet:
				et, rest = d.eth.EthernetType, d.eth.Payload
			case layers.LayerTypeDot1Q:
				et, rest = d.dot1q.Type, d.dot1q.Payload
			}
			if next, inner, ok := shim(et, rest); ok {
				first, data = next, inner
				continue
			}
			return notTCP
		}
		if lastIP == 4 && (d.ip4.Flags&layers.IPv4MoreFragments != 0 || d.ip4.FragOffset != 0) && (d.ip4.Protocol == layers.IPProtocolTCP || d.ip4.Protocol == layers.IPProtocolUDP) {
			return ipFragment
		}
		if isUDP && !isTCP {
			srcIP, dstIP := d.ipAddrs(lastIP)
			seg.src = netip.AddrPortFrom(srcIP, uint16(d.udp.SrcPort))
			seg.dst = netip.AddrPortFrom(dstIP, uint16(d.udp.DstPort))
			p := d.udp.Payload
			if n := int(d.udp.Length) - 8; n >= 0 && n < len(p) {
				p = p[:n] // Ethernet padding after the datagram
			}
			seg.raw = p[:len(p):len(p)]
			seg.truncated = int(d.udp.Length) > 8+len(d.udp.Payload)
			return decodedUDP
		}
		if !isTCP {
			switch {
			case lastIP == 4 && d.ip4.Protocol == layers.IPProtocolICMPv4:
				if parseICMPError(d.ip4.Payload, false, icmp, seg) {
					icmp.from, _ = netip.AddrFromSlice(d.ip4.SrcIP)
					return icmpError
				}
			case lastIP == 6 && d.ip6.NextHeader == layers.IPProtocolICMPv6:
				if parseICMPError(d.ip6.Payload, true, icmp, seg) {
					icmp.from, _ = netip.AddrFromSlice(d.ip6.SrcIP)
					return icmpError
				}
			}
			if err != nil && (ip4 && d.ip4.Protocol == layers.IPProtocolTCP) {
				return malformed
			}
			return notTCP
		}
		srcIP, dstIP := d.ipAddrs(lastIP)
		if lastIP == 6 {
			seg.truncated = int(d.ip6.Length) > len(d.ip6.Payload)
		} else {
			seg.truncated = int(d.ip4.Length) > len(d.ip4.Contents)+len(d.ip4.Payload)
		}
		seg.src = netip.AddrPortFrom(srcIP, uint16(d.tcp.SrcPort))
		seg.dst = netip.AddrPortFrom(dstIP, uint16(d.tcp.DstPort))
		t := &d.tcp
		seg.tcp = tcpHeader{Seq: t.Seq, Ack: t.Ack, Window: t.Window, SYN: t.SYN, ACK: t.ACK, FIN: t.FIN, RST: t.RST, Payload: t.Payload}
		if lastIP == 6 {
			seg.tcp.TTL = d.ip6.HopLimit
		} else {
			seg.tcp.TTL, seg.tcp.IPID = d.ip4.TTL, d.ip4.Id
		}
		if len(t.Contents) > 20 {
			tcpOptions(t.Contents[20:], &seg.tcp)
		}
		// Header and payload are adjacent in the frame.
		n := len(t.Contents) + len(t.Payload)
		seg.raw = t.Contents[:n:n]
		return decodedTCP
	}
	return notTCP
}

// ipAddrs are the innermost IP header's addresses (IPv4-mapped ones unmapped).
func (d *linkDecoder) ipAddrs(lastIP int) (src, dst netip.Addr) {
	if lastIP == 6 {
		src, _ = netip.AddrFromSlice(d.ip6.SrcIP)
		dst, _ = netip.AddrFromSlice(d.ip6.DstIP)
	} else {
		src, _ = netip.AddrFromSlice(d.ip4.SrcIP)
		dst, _ = netip.AddrFromSlice(d.ip4.DstIP)
	}
	return src.Unmap(), dst.Unmap()
}

// shim skips link-layer headers that gopacket has no DecodingLayer for:
// PPPoE sessions carrying PPP (RFC 2516) and Cisco MetaData (SGT tags,
// EtherType 0x8909). It returns where decoding resumes.
func shim(et layers.EthernetType, rest []byte) (gopacket.LayerType, []byte, bool) {
	byEtherType := func(t uint16, b []byte) (gopacket.LayerType, []byte, bool) {
		switch layers.EthernetType(t) {
		case layers.EthernetTypeIPv4:
			return layers.LayerTypeIPv4, b, true
		case layers.EthernetTypeIPv6:
			return layers.LayerTypeIPv6, b, true
		case layers.EthernetTypeDot1Q, layers.EthernetTypeQinQ:
			return layers.LayerTypeDot1Q, b, true
		}
		return 0, nil, false
	}
	switch {
	case et == layers.EthernetTypePPPoESession && len(rest) >= 8:
		// The PPPoE length (which counts the PPP protocol field) bounds
		// the payload: what follows it is Ethernet padding.
		inner := rest[8:]
		if n := int(binary.BigEndian.Uint16(rest[4:6])) - 2; n >= 0 && n < len(inner) {
			inner = inner[:n]
		}
		switch binary.BigEndian.Uint16(rest[6:8]) {
		case 0x0021:
			return layers.LayerTypeIPv4, inner, true
		case 0x0057:
			return layers.LayerTypeIPv6, inner, true
		}
	case et == 0x8909 && len(rest) >= 8:
		// version, length (in 8-byte units after the first 8), options, SGT, EtherType.
		n := 8 + int(rest[1])*8 - 8
		if rest[1] == 0 {
			n = 8
		}
		if n < 8 || len(rest) < n {
			return 0, nil, false
		}
		return byEtherType(binary.BigEndian.Uint16(rest[n-2:n]), rest[n:])
	}
	return 0, nil, false
}

// tcpOptions reads the options the analysis uses from a TCP header's
// option bytes (RFC 9293 §3.2): MSS (kind 2) and SACK blocks (kind 5).
func tcpOptions(b []byte, h *tcpHeader) {
	for len(b) > 0 {
		kind := b[0]
		if kind == 0 {
			return // end of options
		}
		if kind == 1 {
			b = b[1:] // no-operation
			continue
		}
		if len(b) < 2 || int(b[1]) < 2 || int(b[1]) > len(b) {
			return
		}
		opt := b[2:b[1]]
		switch {
		case kind == 2 && len(opt) == 2:
			h.MSS = binary.BigEndian.Uint16(opt)
		case kind == 5:
			for i := 0; i+8 <= len(opt); i += 8 {
				left, right := binary.BigEndian.Uint32(opt[i:]), binary.BigEndian.Uint32(opt[i+4:])
				if !h.HasSACK || seqLT(h.SACK, right) {
					h.SACK, h.HasSACK = right, true
				}
				if int(h.NSACK) < len(h.SACKBlocks) {
					h.SACKBlocks[h.NSACK] = seqRange{left, right}
					h.NSACK++
				}
			}
		}
		b = b[b[1]:]
	}
}
