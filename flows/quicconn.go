package flows

import (
	"bytes"
	"net/netip"
	"slices"
	"time"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows/quic"
)

// QUIC connections (RFC 9000), beside the TCP ones: datagrams are matched
// to a connection by addresses, or by connection ID when the client's
// address changed (NAT rebinding, RFC 9000 §9); the CRYPTO frames of each
// packet-number space feed the same handshake machine as TLS records do.

// Packet-number spaces (RFC 9000 §12.3) and the epochs they carry.
const (
	spaceInitial = iota
	spaceHandshake
	spaceApp
	nSpaces
)

var spaceEpoch = [nSpaces]decoder.Epoch{decoder.EpochPlaintext, decoder.EpochHandshake, decoder.EpochApplication}

// QUICFacts are a QUIC connection's transport facts.
type QUICFacts struct {
	Version quic.Version
	// OriginalDCID is the Destination Connection ID of the client's first
	// Initial (its Initial keys come from it), ClientSCID and ServerSCID
	// the connection IDs each side chose.
	OriginalDCID, ClientSCID, ServerSCID []byte
	// Retry: the server sent a Retry (RetryValid: its integrity tag
	// checks); the client's Initials after it use RetrySCID.
	Retry, RetryValid bool
	RetryAt           time.Time
	// Retries counts the server's Retry packets (a client takes one per
	// attempt, RFC 9000 §17.2.5.2: more are a loop when nothing follows).
	Retries int
	// VersionNegotiation: the server answered with the versions it
	// supports (Offered: the version the client had tried).
	VersionNegotiation []quic.Version
	Offered            quic.Version
	// Close is the first CONNECTION_CLOSE read.
	Close *QUICClose
	// Packets counts each side's packets by space (Initial, Handshake,
	// 1-RTT); ZeroRTT the client's 0-RTT packets.
	Packets [2][3]int
	ZeroRTT int
	// Opaque counts Handshake and 1-RTT packets that could not be opened
	// for want of keys, OpenFailed those the keys did not open.
	Opaque, OpenFailed [2]int
	// FirstPacket is when each side first sent in each space.
	FirstPacket [2][3]time.Time
	// ClientInitials are the times of the client's Initial packets (the
	// first maxInitialTimes), NClientInitials how many there were.
	ClientInitials  []time.Time
	NClientInitials int
	// HelloPackets is how many Initial packets the ClientHello spanned;
	// HelloAcked how many of them the server's Initial ACK frames
	// acknowledged (counted when the server acknowledged any: a server
	// that has part of a ClientHello acknowledges that part).
	HelloPackets int
	HelloAcked   int
	// HandshakeDone is when the server's HANDSHAKE_DONE was read.
	HandshakeDone time.Time
	// Rebinds counts the client's address changes; UDPStreams are the
	// udp.stream numbers its datagrams had (the first is Result.Stream).
	Rebinds    int
	UDPStreams []int
	// ConnectionNumber is Wireshark's quic.connection.number: given at the
	// first long-header packet (-1: none came; Wireshark does not
	// dissect a flow of short headers alone as QUIC).
	ConnectionNumber int
	// CryptoProblem: a CRYPTO frame out of bounds was not buffered.
	CryptoProblem string
}

// QUICClose is a CONNECTION_CLOSE frame (RFC 9000 §19.19).
type QUICClose struct {
	From        decoder.Side
	At          time.Time
	Application bool // type 0x1d: the application's error space
	Code        uint64
	FrameType   uint64
	Reason      string // at most maxCloseReason bytes
}

// ErrorName is the transport error's name (RFC 9000 §20.1); for
// CRYPTO_ERROR, the TLS alert's.
func (c *QUICClose) ErrorName() string {
	if c.Application {
		return "application error"
	}
	if a, ok := c.TLSAlert(); ok {
		return decoder.AlertName(a.Description)
	}
	return quic.TransportErrorName(c.Code)
}

// TLSAlert is the fatal TLS alert a CONNECTION_CLOSE carries: QUIC sends
// the alert the record layer would have sent as a CRYPTO_ERROR transport
// error (RFC 9001 §4.8); ok is false for any other close.
func (c *QUICClose) TLSAlert() (a decoder.Alert, ok bool) {
	if c.Application {
		return a, false
	}
	d, ok := quic.CryptoAlert(c.Code)
	if !ok {
		return a, false
	}
	return decoder.Alert{From: c.From, Level: 2, Description: d, Time: c.At}, true
}

const (
	maxQUICEvents   = 16
	maxMoreCIDs     = 8
	maxInitialTimes = 16
	maxCloseReason  = 128
	maxUDPStreams   = 8
)

// quicConn is one QUIC connection being followed.
type quicConn struct {
	lifecycle
	ep    [2]netip.AddrPort // client, server (the client's latest address)
	facts QUICFacts
	m     decoder.Machine
	// helloPNs are the packet numbers of the client's Initials that
	// carried its ClientHello (the first few), ackedInitial the client
	// Initial packet numbers below 64 that the server acknowledged.
	helloPNs     []int64
	ackedInitial uint64
	// dcid is the Destination Connection ID the client's Initials use
	// now (the original one, or the Retry's), for its Initial keys.
	dcid []byte
	// open are the packet protections by side and space (nil: none).
	open     [2][nSpaces]*quic.Opener
	keysDone bool
	largest  [2][nSpaces]int64
	crypto   [2][nSpaces]quic.CryptoStream
	readers  [2][nSpaces]decoder.MessageReader
	// read is how far each CRYPTO stream was handed to its reader.
	read [2][nSpaces]int64
	// attempted: registered in quicTable.attempts by its server name;
	// fallback is the TCP connection that followed it unanswered.
	// held are packets kept until their keys are known (hold).
	held []heldPacket
	// moreCIDs are the connection IDs NEW_CONNECTION_ID frames issued
	// (read with keys), at most maxMoreCIDs.
	moreCIDs [][]byte
	// events are the QUIC events for the ladder (at most maxQUICEvents).
	events      []Event
	attempted   bool
	attemptName string
	fallback    *Fallback
	host        hostPair // its entry in quicTable.byHosts
	// drops: the capture dropped packets while it was open.
	drops *CaptureDrops
	// clientAddrs are the client addresses seen (tuple keys in the table).
	keys [][2]netip.AddrPort
}

// quicTable is the analyzer's QUIC state.
type quicTable struct {
	byTuple map[[2]netip.AddrPort]*quicConn
	// byCID finds a connection by a connection ID either side chose, for
	// datagrams from a new address; cidLens are the lengths in use.
	byCID   map[string]*quicConn
	cidLens []int
	// list holds the open connections in the table, least recently
	// active first (quicExpiry).
	list connList
	n    int // connections (quic.connection.number of the next)
	// attempts are the recent QUIC connections by server name, for a TCP
	// connection to the same name that falls back (Fallback).
	attempts map[string]*quicAttempt
	// byHosts counts the open connections between a client address and a
	// server, for a datagram from a new client port whose connection ID
	// is not known (NAT rebinding to a connection ID issued encrypted).
	byHosts map[hostPair]hostConns
}

// hostConns are the open connections between two hosts: c is the one
// when n is 1.
type hostConns struct {
	c *quicConn
	n int
}

// byHostPair is the one open connection between the hosts, or nil.
func (q *quicTable) byHostPair(h hostPair) *quicConn {
	if e := q.byHosts[h]; e.n == 1 {
		return e.c
	}
	return nil
}

// hostPair is a client address and a server address and port.
type hostPair struct {
	client netip.Addr
	server netip.AddrPort
}

// quicAttempt is a QUIC connection to a server name.
type quicAttempt struct {
	stream   int
	start    time.Time
	client   netip.Addr
	conn     *quicConn // nil once ended
	answered bool      // the server sent something
}

// maxAttempts bounds quicTable.attempts.
const maxAttempts = 4096

func (q *quicTable) attempt(c *quicConn) {
	if len(q.attempts) >= maxAttempts {
		return
	}
	c.attemptName = c.m.HS.ClientHello.ServerName
	q.attempts[c.attemptName] = &quicAttempt{stream: int(c.id), start: c.first, client: c.ep[0].Addr(), conn: c}
}

// fallbackOf links a TCP connection to a QUIC attempt to the same name
// from the same client, made shortly before, that got no answer: the
// browser's fallback (RFC 9114 §3.1).
func (q *quicTable) fallbackOf(r *Result) *Fallback {
	if len(q.attempts) == 0 || r.HS == nil || r.HS.ClientHello == nil {
		return nil
	}
	at := q.attempts[r.HS.ClientHello.ServerName]
	if at == nil || at.client != r.Client.Addr() || r.Start.Before(at.start) || r.Start.Sub(at.start) > fallbackWindow {
		return nil
	}
	if c := at.conn; c != nil {
		if c.facts.Packets[decoder.Server] != [3]int{} {
			return nil
		}
		c.fallback = &Fallback{Transport: TransportTCP, Stream: r.Stream}
	} else if at.answered {
		return nil
	}
	return &Fallback{Transport: TransportQUIC, Stream: at.stream}
}

func newQUICTable() *quicTable {
	return &quicTable{byTuple: map[[2]netip.AddrPort]*quicConn{}, byCID: map[string]*quicConn{},
		attempts: map[string]*quicAttempt{}, byHosts: map[hostPair]hostConns{}}
}

func (q *quicTable) addCID(cid []byte, c *quicConn) {
	if len(cid) == 0 {
		return
	}
	q.byCID[string(cid)] = c
	for _, n := range q.cidLens {
		if n == len(cid) {
			return
		}
	}
	if len(q.cidLens) < 21 {
		q.cidLens = append(q.cidLens, len(cid))
	}
}

// byShortHeader finds the connection of a short-header packet by its
// Destination Connection ID, whose length is not in the packet.
func (q *quicTable) byShortHeader(b []byte) *quicConn {
	for _, n := range q.cidLens {
		if 1+n <= len(b) {
			if c := q.byCID[string(b[1:1+n])]; c != nil {
				return c
			}
		}
	}
	return nil
}

// forget removes a connection's entries from the lookup tables.
func (q *quicTable) forget(c *quicConn) {
	for _, k := range c.keys {
		if q.byTuple[k] == c {
			delete(q.byTuple, k)
		}
	}
	if h := c.host; q.byHosts[h].n > 0 {
		e := q.byHosts[h]
		if e.n--; e.n == 0 {
			delete(q.byHosts, h)
		} else {
			if e.c == c {
				e.c = nil
			}
			q.byHosts[h] = e
		}
	}
	if c.attempted {
		if at := q.attempts[c.attemptName]; at != nil && at.conn == c {
			at.conn, at.answered = nil, c.facts.Packets[decoder.Server] != [3]int{}
		}
	}
	for _, cid := range append([][]byte{c.facts.OriginalDCID, c.facts.ClientSCID, c.facts.ServerSCID, c.dcid}, c.moreCIDs...) {
		if len(cid) > 0 && q.byCID[string(cid)] == c {
			delete(q.byCID, string(cid))
		}
	}
}

// isQUICPort: UDP ports where QUIC is expected.
func isQUICPort(p uint16) bool { return p == 443 || p == 8443 }

// datagram handles one UDP datagram.
func (a *Analyzer) datagram(seg *segment, t time.Time) {
	q := a.quic
	a.Stats.UDPPackets++
	k := key(seg.src, seg.dst)
	stream := a.udpStream(k)
	b := seg.raw
	var pkts []quic.Packet // the datagram's packets, once parsed
	parsed := false
	c := q.byTuple[k]
	if c == nil && a.dtlsDatagram(seg, k, stream, t) {
		return // DTLS, found by content on any port
	}
	if c == nil {
		if !quic.LooksLikeQUIC(b) {
			if isQUICPort(seg.dst.Port()) || isQUICPort(seg.src.Port()) {
				a.Stats.UDPNotQUIC++
			}
			return
		}
		short := len(b) > 0 && b[0]&0x80 == 0
		if short {
			c = q.byShortHeader(b)
			if c == nil {
				// A connection ID issued inside encrypted frames: the one
				// connection between these hosts, if there is just one.
				c = q.byHostPair(hostPair{seg.src.Addr(), seg.dst})
				if c == nil {
					c = q.byHostPair(hostPair{seg.dst.Addr(), seg.src})
				}
			}
		} else if pkts, _ = quic.ParseDatagram(b, -1); len(pkts) > 0 {
			// Its Destination Connection ID is one the receiver chose.
			c = q.byCID[string(pkts[0].DCID)]
		}
		if c == nil && short {
			// A short header names no version and no connection that
			// began in the capture: not told apart from other traffic
			// (Wireshark does not dissect it as QUIC either).
			if isQUICPort(seg.dst.Port()) || isQUICPort(seg.src.Port()) {
				a.Stats.UDPNotQUIC++
			}
			return
		}
		switch {
		case c != nil:
			// A known connection from a new address.
			if len(c.keys) < maxUDPStreams {
				c.keys = append(c.keys, k)
				q.byTuple[k] = c
			}
			client := seg.src
			if seg.src == c.ep[1] {
				client = seg.dst // the server answering the client's new address
			}
			if client != c.ep[0] {
				c.facts.Rebinds++
				c.ep[0] = client
				a.quicEvent(c, decoder.Client, t, "new address", client.String())
			}
		case !isQUICPort(seg.dst.Port()) && !isQUICPort(seg.src.Port()) && !clientInitial(b, pkts):
			return // QUIC-looking bytes on another port: not ours to judge
		default:
			c = a.newQUICConn(seg, k, stream, t)
			if c == nil {
				return
			}
			parsed = true // a new connection knows no short-header DCID length
		}
	}
	if !c.facts.hasStream(int(stream)) && len(c.facts.UDPStreams) < maxUDPStreams {
		c.facts.UDPStreams = append(c.facts.UDPStreams, int(stream))
	}
	side := decoder.Client
	if seg.src == c.ep[1] {
		side = decoder.Server
	}
	c.last = t
	moveBack(&q.list.list, &c.lifecycle)
	if a.opts.KeepPackets && !c.dropFrames {
		a.keepFrame(&c.lifecycle)
	}
	if !parsed {
		pkts, _ = quic.ParseDatagram(b, c.shortDCIDLen(side))
	}
	a.quicPackets(c, side, pkts, t)
	if c.frames != nil {
		if st := c.m.State(); c.facts.Close == nil && !c.completeAt(&st).IsZero() {
			a.dropFrames(&c.lifecycle) // a good handshake: nothing to write out
		}
	}
	a.quicLive(c)
	if c.reported && !c.provisional {
		a.dropFrames(&c.lifecycle) // its final verdict was handed over
	}
}

func (f *QUICFacts) hasStream(n int) bool {
	for _, s := range f.UDPStreams {
		if s == n {
			return true
		}
	}
	return false
}

// clientInitial: the datagram starts with a long-header Initial of a
// known version, padded to at least 1200 bytes as a client's must be
// (RFC 9000 §14.1).
func clientInitial(b []byte, pkts []quic.Packet) bool {
	return len(b) >= 1200 && len(pkts) > 0 && pkts[0].Type == quic.Initial && pkts[0].Version.Known()
}

func (a *Analyzer) newQUICConn(seg *segment, k [2]netip.AddrPort, stream int32, t time.Time) *quicConn {
	q := a.quic
	// A QUIC connection in its handshake holds two to eight packet
	// protections and its CRYPTO streams (about 12 KiB).
	a.roomForHandshake(&q.list)
	c := &quicConn{}
	a.begin(c, stream, t)
	c.last = t
	c.largest = [2][nSpaces]int64{{-1, -1, -1}, {-1, -1, -1}}
	// The client: the sender of an Initial to a QUIC port, else the side
	// not on one.
	c.ep = [2]netip.AddrPort{seg.src, seg.dst}
	if isQUICPort(seg.src.Port()) && !isQUICPort(seg.dst.Port()) {
		c.ep = [2]netip.AddrPort{seg.dst, seg.src}
	}
	c.facts.ConnectionNumber = -1
	c.keys = append(c.keys, k)
	q.byTuple[k] = c
	push(&q.list.list, &c.lifecycle)
	h := hostPair{c.ep[0].Addr(), c.ep[1]}
	e := q.byHosts[h]
	e.n++
	e.c = c
	if e.n > 1 {
		e.c = nil // several: none is taken for another's
	}
	q.byHosts[h] = e
	c.host = h
	return c
}

// shortDCIDLen is the length of the DCID of side's short-header packets:
// the connection ID its receiver chose (-1: not known yet).
func (c *quicConn) shortDCIDLen(side decoder.Side) int {
	if side == decoder.Client && c.facts.ServerSCID != nil {
		return len(c.facts.ServerSCID)
	} else if side == decoder.Server && c.facts.ClientSCID != nil {
		return len(c.facts.ClientSCID)
	}
	return -1
}

// quicPackets handles the packets of one datagram from side.
func (a *Analyzer) quicPackets(c *quicConn, side decoder.Side, pkts []quic.Packet, t time.Time) {
	peer := side.Other()
	for i := range pkts {
		p := &pkts[i]
		if c.facts.ConnectionNumber < 0 && p.Type != quic.OneRTT {
			c.facts.ConnectionNumber = a.quic.n
			a.quic.n++
			a.Stats.QUICConnections = a.quic.n
		}
		if side == decoder.Client && p.Version != 0 && c.facts.VersionNegotiation == nil {
			// The version the client tried, also one this package cannot
			// read (a reserved one that forces Version Negotiation, RFC
			// 9000 §15).
			c.facts.Offered = p.Version
		}
		switch p.Type {
		case quic.VersionNegotiation:
			if side == decoder.Server && c.facts.VersionNegotiation == nil {
				c.facts.VersionNegotiation = append([]quic.Version{}, p.SupportedVersions[:min(len(p.SupportedVersions), 16)]...)
				a.quicEvent(c, side, t, "Version Negotiation", "")
			}
			continue
		case quic.Retry:
			if side == decoder.Server {
				c.facts.Retries++
			}
			if side == decoder.Server && !c.facts.Retry {
				c.facts.Retry, c.facts.RetryAt = true, t
				a.quicEvent(c, side, t, "Retry", "")
				c.facts.RetryValid = quic.RetryValid(c.facts.Version, c.dcid, p.Raw)
				// The client's next Initials go to the Retry's connection ID
				// and take their keys from it (RFC 9001 §5.2).
				c.dcid = append([]byte(nil), p.SCID...)
				a.quic.addCID(c.dcid, c)
				c.open[decoder.Client][spaceInitial], c.open[decoder.Server][spaceInitial] = nil, nil
				c.largest[decoder.Client][spaceInitial], c.largest[decoder.Server][spaceInitial] = -1, -1
				// Its CRYPTO data starts again at offset 0: the same
				// ClientHello, or a new one that the handshake goes on
				// with, and whose random finds the keys.
				c.crypto[decoder.Client][spaceInitial] = quic.CryptoStream{}
				c.readers[decoder.Client][spaceInitial] = decoder.MessageReader{}
				c.read[decoder.Client][spaceInitial] = 0
				c.m.TransportRetry()
			}
			continue
		case quic.ZeroRTT:
			c.facts.ZeroRTT++
			continue
		}
		space := spaceApp
		switch p.Type {
		case quic.Initial:
			space = spaceInitial
			a.quicInitialHeader(c, side, p)
		case quic.Handshake:
			space = spaceHandshake
			if side == decoder.Server && c.facts.ServerSCID == nil && len(p.SCID) > 0 {
				c.facts.ServerSCID = append([]byte(nil), p.SCID...)
				a.quic.addCID(c.facts.ServerSCID, c)
			}
		}
		f := &c.facts
		f.Packets[side][space]++
		if f.FirstPacket[side][space].IsZero() {
			f.FirstPacket[side][space] = t
		}
		if side == decoder.Client && space == spaceInitial {
			if len(f.ClientInitials) < maxInitialTimes {
				f.ClientInitials = append(f.ClientInitials, t)
			}
			f.NClientInitials++
			if f.Packets[decoder.Server] == [3]int{} && f.NClientInitials > 1 && c.m.HS.ClientHello != nil {
				// Sent again with no answer yet: the ladder shows the wait.
				a.quicEvent(c, side, t, "Initial again", "")
			}
		}
		if space != spaceInitial && !c.keysDone {
			a.quicKeys(c)
			if c.keysDone {
				a.quicPending(c)
			}
		}
		o := c.open[side][space]
		if o == nil {
			// An Initial without keys is of a version not known, or of a
			// connection ID the capture did not show: not counted.
			if space != spaceInitial {
				f.Opaque[side]++
				if a.keys != nil && !c.keysDone {
					c.hold(side, space, p.Raw, t)
				}
			}
			continue
		}
		pn, payload, err := o.Open(p, c.largest[side][space])
		if err != nil {
			if space != spaceInitial {
				f.OpenFailed[side]++
			}
			continue
		}
		c.largest[side][space] = max(c.largest[side][space], pn)
		a.quicFrames(c, side, peer, space, pn, payload, t)
		if space == spaceInitial && len(c.held) > 0 && !c.keysDone && c.m.HS.ServerHello != nil {
			// The ServerHello came after packets it gives the keys of.
			a.quicKeys(c)
			if c.keysDone {
				a.quicPending(c)
			}
		}
	}
}

// heldPacket is a protected packet that came before its keys could be
// known (Handshake packets ahead of the ServerHello that names the
// suite): kept to be opened once they are, as an endpoint does
// (RFC 9001 §5.7).
type heldPacket struct {
	side  decoder.Side
	space int
	raw   []byte
	at    time.Time
}

// Bounds on the packets held per connection.
const (
	maxHeldPackets = 8
	maxHeldBytes   = 16 << 10
)

func (c *quicConn) hold(side decoder.Side, space int, raw []byte, t time.Time) {
	n := 0
	for _, h := range c.held {
		n += len(h.raw)
	}
	if len(c.held) < maxHeldPackets && n+len(raw) <= maxHeldBytes {
		c.held = append(c.held, heldPacket{side, space, append([]byte(nil), raw...), t})
	}
}

// quicPending opens the packets held for want of keys, now there are.
func (a *Analyzer) quicPending(c *quicConn) {
	held := c.held
	c.held = nil
	for _, h := range held {
		o := c.open[h.side][h.space]
		if o == nil {
			continue
		}
		pkts, _ := quic.ParseDatagram(h.raw, c.shortDCIDLen(h.side))
		if len(pkts) == 0 {
			continue
		}
		pn, payload, err := o.Open(&pkts[0], c.largest[h.side][h.space])
		if err != nil {
			continue
		}
		c.facts.Opaque[h.side]--
		c.largest[h.side][h.space] = max(c.largest[h.side][h.space], pn)
		a.quicFrames(c, h.side, h.side.Other(), h.space, pn, payload, h.at)
	}
}

// quicEvent adds an event to the connection's ladder.
func (a *Analyzer) quicEvent(c *quicConn, side decoder.Side, t time.Time, kind, note string) {
	if len(c.events) >= maxQUICEvents {
		return
	}
	e := Event{Time: t, From: side, Kind: kind, Note: note}
	if a.cur != nil {
		e.Frame = a.cur.Frame
	}
	c.events = append(c.events, e)
}

// quicInitialHeader learns the version and connection IDs from an
// Initial packet's header, and derives the Initial keys.
func (a *Analyzer) quicInitialHeader(c *quicConn, side decoder.Side, p *quic.Packet) {
	f := &c.facts
	if side == decoder.Client {
		if f.OriginalDCID == nil {
			f.OriginalDCID = append([]byte(nil), p.DCID...)
			c.dcid = f.OriginalDCID
			a.quic.addCID(f.OriginalDCID, c)
		}
		if f.ClientSCID == nil {
			f.ClientSCID = append([]byte{}, p.SCID...)
			a.quic.addCID(f.ClientSCID, c)
		}
		if f.Version != p.Version {
			// First, or a new version after Version Negotiation: new keys,
			// and a new handshake from a new ClientHello (RFC 9000 §6.2).
			if f.Version != 0 {
				c.restart()
				c.dcid = append([]byte(nil), p.DCID...)
				a.quic.addCID(c.dcid, c)
				// The JSON keeps the first attempt's connection IDs, as
				// Wireshark names the connection by them; the new ones
				// find it.
				a.quic.addCID(append([]byte(nil), p.SCID...), c)
			}
			f.Version = p.Version
			c.open[decoder.Client][spaceInitial], c.open[decoder.Server][spaceInitial] = nil, nil
		}
	} else {
		if f.OriginalDCID == nil {
			f.Version = p.Version // no client Initial seen: mid-stream
		}
		if f.ServerSCID == nil && len(p.SCID) > 0 {
			f.ServerSCID = append([]byte(nil), p.SCID...)
			a.quic.addCID(f.ServerSCID, c)
		}
	}
	if c.open[side][spaceInitial] == nil && c.dcid != nil && f.Version.Known() {
		// Each side's when it first sends: a flood of client Initials
		// never pays for the server's.
		if o, err := quic.InitialOpener(f.Version, c.dcid, side == decoder.Server); err == nil {
			c.open[side][spaceInitial] = o
		}
	}
}

// restart forgets the handshake for the client's next attempt after
// Version Negotiation; the transport facts stay.
func (c *quicConn) restart() {
	c.m = decoder.Machine{}
	c.crypto = [2][nSpaces]quic.CryptoStream{}
	c.readers = [2][nSpaces]decoder.MessageReader{}
	c.read = [2][nSpaces]int64{}
	c.largest = [2][nSpaces]int64{{-1, -1, -1}, {-1, -1, -1}}
	c.keysDone = false
	c.facts.HelloPackets = 0
	c.helloPNs, c.ackedInitial = nil, 0
}

// quicKeys opens the Handshake and 1-RTT spaces with the key log's TLS
// 1.3 secrets, once the ServerHello named the cipher suite (RFC 9001 §5.1).
func (a *Analyzer) quicKeys(c *quicConn) {
	hs := &c.m.HS
	if a.keys == nil || hs.ClientHello == nil || hs.ServerHello == nil {
		return
	}
	c.keysDone = true
	s := a.keys.Log().Lookup(hs.LatestClientHello().Random)
	if s == nil {
		return
	}
	suite := hs.ServerHello.CipherSuite
	for _, k := range []struct {
		side   decoder.Side
		space  int
		secret []byte
	}{{decoder.Client, spaceHandshake, s.ClientHandshake}, {decoder.Server, spaceHandshake, s.ServerHandshake},
		{decoder.Client, spaceApp, s.ClientTraffic0}, {decoder.Server, spaceApp, s.ServerTraffic0}} {
		if k.secret == nil {
			continue
		}
		if o, err := quic.NewOpener(c.facts.Version, suite, k.secret); err == nil {
			c.open[k.side][k.space] = o
		}
	}
}

// quicFrames reads the frames of an opened packet.
func (a *Analyzer) quicFrames(c *quicConn, side, peer decoder.Side, space int, pn int64, payload []byte, t time.Time) {
	f := &c.facts
	carriedHello := false
	_ = quic.ParseFrames(payload, func(fr quic.Frame) error {
		switch fr.Kind {
		case quic.FrameCrypto:
			if side == decoder.Client && space == spaceInitial && c.m.HS.ClientHello == nil {
				carriedHello = true
			}
			a.quicCrypto(c, side, space, fr.Offset, fr.Data, t)
		case quic.FrameAck:
			if side == decoder.Server && space == spaceInitial {
				// Every range (RFC 9000 §19.3.1): which of the ClientHello's
				// first packets arrived, even when a later one came first.
				c.ackedInitial |= fr.Low
			}
		case quic.FrameConnectionClose:
			if f.Close == nil {
				reason := fr.Data
				if len(reason) > maxCloseReason {
					reason = reason[:maxCloseReason]
				}
				f.Close = &QUICClose{From: side, At: t, Application: fr.Application(), Code: fr.ErrorCode, FrameType: fr.FrameType, Reason: string(reason)}
				a.quicEvent(c, side, t, "CONNECTION_CLOSE", f.Close.ErrorName())
			}
		case quic.FrameNewConnectionID:
			// The peer may send to it later, from a new address
			// (RFC 9000 §9.5): it finds this connection.
			if len(c.moreCIDs) < maxMoreCIDs {
				cid := append([]byte(nil), fr.Data...)
				c.moreCIDs = append(c.moreCIDs, cid)
				a.quic.addCID(cid, c)
			}
		case quic.FrameHandshakeDone:
			if side == decoder.Server && f.HandshakeDone.IsZero() {
				f.HandshakeDone = t
				a.quicEvent(c, side, t, "HANDSHAKE_DONE", "")
			}
		}
		return nil
	})
	if carriedHello {
		f.HelloPackets++
		if len(c.helloPNs) < 8 && !slices.Contains(c.helloPNs, pn) {
			c.helloPNs = append(c.helloPNs, pn)
		}
	}
}

// quicCrypto adds a CRYPTO frame's bytes to their stream and hands the
// whole handshake messages to the machine with their epoch.
func (a *Analyzer) quicCrypto(c *quicConn, side decoder.Side, space int, off uint64, data []byte, t time.Time) {
	cs := &c.crypto[side][space]
	if err := cs.Add(off, data); err != nil {
		if c.facts.CryptoProblem == "" {
			c.facts.CryptoProblem = err.Error()
			at := decoder.Pos{Time: t}
			if a.cur != nil {
				at.Frame = a.cur.Frame
			}
			c.m.Problem(side, at, decoder.ProblemOversize, side.String()+": "+err.Error())
		}
		return
	}
	r := &c.readers[side][space]
	for {
		b := cs.Read()
		if len(b) == 0 {
			break
		}
		r.Write(b, c.read[side][space])
		c.read[side][space] += int64(len(b))
	}
	for {
		msg, offset, over, typ, n := r.Next()
		at := decoder.Pos{Time: t, Offset: offset, End: offset + int64(len(msg))}
		if a.cur != nil {
			at.Frame = a.cur.Frame // the datagram that completed the message
		}
		if over {
			c.m.OverCap(side, typ, n, at)
			continue
		}
		if msg == nil {
			break
		}
		if c.facts.Retry && side == decoder.Client && space == spaceInitial && sameHello(msg, c.m.HS.ClientHello) {
			continue // the ClientHello again after the Retry
		}
		c.m.Message(side, spaceEpoch[space], msg, at)
		if !c.attempted && c.m.HS.ClientHello != nil && c.m.HS.ClientHello.ServerName != "" {
			c.attempted = true
			a.quic.attempt(c)
		}
	}
	r.Compact()
}

// quicExpiry ends QUIC connections idle for the idle timeout, and those
// closed a moment after their CONNECTION_CLOSE (RFC 9000 §10.2: the
// draining period is three PTOs; two seconds of capture time here).
func quicExpiry(a *Analyzer, l *lifecycle) expiry {
	var closed time.Time
	if cl := l.self.(*quicConn).facts.Close; cl != nil {
		closed = cl.At
	}
	return datagramExpiry(a, l, closed)
}

func (c *quicConn) life() *lifecycle     { return &c.lifecycle }
func (c *quicConn) transport() Transport { return TransportQUIC }

// judge: with Options.Shard, a QUIC connection is reported by the shard
// its first addresses hash to.
func (c *quicConn) judge(a *Analyzer) *Result {
	if r := a.quicResult(c); r != nil && a.ownQUIC(r) {
		return r
	}
	return nil
}

// release: a QUIC connection holds nothing outside itself.
func (c *quicConn) release(*Analyzer, time.Time) bool { return true }
func (c *quicConn) forget(a *Analyzer)                { a.quic.forget(c) }

// mayStall: a QUIC handshake decided while open was reported then
// (quicLive).
func (c *quicConn) mayStall() bool { return true }

// sameHello reports whether msg is a ClientHello with ch's random: one
// sent again, not a new one.
func sameHello(msg []byte, ch *decoder.ClientHello) bool {
	// type, length (4), legacy_version (2), then the random (RFC 8446 §4.1.2)
	return ch != nil && len(msg) >= 38 && msg[0] == 1 && bytes.Equal(msg[6:38], ch.Random)
}
