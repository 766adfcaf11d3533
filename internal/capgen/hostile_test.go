package capgen

import (
	"bytes"
	"compress/gzip"
	"io"
	"net"
	"testing"
	"testing/cryptotest"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// TestStampMatchesFrame: a stamped copy is byte for byte what frame()
// makes with gopacket (checksums included).
func TestStampMatchesFrame(t *testing.T) {
	cryptotest.SetGlobalRandom(t, 0x7115c09e)
	tp := recordTemplates()
	ep := ep4{client: ip4(10, 1, 2, 3), server: hostileServer, cport: 40001, sport: 443}
	gep := endpoints{client: net.IPv4(10, 1, 2, 3), server: net.IPv4(198, 51, 100, 20), cport: 40001, sport: 443}
	for _, segs := range [][]segment{tp.short, tp.stalled, tp.long[:20], segments(nil, Shaping{Refused: true}, rtt)} {
		for i, s := range segs {
			want, err := frame(s, gep, LinkEthernet)
			if err != nil {
				t.Fatal(err)
			}
			if got := stamp(nil, &s, ep, [2]uint32{}); !bytes.Equal(got, want) {
				t.Fatalf("segment %d: stamp differs from frame\n got %x\nwant %x", i, got, want)
			}
		}
	}
}

type connStat struct {
	payload  int
	syn, rst bool
	sport    uint16
}

// readBack reads a pcap or pcapng capture and tallies its connections.
func readBack(t *testing.T, data []byte, ng bool) (packets int64, conns map[string]*connStat) {
	t.Helper()
	var src interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	if ng {
		r, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatal(err)
		}
		src = r
	} else {
		r, err := pcapgo.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		src = r
	}
	conns = map[string]*connStat{}
	for {
		b, _, err := src.ReadPacketData()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("packet %d: %v", packets, err)
		}
		packets++
		p := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
		tl, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if !ok {
			continue // the pcapng bomb's block of zeros
		}
		ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		a := net.JoinHostPort(ip.SrcIP.String(), tl.SrcPort.String())
		z := net.JoinHostPort(ip.DstIP.String(), tl.DstPort.String())
		k := a + " " + z
		if a > z {
			k = z + " " + a
		}
		c := conns[k]
		if c == nil {
			c = &connStat{}
			conns[k] = c
		}
		if tl.SYN && !tl.ACK {
			c.syn, c.sport = true, uint16(tl.DstPort)
		}
		if tl.RST {
			c.rst = true
		}
		c.payload += len(tl.Payload)
	}
}

func gunzip(t *testing.T, data []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHostileCases makes every case small and reads it back.
func TestHostileCases(t *testing.T) {
	cryptotest.SetGlobalRandom(t, 0x7115c09e)
	for _, hc := range HostileCases() {
		t.Run(hc.Name, func(t *testing.T) {
			var b bytes.Buffer
			tr, err := WriteHostile(&b, hc.Name, 0.001)
			if err != nil {
				t.Fatal(err)
			}
			if tr.Bytes != int64(b.Len()) {
				t.Errorf("truth says %d bytes, %d written", tr.Bytes, b.Len())
			}
			data := b.Bytes()
			switch hc.Name {
			case "ngbomb-1g", "ngbomb-4g", "zerorecords":
				data = gunzip(t, data)
				if int64(len(data)) != tr.Raw {
					t.Errorf("%d bytes uncompressed, truth says %d", len(data), tr.Raw)
				}
			}
			switch hc.Name {
			case "garbage":
				if _, err := pcapgo.NewReader(bytes.NewReader(data)); err != nil {
					t.Errorf("header: %v", err)
				}
				if scale, size := 0.001, float64(16<<20); int64(len(data)) != 24+int64(size*scale) {
					t.Errorf("%d bytes", len(data))
				}
				return
			case "quicflood":
				checkQUICFlood(t, data, tr)
				return
			case "dtlsflood", "dtlsfragbomb":
				checkDTLSHostile(t, data, tr)
				return
			case "zerorecords":
				n, conns := readBack(t, data, false)
				if n != tr.Packets || len(conns) != 0 || n != int64(len(data)-24)/16 {
					t.Errorf("%d records, %d connections; truth %d records", n, len(conns), tr.Packets)
				}
				return
			}
			n, conns := readBack(t, data, hc.Name == "ngbomb-1g" || hc.Name == "ngbomb-4g")
			if n != tr.Packets {
				t.Errorf("%d packets read, truth says %d", n, tr.Packets)
			}
			if len(conns) != tr.Conns {
				t.Errorf("%d connections read, truth says %d", len(conns), tr.Conns)
			}
			// Rows: payload-less connections count only on TLS ports.
			rows, tcpOnly := 0, 0
			for _, c := range conns {
				if !c.syn {
					t.Errorf("a connection without SYN")
				}
				if c.payload == 0 {
					if !HostileTLSPorts[c.sport] {
						continue
					}
					tcpOnly++
				}
				rows++
			}
			if rows != tr.RowCount() || tcpOnly != tr.TCPOnly {
				t.Errorf("%d rows (%d TCP only) read, truth says %d (%d): %v", rows, tcpOnly, tr.RowCount(), tr.TCPOnly, tr.Rows)
			}
			t.Logf("%s: %d packets, %d connections, rows %v, %d bytes", hc.Name, n, len(conns), tr.Rows, tr.Bytes)
		})
	}
}
