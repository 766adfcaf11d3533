package flows

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tlsscope/tlsscope/flows/capture"
	"github.com/tlsscope/tlsscope/internal/capgen"
)

// TestFlowHashFixed: the shard hash is the documented function, the same
// both ways, and allocates nothing.
func TestFlowHashFixed(t *testing.T) {
	for _, tc := range []struct {
		x, y string
	}{
		{"192.0.2.10:41100", "198.51.100.20:443"},
		{"[2001:db8::1]:50000", "[2001:db8::2]:443"},
		{"[::ffff:192.0.2.10]:41100", "198.51.100.20:443"},
	} {
		x, y := netip.MustParseAddrPort(tc.x), netip.MustParseAddrPort(tc.y)
		x = netip.AddrPortFrom(x.Addr().Unmap(), x.Port())
		h := FlowHash(x, y)
		if h != FlowHash(y, x) {
			t.Errorf("%s %s: differs by direction", tc.x, tc.y)
		}
		t.Logf("FlowHash(%s, %s) = %#016x", tc.x, tc.y, h)
	}
	// Golden values: a change here breaks every mixed-version deployment.
	a, b := netip.MustParseAddrPort("192.0.2.10:41100"), netip.MustParseAddrPort("198.51.100.20:443")
	if got := FlowHash(a, b); got != flowHashGolden {
		t.Errorf("FlowHash changed: %#016x, was %#016x", got, flowHashGolden)
	}
	if n := testing.AllocsPerRun(100, func() { FlowHash(a, b) }); n != 0 {
		t.Errorf("FlowHash allocates %.0f times", n)
	}
}

// flowHashGolden is FlowHash(192.0.2.10:41100, 198.51.100.20:443).
const flowHashGolden = 0x4a257a5179fa821b

// shardKey is what a result must agree on between a whole run and its
// shards.
func shardKey(r *Result) string {
	return fmt.Sprintf("%d %v %v %s %s %d/%d", r.Stream, r.Client, r.Server, r.Outcome, r.EndedBy, r.TCP.Side[0].Packets, r.TCP.Side[1].Packets)
}

type rawPacket struct {
	data []byte
	ci   gopacket.CaptureInfo
}

// churn is a capture of few addresses and ports used again and again:
// SYNs with the same or a new sequence number, resets, FINs, late
// packets, and pauses past the lingers, the idle timeout and the tombs'
// generations: what decides stream numbers.
func churn(seed uint64, n int) []rawPacket {
	r := rand.New(rand.NewPCG(seed, seed))
	srv := netip.MustParseAddr("198.51.100.20")
	type tuple struct {
		cli      netip.Addr
		cport    uint16
		isn      [2]uint32
		nxt      [2]uint32
		started  bool
		helloOut bool
	}
	tuples := make([]tuple, 24)
	for i := range tuples {
		tuples[i] = tuple{cli: netip.AddrFrom4([4]byte{10, 0, 0, byte(i % 7)}), cport: uint16(40000 + i), isn: [2]uint32{r.Uint32(), r.Uint32()}}
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var out []rawPacket
	buf := gopacket.NewSerializeBuffer()
	emit := func(tp *tuple, side int, syn, ack, fin, rst bool, payload []byte) {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: tp.cli.AsSlice(), DstIP: srv.AsSlice()}
		tcp := &layers.TCP{SrcPort: layers.TCPPort(tp.cport), DstPort: 443, SYN: syn, ACK: ack, FIN: fin, RST: rst, Window: 65535,
			Seq: tp.isn[side] + tp.nxt[side], Ack: tp.isn[1-side] + tp.nxt[1-side]}
		if side == 1 {
			ip.SrcIP, ip.DstIP = ip.DstIP, ip.SrcIP
			tcp.SrcPort, tcp.DstPort = tcp.DstPort, tcp.SrcPort
		}
		tcp.SetNetworkLayerForChecksum(ip)
		gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, tcp, gopacket.Payload(payload))
		d := bytes.Clone(buf.Bytes())
		out = append(out, rawPacket{d, gopacket.CaptureInfo{Timestamp: now, CaptureLength: len(d), Length: len(d)}})
		if syn || fin {
			tp.nxt[side]++
		}
		tp.nxt[side] += uint32(len(payload))
	}
	hello := []byte{0x16, 3, 1, 0, 0x40, 1, 0, 0, 0x3c, 3, 3, 1, 2, 3, 4, 5, 6, 7, 8}
	for range n {
		switch x := r.IntN(100); {
		case x < 60:
			now = now.Add(time.Duration(r.IntN(50)) * time.Millisecond)
		case x < 90:
			now = now.Add(time.Duration(r.IntN(3000)) * time.Millisecond)
		case x < 98:
			now = now.Add(time.Duration(50+r.IntN(80)) * time.Second)
		default:
			now = now.Add(time.Duration(4+r.IntN(3)) * time.Minute)
		}
		tp := &tuples[r.IntN(len(tuples))]
		switch x := r.IntN(100); {
		case x < 15 || !tp.started: // SYN: usually a new connection, sometimes the same again
			if r.IntN(3) > 0 || !tp.started {
				tp.isn = [2]uint32{r.Uint32(), r.Uint32()}
			}
			tp.nxt = [2]uint32{}
			tp.started, tp.helloOut = true, false
			emit(tp, 0, true, false, false, false, nil)
		case x < 30:
			if tp.nxt[1] == 0 {
				emit(tp, 1, true, true, false, false, nil)
			} else {
				emit(tp, r.IntN(2), false, true, false, false, nil)
			}
		case x < 50:
			if !tp.helloOut {
				tp.helloOut = true
				emit(tp, 0, false, true, false, false, hello)
			} else {
				emit(tp, 0, false, true, false, false, []byte{1, 2, 3, 4})
			}
		case x < 70:
			emit(tp, r.IntN(2), false, true, true, false, nil)
		case x < 80:
			emit(tp, r.IntN(2), false, r.IntN(2) == 0, false, true, nil)
		default: // a late or stray ACK
			emit(tp, r.IntN(2), false, true, false, false, nil)
		}
	}
	return out
}

func runShard(pkts []rawPacket, opts Options) ([]string, *Analyzer) {
	a := NewAnalyzer(opts)
	var got []string
	a.OnResult = func(r *Result) { got = append(got, shardKey(r)) }
	for _, p := range pkts {
		a.Packet(p.data, p.ci, layers.LinkTypeIPv4)
	}
	for _, r := range a.Finish() {
		got = append(got, shardKey(r))
	}
	return got, a
}

// TestShardChurn: on a capture that reuses addresses and ports in every
// way that matters to numbering, the union of 4 shards is the whole run.
func TestShardChurn(t *testing.T) {
	for seed := range uint64(8) {
		pkts := churn(seed, 4000)
		whole, wa := runShard(pkts, DefaultOptions)
		var union []string
		var other int64
		for i := range 4 {
			o := DefaultOptions
			o.Shard = Shard{I: i, N: 4}
			part, a := runShard(pkts, o)
			if a.Stats.TCPStreams != wa.Stats.TCPStreams {
				t.Errorf("seed %d shard %d: %d streams, whole run %d", seed, i, a.Stats.TCPStreams, wa.Stats.TCPStreams)
			}
			other += a.Stats.OtherShards
			union = append(union, part...)
		}
		if other != 3*wa.Stats.TCPPackets {
			t.Errorf("seed %d: %d packets dropped as other shards', want 3 × %d", seed, other, wa.Stats.TCPPackets)
		}
		slices.Sort(whole)
		slices.Sort(union)
		if !slices.Equal(whole, union) {
			for _, l := range whole {
				if _, ok := slices.BinarySearch(union, l); !ok {
					t.Logf("only whole: %s", l)
				}
			}
			for _, l := range union {
				if _, ok := slices.BinarySearch(whole, l); !ok {
					t.Logf("only shards: %s", l)
				}
			}
			t.Errorf("seed %d: union of shards (%d) differs from the whole run (%d results, %d streams)", seed, len(union), len(whole), wa.Stats.TCPStreams)
		} else if seed == 0 {
			t.Logf("seed 0: %d results, %d streams", len(whole), wa.Stats.TCPStreams)
		}
	}
}

// TestGhostsBounded: other shards' connections cost at most
// MaxConnections ghosts.
func TestGhostsBounded(t *testing.T) {
	var buf bytes.Buffer
	if _, err := capgen.WriteHostile(&buf, "synflood", 0.01); err != nil {
		t.Fatal(err)
	}
	src, err := capture.OpenReader("synflood", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions
	o.Shard, o.MaxConnections = Shard{I: 0, N: 2}, 1000
	a := NewAnalyzer(o)
	a.OnResult = func(*Result) {}
	peak := 0
	testHookNewConn = func(int, *segment, time.Time) { peak = max(peak, a.shard.n, len(a.shard.ghosts)) }
	defer func() { testHookNewConn = nil }()
	if err := a.Run(src); err != nil {
		t.Fatal(err)
	}
	a.Finish()
	if peak > o.MaxConnections+1 || peak < o.MaxConnections/2 {
		t.Errorf("peak ghosts %d, cap %d", peak, o.MaxConnections)
	}
}

// BenchmarkFlowHash is the cost per packet of choosing the shard.
func BenchmarkFlowHash(b *testing.B) {
	x, y := netip.MustParseAddrPort("192.0.2.10:41100"), netip.MustParseAddrPort("198.51.100.20:443")
	b.ReportAllocs()
	var s uint64
	for b.Loop() {
		s += FlowHash(x, y)
	}
	_ = s
}

// BenchmarkShardedAnalyzer: the whole packet path over a load capture,
// whole and as one shard of 4.
func BenchmarkShardedAnalyzer(b *testing.B) {
	var buf bytes.Buffer
	if _, err := capgen.WriteLoad(&buf, capgen.LoadOptions{Bytes: 20 << 20}); err != nil {
		b.Fatal(err)
	}
	src, err := capture.OpenReader("load", bytes.NewReader(buf.Bytes()))
	if err != nil {
		b.Fatal(err)
	}
	pkts, err := capture.ReadAll(src)
	if err != nil {
		b.Fatal(err)
	}
	for _, sh := range []Shard{{}, {I: 0, N: 4}} {
		b.Run(fmt.Sprintf("shard=%d/%d", sh.I, sh.N), func(b *testing.B) {
			b.SetBytes(int64(buf.Len()))
			b.ReportAllocs()
			for b.Loop() {
				o := DefaultOptions
				o.Shard = sh
				a := NewAnalyzer(o)
				a.OnResult = func(*Result) {}
				for i := range pkts {
					a.Packet(pkts[i].Data, pkts[i].CI, pkts[i].Link)
				}
				a.Finish()
			}
			b.ReportMetric(float64(len(pkts)), "packets/op")
		})
	}
}
