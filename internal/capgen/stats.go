package capgen

import (
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket"

	"github.com/tlsscope/tlsscope/flows/capture"
)

// ISB is an Interface Statistics Block (pcapng §4.6) to write after the
// first After packets: the capturing tool's counters from the start of
// the capture (isb_ifrecv, isb_ifdrop, isb_osdrop). A zero counter is
// written too: a tool that says it dropped nothing.
type ISB struct {
	After                    int
	Received, IfDrop, OSDrop uint64
}

// WritePcapngStats writes packets as one pcapng section with one
// interface (the first packet's link type, nanosecond stamps) and the
// Interface Statistics Blocks isbs among them, as dumpcap writes them at
// the end of a capture or a tool writes them as it goes. Each block's
// timestamp is that of the packet before it.
func WritePcapngStats(w io.Writer, pkts []capture.Packet, isbs []ISB) error {
	le := binary.LittleEndian
	var b []byte
	block := func(typ uint32, body []byte) {
		body = append(body, make([]byte, (4-len(body)%4)%4)...)
		n := uint32(12 + len(body))
		b = le.AppendUint32(le.AppendUint32(b, typ), n)
		b = le.AppendUint32(append(b, body...), n)
	}
	var body []byte
	body = le.AppendUint32(body, 0x1A2B3C4D)
	body = le.AppendUint16(le.AppendUint16(body, 1), 0)
	block(0x0A0D0D0A, le.AppendUint64(body, ^uint64(0)))
	link := uint16(1)
	if len(pkts) > 0 {
		link = uint16(pkts[0].Link)
	}
	body = le.AppendUint32(le.AppendUint16(le.AppendUint16(nil, link), 0), 0)
	body = append(le.AppendUint16(le.AppendUint16(body, 9), 1), 9, 0, 0, 0) // if_tsresol: ns
	block(1, le.AppendUint32(body, 0))
	stamp := func(body []byte, i int) []byte {
		var ns uint64
		if i >= 0 && i < len(pkts) {
			ns = uint64(pkts[i].CI.Timestamp.UnixNano())
		}
		return le.AppendUint32(le.AppendUint32(body, uint32(ns>>32)), uint32(ns))
	}
	isb := func(s ISB) {
		body := stamp(le.AppendUint32(nil, 0), max(s.After-1, 0))
		for _, o := range []struct {
			code uint16
			v    uint64
		}{{4, s.Received}, {5, s.IfDrop}, {7, s.OSDrop}} {
			body = le.AppendUint64(le.AppendUint16(le.AppendUint16(body, o.code), 8), o.v)
		}
		block(5, le.AppendUint32(body, 0))
	}
	next := 0
	for i, p := range pkts {
		for ; next < len(isbs) && isbs[next].After <= i; next++ {
			isb(isbs[next])
		}
		body := stamp(le.AppendUint32(nil, 0), i)
		body = le.AppendUint32(le.AppendUint32(body, uint32(len(p.Data))), uint32(p.CI.Length))
		block(6, append(body, p.Data...))
	}
	for ; next < len(isbs); next++ {
		isb(isbs[next])
	}
	_, err := w.Write(b)
	return err
}

// writeStats writes a scenario with one interface as pcapng with its
// Interface Statistics Blocks.
func (s *Scenario) writeStats(w io.Writer, pkts []Packet) error {
	if len(s.Links) != 1 || len(s.secrets()) > 0 {
		return fmt.Errorf("%s: statistics for one interface and no secrets only", s.Name)
	}
	cp := make([]capture.Packet, len(pkts))
	for i, p := range pkts {
		cp[i] = capture.Packet{Data: p.Data, Link: s.Links[0].linkType(),
			CI: gopacket.CaptureInfo{Timestamp: p.At, CaptureLength: len(p.Data), Length: len(p.Data)}}
	}
	var isbs []ISB
	for _, st := range s.Stats {
		n := 0
		for n < len(pkts) && pkts[n].At.Before(Base.Add(st.At)) {
			n++
		}
		isbs = append(isbs, ISB{After: n, Received: uint64(n) + st.OSDrop, IfDrop: st.IfDrop, OSDrop: st.OSDrop})
	}
	return WritePcapngStats(w, cp, isbs)
}

// dropScenarios are issue #24's: a capturing tool that says it dropped
// packets.
func dropScenarios(shopClient, shopServer *tls.Config) []*Scenario {
	return []*Scenario{
		{Name: "capture-dropped.pcapng", Doc: "pcapng whose Interface Statistics Blocks say the capturing tool's kernel dropped 3 packets by 1 s, while the first connection's server had been silent since the ClientHello (the client closes at 5 s) and the second's handshake was under way; nothing more by the end, when a third connection has completed", Links: []Link{LinkEthernet}, NG: true,
			conns: []connSpec{{client: client(shopClient, false), server: silentServer, timeout: [2]time.Duration{5 * time.Second, 0}},
				{client: client(shopClient, false), server: server(shopServer), start: 980 * time.Millisecond},
				{client: client(shopClient, false), server: server(shopServer), start: 2 * time.Second}},
			Stats:  []StatsAt{{At: time.Second, OSDrop: 3}, {At: 10 * time.Second, OSDrop: 3}},
			Expect: map[int]string{0: "1", 1: "1,2", 2: "1,2"}},
	}
}
