package flows

import (
	"bytes"
	"net/netip"
	"sync/atomic"
	"time"

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
	// The open TCP connections in the table's lists (tcptable.go), least
	// recently active first, so that expiry looks only at the fronts:
	// those with a FIN from one side
	// (they linger briefly for the other's), those reset or closed before
	// any data (they linger for a SYN again with the same sequence number,
	// which Wireshark counts as the same stream), and all others.
	closing, refused, active connList
	// handshaking: connections carrying data whose handshake is not
	// decided, the ones with decoder and reassembler state.
	handshaking connList
	// lists are the table's lists of every transport, in the order sweep
	// expires them; stallLists those live mode looks for stalls in;
	// datagramLists those of the transports over UDP, whose connections
	// are ended after TCP's at the end (Finish).
	lists, stallLists, datagramLists []*connList
	gone                             tombs
	streams                          streamNumbers
	asm                              *reassembly.Assembler
	now                              time.Time
	lastSweep                        time.Time
	// lastStallScan: when live mode last looked for stalls; stallDue:
	// when it must look again, the earliest a silence reaches the stall
	// timeout.
	lastStallScan time.Time
	stallDue      time.Time
	done          []tableConn // ended, judged at Finish (no OnResult)
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
	dtls          *dtlsTable      // DTLS associations (dtlsconn.go)
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
	a := &Analyzer{opts: opts, budget: &decoder.Budget{Limit: opts.HandshakeBudget}, dec: newLinkDecoder(), table: map[[2]netip.AddrPort]*conn{}, gone: newTombs(), tlsPorts: map[uint16]bool{}, quic: newQUICTable(), dtls: newDTLSTable()}
	a.tcpLists()
	a.quic.list.expire = quicExpiry
	a.dtls.list.expire = dtlsExpiry
	a.lists = []*connList{&a.closing, &a.refused, &a.active, &a.handshaking, &a.quic.list, &a.dtls.list}
	a.stallLists = []*connList{&a.quic.list, &a.dtls.list, &a.handshaking, &a.active}
	a.datagramLists = []*connList{&a.quic.list, &a.dtls.list}
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
