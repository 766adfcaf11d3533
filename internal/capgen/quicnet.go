package capgen

// The QUIC captures (issue #16) are real handshakes of quic-go, in process:
// its client and server Transports are handed the two ends of udpNet, an
// in-memory UDP path that delays each datagram, applies the scenario's
// faults and records what a capture point sees as Ethernet frames. The
// whole run happens inside a testing/synctest bubble, so quic-go's timers
// (PTO, idle and handshake timeouts) follow the bubble's virtual clock:
// a 5 s handshake timeout takes no real time and the capture times are
// exact.

import (
	"bytes"
	"encoding/binary"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/quic-go/quic-go/quicvarint"
	"github.com/tlsscope/tlsscope/flows/quic"
)

// oneWay is the path's one-way delay: a 20 ms round trip, as the TCP
// scenarios have.
const oneWay = rtt / 2

// perByte is the path's serialization time, 100 Mbit/s. Besides being
// realistic it makes the capture reproducible: each datagram arrives at
// its own instant, and the synctest clock moves on only when both sides
// have done all they do with it, so quic-go never races two arrivals.
const perByte = 80 * time.Nanosecond

// quicPath is what the network does to the datagrams of a scenario.
type quicPath struct {
	// maxIP drops every IP packet longer than this (0: no limit): a
	// tunnel with a small MTU that sends no ICMP (a black hole).
	maxIP int
	// blocked drops every datagram a side sends: UDP filtered.
	blocked [2]bool
	// drop lists the 1-based indices of each side's datagrams the path
	// loses; dropFrom loses every datagram from that index on (0: none).
	drop     [2][]int
	dropFrom [2]int
	// atServer puts the capture point beside the server (after the
	// path's NAT and losses on the client's datagrams); otherwise it is
	// beside the client.
	atServer bool
	// newHelloAfterRetry gives the client's first ClientHello another
	// random: the client then looks like one that makes a new ClientHello
	// after a Retry (RFC 9000 §17.2.5.2 lets it), whose key log line is
	// that second one's. quic-go sends the same ClientHello again.
	newHelloAfterRetry bool
	// stripInitials removes the Initial packets from each datagram a side
	// sends (a datagram left empty is lost): its Handshake packets get
	// through, its Initials never do.
	stripInitials [2]bool
}

// udpDatagram is one datagram on the path, as the capture records it.
type udpDatagram struct {
	from    int // 0 client, 1 server
	at      time.Duration
	src     *net.UDPAddr
	dst     *net.UDPAddr
	payload []byte
}

// udpNet is the simulated path between a client and a server end.
type udpNet struct {
	mu    sync.Mutex
	start time.Time
	path  quicPath
	addr  [2]*net.UDPAddr
	ends  [2]*udpEnd
	sent  [2]int // datagrams each side wrote
	// busy is when each direction's link is free again: datagrams are
	// serialized at linkRate, so no two arrive at the same instant.
	busy [2]time.Duration
	// natPort, when set, is the client's source port as the server sees
	// it: a NAT on the path that has rebound the client's mapping.
	natPort int
	seen    []udpDatagram
	// limit bounds what a run records: a generator bug must not fill memory.
	limit int
}

func newUDPNet(client, server *net.UDPAddr, path quicPath) *udpNet {
	n := &udpNet{start: time.Now(), path: path, addr: [2]*net.UDPAddr{client, server}, limit: 4096}
	for side := range n.ends {
		n.ends[side] = &udpEnd{n: n, side: side, in: make(chan udpDatagram, 256), wake: make(chan struct{}, 1), done: make(chan struct{})}
	}
	return n
}

// rebind makes the NAT give the client a new source port from now on.
func (n *udpNet) rebind(port int) {
	n.mu.Lock()
	n.natPort = port
	n.mu.Unlock()
}

// ipLen is the IP packet length of a UDP payload on this path.
func (n *udpNet) ipLen(payload int) int {
	if n.addr[0].IP.To4() == nil {
		return 40 + 8 + payload
	}
	return 20 + 8 + payload
}

// send is a side's datagram entering the path.
func (n *udpNet) send(from int, p []byte, to net.Addr) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sent[from]++
	idx := n.sent[from]
	now := max(time.Since(n.start), n.busy[from])
	n.busy[from] = now + time.Duration(n.ipLen(len(p))+14)*perByte
	src, dst := n.addr[from], n.addr[1-from]
	if from == 0 && n.natPort != 0 {
		src = &net.UDPAddr{IP: src.IP, Port: n.natPort}
	}
	if ua, ok := to.(*net.UDPAddr); ok && from == 1 && n.path.atServer {
		dst = ua // the server answers the address it saw, the NAT's
	}
	pa := n.path
	if pa.newHelloAfterRetry && from == 0 && idx == 1 {
		p = otherRandom(p)
	}
	if pa.stripInitials[from] {
		p = stripInitials(p)
	}
	d := udpDatagram{from: from, at: now, src: src, dst: dst, payload: append([]byte(nil), p...)}
	lost := len(p) == 0 || pa.blocked[from] || pa.dropFrom[from] > 0 && idx >= pa.dropFrom[from] ||
		pa.maxIP > 0 && n.ipLen(len(p)) > pa.maxIP
	for _, i := range pa.drop[from] {
		lost = lost || i == idx
	}
	// The capture point is on the sender's side of the path, or on the
	// receiver's, where it sees what arrives, a delay later.
	nearSender := (from == 0) != pa.atServer
	if nearSender {
		n.record(d)
	}
	if lost {
		return
	}
	arrive := d
	// The server's datagrams take a nanosecond longer: an arrival in one
	// direction never coincides with one in the other.
	arrive.at = n.busy[from] + oneWay + time.Duration(from)
	if !nearSender {
		n.record(arrive)
	}
	peer := n.ends[1-from]
	time.AfterFunc(arrive.at-time.Since(n.start), func() {
		select {
		case peer.in <- arrive:
		case <-peer.done:
		default: // the receiver's buffer is full: lost, as on a host
		}
	})
}

func (n *udpNet) record(d udpDatagram) {
	if len(n.seen) < n.limit {
		n.seen = append(n.seen, d)
	}
}

// datagrams are what the capture saw, in time order (the client's first
// when two arrive at the same instant).
func (n *udpNet) datagrams() []udpDatagram {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := append([]udpDatagram(nil), n.seen...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].at < out[j].at })
	return out
}

// frameUDP serializes a datagram as Ethernet/IP/UDP with correct checksums.
func frameUDP(d udpDatagram) ([]byte, error) {
	smac, dmac := macClient, macServer
	if d.from == 1 {
		smac, dmac = dmac, smac
	}
	udp := &layers.UDP{SrcPort: layers.UDPPort(d.src.Port), DstPort: layers.UDPPort(d.dst.Port)}
	var ip gopacket.SerializableLayer
	ethType := layers.EthernetTypeIPv4
	if d.src.IP.To4() == nil {
		ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP, SrcIP: d.src.IP, DstIP: d.dst.IP}
		udp.SetNetworkLayerForChecksum(ip6)
		ip, ethType = ip6, layers.EthernetTypeIPv6
	} else {
		// QUIC sets DF (RFC 9000 §14): a path MTU too small drops, not fragments.
		ip4 := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Flags: layers.IPv4DontFragment, Protocol: layers.IPProtocolUDP,
			SrcIP: d.src.IP.To4(), DstIP: d.dst.IP.To4()}
		udp.SetNetworkLayerForChecksum(ip4)
		ip = ip4
	}
	return serialize(LinkEthernet, d.from, smac, dmac, ethType, ip, udp, gopacket.Payload(d.payload))
}

// udpEnd is one side's net.PacketConn.
type udpEnd struct {
	n    *udpNet
	side int
	in   chan udpDatagram
	wake chan struct{} // the read deadline changed
	done chan struct{}
	once sync.Once

	mu       sync.Mutex
	deadline time.Time
}

func (e *udpEnd) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		e.mu.Lock()
		dl := e.deadline
		e.mu.Unlock()
		var timer <-chan time.Time
		if !dl.IsZero() {
			wait := time.Until(dl)
			if wait <= 0 {
				return 0, nil, errTimeout
			}
			t := time.NewTimer(wait)
			timer = t.C
			defer t.Stop() // at most a few: the deadline changes rarely
		}
		select {
		case d := <-e.in:
			return copy(p, d.payload), d.src, nil
		case <-e.done:
			return 0, nil, net.ErrClosed
		case <-e.wake:
		case <-timer:
		}
	}
}

func (e *udpEnd) WriteTo(p []byte, addr net.Addr) (int, error) {
	select {
	case <-e.done:
		return 0, net.ErrClosed
	default:
	}
	e.n.send(e.side, p, addr)
	return len(p), nil
}

func (e *udpEnd) Close() error {
	e.once.Do(func() { close(e.done) })
	return nil
}

func (e *udpEnd) LocalAddr() net.Addr { return e.n.addr[e.side] }

func (e *udpEnd) SetDeadline(t time.Time) error { return e.SetReadDeadline(t) }

func (e *udpEnd) SetReadDeadline(t time.Time) error {
	e.mu.Lock()
	e.deadline = t
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
	return nil
}

func (e *udpEnd) SetWriteDeadline(time.Time) error { return nil }

// otherRandom is a client datagram whose first packet, an Initial holding
// the start of the ClientHello, has the ClientHello's random inverted,
// sealed again with the same Initial keys and packet number; nil when it
// is not such a datagram (the capture then fails its checks).
func otherRandom(p []byte) []byte {
	pkts, err := quic.ParseDatagram(p, -1)
	if err != nil || len(pkts) == 0 || pkts[0].Type != quic.Initial {
		return nil
	}
	first := pkts[0]
	raw := len(first.Raw)
	o, err1 := quic.InitialOpener(first.Version, first.DCID, false)
	sealer, _, err2 := quic.InitialSealers(first.Version, first.DCID)
	if err1 != nil || err2 != nil {
		return nil
	}
	pk := first
	pk.Raw = bytes.Clone(first.Raw)
	pn, payload, err := o.Open(&pk, -1)
	if err != nil {
		return nil
	}
	payload = bytes.Clone(payload)
	done := false
	quic.ParseFrames(payload, func(f quic.Frame) error {
		// type, length, legacy_version, then the random (RFC 8446 §4.1.2)
		if f.Kind == quic.FrameCrypto && f.Offset == 0 && len(f.Data) >= 38 && f.Data[0] == 1 {
			for i := 6; i < 38; i++ {
				f.Data[i] ^= 0xff
			}
			done = true
		}
		return nil
	})
	pnLen := raw - first.PNOffset - len(payload) - 16
	sealed, err := sealer.Seal(quic.Header{Type: quic.Initial, DCID: first.DCID, SCID: first.SCID, Token: first.Token, PNLen: pnLen}, pn, payload)
	if err != nil || !done || len(sealed) != raw {
		return nil
	}
	return append(sealed, p[raw:]...)
}

// stripInitials removes the QUIC v1 Initial packets at the start of a
// datagram (coalesced packets put Initials first, RFC 9000 §12.2); what
// it cannot parse it leaves as it is.
func stripInitials(p []byte) []byte {
	for len(p) > 7 && p[0]&0xc0 == 0xc0 && p[0]&0x30 == 0 && binary.BigEndian.Uint32(p[1:5]) == 1 {
		i := 5
		for range 2 { // Destination and Source Connection IDs
			if i >= len(p) {
				return p
			}
			i += 1 + int(p[i])
		}
		token, n, err := quicvarint.Parse(p[min(i, len(p)):])
		if err != nil {
			return p
		}
		i += n + int(token)
		length, n, err := quicvarint.Parse(p[min(i, len(p)):])
		if err != nil || i+n+int(length) > len(p) {
			return p
		}
		p = p[i+n+int(length):]
	}
	return p
}
