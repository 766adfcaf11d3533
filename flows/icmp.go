package flows

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"time"

	"github.com/tlsscope/tlsscope/decoder"
)

// ICMP errors about a connection's packets: a router or host that could
// not deliver one quotes its IP header and the first bytes of its TCP
// header (RFC 792, RFC 4443 §2.4), by which the error finds its
// connection.

// ICMPError is one ICMP or ICMPv6 error tied to a connection.
type ICMPError struct {
	Time       time.Time
	From       netip.Addr   // the router or host that sent it
	About      decoder.Side // whose packet it quotes
	V6         bool
	Type, Code uint8
	MTU        int // next-hop MTU (fragmentation needed, packet too big)
	// Frame is the Wireshark frame.number of the ICMP packet.
	Frame int64
}

// Kind names the error.
func (e ICMPError) Kind() string {
	if e.V6 {
		switch {
		case e.Type == 2:
			return "packet too big"
		case e.Type == 1 && e.Code == 1:
			return "administratively prohibited"
		case e.Type == 1 && e.Code == 4:
			return "port unreachable"
		case e.Type == 1 && e.Code == 3:
			return "address unreachable"
		case e.Type == 1:
			return "no route to destination"
		}
		return "type " + strconv.Itoa(int(e.Type)) + " code " + strconv.Itoa(int(e.Code))
	}
	if e.Type == 3 {
		switch e.Code {
		case 0:
			return "network unreachable"
		case 1:
			return "host unreachable"
		case 3:
			return "port unreachable"
		case 4:
			return "fragmentation needed"
		case 9, 10, 13:
			return "administratively prohibited"
		}
	}
	return "type " + strconv.Itoa(int(e.Type)) + " code " + strconv.Itoa(int(e.Code))
}

// PathMTU reports an error that says the path's MTU is smaller.
func (e ICMPError) PathMTU() bool { return e.V6 && e.Type == 2 || !e.V6 && e.Type == 3 && e.Code == 4 }

// icmpInfo is a decoded ICMP error: the sender and what it says; the
// quoted packet's addresses and ports are in the segment's src and dst.
type icmpInfo struct {
	from      netip.Addr
	v6        bool
	typ, code uint8
	mtu       int
	udp       bool // the quoted packet is a UDP datagram (DTLS)
}

// parseICMPError reads an ICMP (v6 when v6) error message b and the
// packet it quotes; ok only for destination unreachable, packet too big
// (and time exceeded, which is not reported) quoting a TCP segment or a
// UDP datagram (info.udp).
func parseICMPError(b []byte, v6 bool, info *icmpInfo, seg *segment) bool {
	if len(b) < 8 {
		return false
	}
	info.v6, info.typ, info.code = v6, b[0], b[1]
	switch {
	case !v6 && b[0] == 3:
		if b[1] == 4 {
			info.mtu = int(binary.BigEndian.Uint16(b[6:8]))
		}
	case v6 && b[0] == 1:
	case v6 && b[0] == 2:
		info.mtu = int(binary.BigEndian.Uint32(b[4:8]))
	default:
		return false
	}
	q := b[8:]
	var src, dst netip.Addr
	var proto uint8
	switch {
	case !v6 && len(q) >= 20 && q[0]>>4 == 4:
		ihl := int(q[0]&0x0f) * 4
		if ihl < 20 || len(q) < ihl+8 {
			return false
		}
		proto = q[9]
		src = netip.AddrFrom4([4]byte(q[12:16]))
		dst = netip.AddrFrom4([4]byte(q[16:20]))
		q = q[ihl:]
	case v6 && len(q) >= 48 && q[0]>>4 == 6:
		proto = q[6]
		src = netip.AddrFrom16([16]byte(q[8:24]))
		dst = netip.AddrFrom16([16]byte(q[24:40]))
		q = q[40:]
	default:
		return false
	}
	if proto != 6 && proto != 17 { // TCP, UDP
		return false
	}
	info.udp = proto == 17
	seg.src = netip.AddrPortFrom(src.Unmap(), binary.BigEndian.Uint16(q[0:2]))
	seg.dst = netip.AddrPortFrom(dst.Unmap(), binary.BigEndian.Uint16(q[2:4]))
	seg.tcp.Seq = binary.BigEndian.Uint32(q[4:8])
	return true
}

// icmpError ties an ICMP error to the connection whose packet it quotes.
func (a *Analyzer) icmpError(d *decoded, t time.Time) {
	seg := &d.seg
	if d.icmp.udp {
		a.dtlsICMP(seg.src, seg.dst, ICMPError{Time: t, From: d.icmp.from, V6: d.icmp.v6, Type: d.icmp.typ, Code: d.icmp.code, MTU: d.icmp.mtu, Frame: a.cur.Frame})
		return
	}
	c := a.table[key(seg.src, seg.dst)]
	if c == nil {
		return
	}
	side := 0
	if c.ep[1] == seg.src {
		side = 1
	}
	x := c.rareFacts()
	if len(x.icmp) >= 4 {
		return
	}
	e := ICMPError{Time: t, From: d.icmp.from, About: decoder.Side(side), V6: d.icmp.v6, Type: d.icmp.typ, Code: d.icmp.code, MTU: d.icmp.mtu, Frame: a.cur.Frame}
	x.icmp = append(x.icmp, e)
	note := e.Kind() + " from " + e.From.String()
	if e.MTU > 0 {
		note += ", MTU " + strconv.Itoa(e.MTU)
	}
	c.event(Event{Time: t, From: decoder.Side(1 - side), Kind: "ICMP", Note: note, Frame: a.cur.Frame})
}
