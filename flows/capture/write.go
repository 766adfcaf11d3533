package capture

import (
	"fmt"
	"io"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// PcapngWriter writes frames of any link types to one pcapng file, one
// interface per link type, for -w and --write-failed.
type PcapngWriter struct {
	w      io.Writer
	ng     *pcapgo.NgWriter
	ifaces map[layers.LinkType]int
}

// NewPcapngWriter starts a pcapng file; interfaces are added as link
// types appear.
func NewPcapngWriter(w io.Writer) *PcapngWriter {
	return &PcapngWriter{w: w, ifaces: map[layers.LinkType]int{}}
}

// Write adds one frame.
func (p *PcapngWriter) Write(pk Packet) error {
	id, ok := p.ifaces[pk.Link]
	if !ok {
		iface := pcapgo.NgInterface{Name: fmt.Sprintf("tlsscope%d", len(p.ifaces)), LinkType: pk.Link,
			SnapLength: 262144, TimestampResolution: 9}
		var err error
		if p.ng == nil {
			p.ng, err = pcapgo.NewNgWriterInterface(p.w, iface, pcapgo.NgWriterOptions{
				SectionInfo: pcapgo.NgSectionInfo{Application: "tlsscope"}})
			id = 0
		} else {
			id, err = p.ng.AddInterface(iface)
		}
		if err != nil {
			return err
		}
		p.ifaces[pk.Link] = id
	}
	ci := pk.CI
	ci.InterfaceIndex = id
	if ci.CaptureLength != len(pk.Data) {
		ci.CaptureLength = len(pk.Data)
	}
	if ci.Length < ci.CaptureLength {
		ci.Length = ci.CaptureLength
	}
	return p.ng.WritePacket(ci, pk.Data)
}

// Flush writes what is buffered.
func (p *PcapngWriter) Flush() error {
	if p.ng == nil {
		return nil
	}
	return p.ng.Flush()
}

// Tee passes a source's packets on and writes each to w (for -w).
type Tee struct {
	Source
	W   *PcapngWriter
	Err error
}

// Next reads a packet and writes it.
func (t *Tee) Next() (Packet, error) {
	p, err := t.Source.Next()
	if err == nil && t.Err == nil {
		t.Err = t.W.Write(p)
	}
	return p, err
}

// Live reports whether the source underneath is live.
func (t *Tee) Live() bool {
	l, ok := t.Source.(interface{ Live() bool })
	return ok && l.Live()
}
