package flows

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
)

// StreamID is a connection's identity as Wireshark numbers it: its
// tcp.stream for TLS over TCP, the udp.stream of its first datagram for
// QUIC and DTLS. Wireshark counts the two apart, each from 0, so TCP 0 and
// UDP 0 are two connections: everything that names one says which.
// Transport names the numbering: TransportTCP, or TransportQUIC for
// udp.stream, which QUIC and DTLS share (NewStreamID).
type StreamID struct {
	Transport Transport
	N         int
}

// NewStreamID is the stream of a connection of transport t numbered n:
// QUIC's and DTLS's are one udp.stream numbering.
func NewStreamID(t Transport, n int) StreamID {
	if t.OverUDP() {
		t = TransportQUIC
	}
	return StreamID{t, n}
}

// String is the stream as the report names it: "7" for TCP, "udp 7" for
// QUIC.
func (s StreamID) String() string {
	if s.Transport.OverUDP() {
		return "udp " + strconv.Itoa(s.N)
	}
	return strconv.Itoa(s.N)
}

// Name is the stream as a line of text names it: "stream 7" for TCP,
// "udp 7" for QUIC.
func (s StreamID) Name() string {
	if s.Transport.OverUDP() {
		return s.String()
	}
	return "stream " + s.String()
}

// DisplayFilter is the Wireshark display filter that shows the stream.
func (s StreamID) DisplayFilter() string {
	if s.Transport.OverUDP() {
		return "udp.stream eq " + strconv.Itoa(s.N)
	}
	return "tcp.stream eq " + strconv.Itoa(s.N)
}

// Anchor is the fragment that links to the stream's section: an HTML id,
// and the anchor GitHub makes of the Markdown heading "Stream " +
// String() (lower case, spaces as hyphens): "stream-7", "stream-udp-7".
func (s StreamID) Anchor() string {
	return "stream-" + strings.ReplaceAll(s.String(), " ", "-")
}

// Compare orders streams as reports list them: TCP ones first, then
// UDP ones (QUIC, DTLS), each by number.
func (s StreamID) Compare(o StreamID) int {
	if su, ou := s.Transport.OverUDP(), o.Transport.OverUDP(); su != ou {
		if su {
			return 1
		}
		return -1
	}
	return s.N - o.N
}

// ParseStreamID reads a stream as the command line names it: "7" or
// "tcp:7" is tcp.stream 7, "udp:7" is udp.stream 7 (a QUIC or DTLS
// connection);
// "udp 7", as reports write it, is read too.
func ParseStreamID(v string) (StreamID, error) {
	t, num := TransportTCP, strings.TrimSpace(v)
	if i := strings.IndexAny(num, ": "); i >= 0 {
		switch strings.ToLower(num[:i]) {
		case "tcp":
		case "udp":
			t = TransportQUIC
		default:
			return StreamID{}, errors.New("a stream is N, tcp:N or udp:N")
		}
		num = strings.TrimSpace(num[i+1:])
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || strings.HasPrefix(num, "+") {
		return StreamID{}, errors.New("a stream is N, tcp:N or udp:N, N a number from 0")
	}
	return StreamID{t, n}, nil
}

// ID is the connection's stream.
func (r *Result) ID() StreamID { return NewStreamID(r.Transport, r.Stream) }

// ID is the other connection's stream.
func (f *Fallback) ID() StreamID { return NewStreamID(f.Transport, f.Stream) }

// streamNumbers is where connections get their numbers, as Wireshark
// gives them: tcp.stream counts TCP connections (port reuse with a new
// SYN, SOCKS tunnels, other shards' connections included), udp.stream
// counts UDP conversations (address pairs, in order of their first
// datagram), whatever they carry.
type streamNumbers struct {
	next [2]int32 // by Transport
	// udp is the udp.stream of each conversation seen, at most
	// maxUDPConversations: past it, new conversations are numbered
	// without being remembered (Stats.UDPUnnumbered says so).
	udp map[[2]netip.AddrPort]int32
}

// maxUDPConversations bounds the udp.stream table.
var maxUDPConversations = 1 << 18

// newStream takes the next number of a transport.
func (a *Analyzer) newStream(t Transport) int32 {
	sn := &a.streams
	n := sn.next[t]
	sn.next[t]++
	if t == TransportTCP {
		a.Stats.TCPStreams = int(sn.next[t])
	}
	return n
}

// udpStream is the udp.stream number of a datagram's conversation (k, as
// key orders it).
func (a *Analyzer) udpStream(k [2]netip.AddrPort) int32 {
	sn := &a.streams
	if n, ok := sn.udp[k]; ok {
		return n
	}
	n := a.newStream(TransportQUIC)
	if sn.udp == nil {
		sn.udp = map[[2]netip.AddrPort]int32{}
	}
	if len(sn.udp) < maxUDPConversations {
		sn.udp[k] = n
	} else {
		a.Stats.UDPUnnumbered = true
	}
	return n
}
