package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// pcapFile reads the classic pcap format (the libpcap file format, as
// tcpdump writes it) straight into the buffers the analysis works on:
// records are parsed in place and a packet's bytes are never copied in
// user space. pcapgo.Reader copies every packet into a buffer of its own
// that is valid only until the next read, which would cost a second copy
// to hand packets to another goroutine.
type pcapFile struct {
	r       io.Reader
	endian       // the byte order of the headers
	nanos   bool // nanosecond timestamps
	snaplen uint32
	link    layers.LinkType
	carry   []byte // the start of a record the last read cut off
	eof     bool
	err     error // the error after the last whole record
	// empty counts records of no bytes (skipped), run the ones in a row:
	// a long run is damage, not traffic.
	empty, run int64
	frames     int64    // records read, for Packet.Frame
	offset     int64    // file offset of b.Buf[0]
	one        oneByOne // for Next, the packet-at-a-time interface
}

// pcapHeaderLen and pcapRecordLen are the sizes of the file header and of
// each record header.
const (
	pcapHeaderLen = 24
	pcapRecordLen = 16
	// maxRecord bounds one record whatever the snap length says: an absurd
	// length field must not make us allocate gigabytes.
	maxRecord = 16 << 20
	// maxEmptyRun is how many records of no bytes in a row end the file:
	// no link layer sends an empty frame.
	maxEmptyRun = 1 << 16
)

// newPcapFile reads the file header from r.
func newPcapFile(r io.Reader) (*pcapFile, error) {
	var h [pcapHeaderLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			return nil, errors.New("file header cut short")
		}
		return nil, err
	}
	p := &pcapFile{r: r, offset: pcapHeaderLen}
	switch binary.LittleEndian.Uint32(h[0:4]) {
	case 0xa1b2c3d4:
	case 0xa1b23c4d:
		p.nanos = true
	case 0xd4c3b2a1:
		p.big = true
	case 0x4d3cb2a1:
		p.big, p.nanos = true, true
	default:
		return nil, fmt.Errorf("unknown magic % x", h[0:4])
	}
	if v := p.u16(h[4:6]); v != 2 {
		return nil, fmt.Errorf("unknown major version %d", v)
	}
	p.snaplen = p.u32(h[16:20])
	// The upper bits of the link type field carry FCS flags (pcap-linktype(7)).
	p.link = layers.LinkType(p.u32(h[20:24]) & 0x0fffffff)
	return p, nil
}

// maxCapture is the longest record taken: the snap length, or 256 KiB for
// writers that declare a smaller one than they write (as tcpdump and
// Wireshark accept), never more than maxRecord.
func (p *pcapFile) maxCapture() int {
	return min(max(int(p.snaplen), 262144), maxRecord)
}

// fill replaces b's packets with the next whole records, read into b.Buf
// (whose capacity it may grow for one large record). It returns io.EOF
// after the last packet, or the error that ended the file early once the
// packets before it have been handed out.
func (p *pcapFile) fill(b *Batch) error {
	b.Buf, b.Packets = b.Buf[:0], b.Packets[:0]
	if p.err != nil && len(p.carry) == 0 {
		return p.err
	}
	b.Buf = append(b.Buf, p.carry...)
	p.carry = p.carry[:0]
	for {
		if !p.eof && len(b.Buf) < cap(b.Buf) {
			// One read, not a full buffer: from a pipe (tcpdump -w - |
			// tlsscope -) packets are analysed as they come.
			n, err := p.r.Read(b.Buf[len(b.Buf):cap(b.Buf)])
			b.Buf = b.Buf[:len(b.Buf)+n]
			if err == io.EOF {
				p.eof = true
			} else if err != nil {
				p.eof, p.err = true, err
			}
		}
		off, err := p.parse(b)
		rest := b.Buf[off:]
		switch {
		case err != nil:
			// A damaged record: hand out what came before it.
			p.err, p.eof = err, true
			rest = nil
		case p.eof && len(rest) > 0:
			if p.err == nil {
				p.err = io.ErrUnexpectedEOF
			}
			rest = nil
		}
		switch {
		case len(b.Packets) > 0:
			p.offset += int64(off)
			p.carry = append(p.carry, rest...)
			return nil
		case off > 0 && !p.eof:
			// Only empty records, skipped: read on in the same buffer.
			p.offset += int64(off)
			b.Buf = b.Buf[:copy(b.Buf, rest)]
			continue
		case p.eof:
			if p.err != nil {
				return p.err
			}
			return io.EOF
		case len(b.Buf) == cap(b.Buf):
			// Not one whole record fits: make room for it.
			nb := make([]byte, len(rest), max(p.recordLen(rest), 2*cap(b.Buf)))
			copy(nb, rest)
			b.Buf = nb
		}
	}
}

// recordLen is the length of the record starting rest, header included,
// or the header length when even that is incomplete.
func (p *pcapFile) recordLen(rest []byte) int {
	if len(rest) < pcapRecordLen {
		return pcapRecordLen
	}
	return pcapRecordLen + int(p.u32(rest[8:12]))
}

// parse appends the whole records in b.Buf to b.Packets and returns where
// the first incomplete one starts.
func (p *pcapFile) parse(b *Batch) (int, error) {
	buf := b.Buf
	off := 0
	limit := p.maxCapture()
	for len(buf)-off >= pcapRecordLen {
		h := buf[off : off+pcapRecordLen]
		capLen, origLen := p.u32(h[8:12]), p.u32(h[12:16])
		if capLen > uint32(limit) {
			return off, fmt.Errorf("capture length exceeds snap length: %d > %d", capLen, p.snaplen)
		}
		if capLen > origLen {
			return off, fmt.Errorf("capture length exceeds original packet length: %d > %d", capLen, origLen)
		}
		end := off + pcapRecordLen + int(capLen)
		if end > len(buf) {
			break
		}
		p.frames++ // a frame to Wireshark, even of no bytes
		if origLen == 0 {
			p.empty++
			if p.run++; p.run >= maxEmptyRun {
				return off, fmt.Errorf("%d records in a row of no bytes at offset %d", p.run, p.offset+int64(off))
			}
			off = end
			continue
		}
		p.run = 0
		frac := int64(p.u32(h[4:8]))
		if !p.nanos {
			frac *= 1000
		}
		b.Packets = append(b.Packets, Packet{
			Data: buf[off+pcapRecordLen : end : end],
			CI: gopacket.CaptureInfo{
				Timestamp:     time.Unix(int64(p.u32(h[0:4])), frac).UTC(),
				CaptureLength: int(capLen),
				Length:        int(origLen),
			},
			Link:  p.link,
			Frame: p.frames,
		})
		off = end
	}
	return off, nil
}

// Next returns one packet at a time, from batches of its own.
func (p *pcapFile) Next() (Packet, error) { return p.one.next(p) }

// Empty counts the records of no bytes skipped.
func (p *pcapFile) Empty() int64 { return p.empty }
