package capture

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// PcapngWriter writes frames of any link types to one pcapng file, one
// interface per link type, for -w and --write-failed. After a write
// fails, every later Write, Flush and Close returns that error.
type PcapngWriter struct {
	w      io.Writer
	ng     *pcapgo.NgWriter
	ifaces map[layers.LinkType]int
	err    error
	// secrets waiting for the section header to be written
	secrets [][]byte
}

// NewPcapngWriter starts a pcapng file; interfaces are added as link
// types appear.
func NewPcapngWriter(w io.Writer) *PcapngWriter {
	return &PcapngWriter{w: w, ifaces: map[layers.LinkType]int{}}
}

// Write adds one frame.
func (p *PcapngWriter) Write(pk Packet) error {
	if p.err != nil {
		return p.err
	}
	p.err = p.write(pk)
	return p.err
}

func (p *PcapngWriter) write(pk Packet) error {
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
	if len(p.secrets) > 0 {
		if err := p.writeSecrets(); err != nil {
			return err
		}
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

// WriteSecrets adds a Decryption Secrets Block holding a TLS key log
// (draft-ietf-opsawg-pcapng §4.7), before the packets written after it:
// Wireshark then opens them decrypted. Written with the next packet (a
// block may not precede the section header, written with the first).
func (p *PcapngWriter) WriteSecrets(keyLog []byte) error {
	if p.err != nil || len(keyLog) == 0 {
		return p.err
	}
	p.secrets = append(p.secrets, append([]byte(nil), keyLog...))
	return nil
}

// writeSecrets writes the waiting Decryption Secrets Blocks, in the
// little-endian byte order pcapgo writes the section in.
func (p *PcapngWriter) writeSecrets() error {
	if err := p.ng.Flush(); err != nil {
		return err
	}
	for _, data := range p.secrets {
		pad := (4 - len(data)%4) % 4
		total := 12 + 8 + len(data) + pad // header, type+length, data, trailer
		b := make([]byte, 0, total)
		b = binary.LittleEndian.AppendUint32(b, ngDecryptSecrets)
		b = binary.LittleEndian.AppendUint32(b, uint32(total))
		b = binary.LittleEndian.AppendUint32(b, SecretsTLSKeyLog)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
		b = append(b, data...)
		b = append(b, make([]byte, pad)...)
		b = binary.LittleEndian.AppendUint32(b, uint32(total))
		if _, err := p.w.Write(b); err != nil {
			return err
		}
	}
	p.secrets = nil
	return nil
}

// Flush writes what is buffered.
func (p *PcapngWriter) Flush() error {
	if p.err == nil && p.ng != nil {
		p.err = p.ng.Flush()
	}
	return p.err
}

// Close flushes, then closes the writer underneath when it is an
// io.Closer, and returns the first error.
func (p *PcapngWriter) Close() error {
	err := p.Flush()
	if c, ok := p.w.(io.Closer); ok {
		if cerr := c.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// Tee passes a source's packets on and writes each to W (for -w). When a
// write fails, Err keeps the error and the source ends with it: Next and
// Fill return it.
type Tee struct {
	Source
	W   *PcapngWriter
	Err error
}

// Next reads a packet and writes it.
func (t *Tee) Next() (Packet, error) {
	if t.Err != nil {
		return Packet{}, t.Err
	}
	p, err := t.Source.Next()
	if err == nil {
		if t.Err = t.W.Write(p); t.Err != nil {
			return Packet{}, t.Err
		}
	}
	return p, err
}

// Bulk reports whether the source underneath reads whole batches.
func (t *Tee) Bulk() bool {
	b, ok := t.Source.(BatchSource)
	return ok && b.Bulk()
}

// Fill reads a batch and writes its packets.
func (t *Tee) Fill(b *Batch) error {
	if t.Err != nil {
		b.Buf, b.Packets = b.Buf[:0], b.Packets[:0]
		return t.Err
	}
	err := t.Source.(BatchSource).Fill(b)
	for _, p := range b.Packets {
		if t.Err = t.W.Write(p); t.Err != nil {
			b.Buf, b.Packets = b.Buf[:0], b.Packets[:0]
			return t.Err
		}
	}
	return err
}

// Live reports whether the source underneath is live.
func (t *Tee) Live() bool { return IsLive(t.Source) }

// Inputs is the number of inputs the source underneath merges.
func (t *Tee) Inputs() int { return Inputs(t.Source) }

// Secrets passes on the decryption secrets of the source underneath (-w
// does not copy them: they are the input's, not the run's).
func (t *Tee) Secrets() []Secret { return secretsOf(t.Source) }
