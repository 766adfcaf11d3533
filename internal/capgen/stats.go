package capgen

import (
	"encoding/binary"
	"io"

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
