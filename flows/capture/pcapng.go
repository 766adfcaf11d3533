package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// pcapngFile reads pcapng (draft-ietf-opsawg-pcapng) block by block
// straight into the buffers the analysis works on, as pcapFile does for
// classic pcap: blocks are parsed where read(2) put them and a packet's
// bytes are never copied in user space. pcapgo.NgReader copies every
// packet, keeps Decryption Secrets Blocks to itself and trusts a block's
// length field, so that a small file claiming a 1 GiB packet makes it
// allocate gigabytes.
//
// Every length is checked against the bytes that hold it before anything
// is allocated: a block's total length is a multiple of 4, at least 12,
// at most maxBlock and equal to its trailing copy; a packet's captured
// length fits its block and the interface's snap length (maxBlock is thus
// the overall bound of a packet). Whatever breaks these rules is damage:
// reading stops with an error naming the block's byte offset, after the
// packets before it. A captured length over the original length is taken
// as it is, as pcapgo takes it.
type pcapngFile struct {
	r        io.Reader
	endian        // the byte order of the section
	skipping bool // in a section of an unknown major version
	ifaces   []ngInterface
	base     int64  // file offset of the first byte of the buffer parsed
	carry    []byte // the start of a block the last read cut off
	eof      bool
	err      error // the error after the last whole block
	frames   int64 // packet blocks read, for Packet.Frame

	// skip: bytes left of a block over maxBlock being read past (its
	// length skipLen, at skipAt); skipped says which were.
	skip    int64
	skipLen uint32
	skipAt  int64
	skipped []string

	secretsMu      sync.Mutex
	secrets        []Secret
	secretsLen     int // bytes of secrets kept
	secretsDropped int // Decryption Secrets Blocks over maxSecrets

	// dropsMu guards the statistics of the Interface Statistics Blocks:
	// ifaces' stats and dropsBase, the sum of the sections before.
	dropsMu   sync.Mutex
	dropsBase Drops
	// statsStop: parse stopped at an Interface Statistics Block whose
	// counts changed, to end the batch there.
	statsStop bool

	one oneByOne // for Next, the packet-at-a-time interface
}

// Secret is the content of one pcapng Decryption Secrets Block, such as a
// TLS key log embedded by editcap --inject-secrets.
type Secret struct {
	SecretsType uint32 // SecretsTLSKeyLog, or another type of the spec
	Data        []byte
}

// SecretsTLSKeyLog is the secrets type of an NSS key log ("TLSK").
const SecretsTLSKeyLog = 0x544c534b

// SecretsSource is a source that can carry decryption secrets (a pcapng
// file's Decryption Secrets Blocks).
type SecretsSource interface {
	// Secrets returns the secrets read so far, in file order.
	Secrets() []Secret
}

// Block types and the limits of what is kept.
const (
	ngSectionHeader    = 0x0a0d0d0a
	ngInterfaceDesc    = 1
	ngPacket           = 2 // obsolete, still written by old tools
	ngSimplePacket     = 3
	ngEnhancedPacket   = 6
	ngInterfaceStats   = 5
	ngDecryptSecrets   = 0x0a
	ngByteOrderMagic   = 0x1a2b3c4d
	ngByteOrderSwapped = 0x4d3c2b1a

	// maxBlock bounds one block, whatever its length field says.
	maxBlock = 16 << 20
	// maxSecrets bounds the decryption secrets kept from one file.
	maxSecrets = 16 << 20
	// ngBlockMin is a block with an empty body: type, length, length.
	ngBlockMin = 12
)

// ngInterface is what a packet needs of its Interface Description Block.
type ngInterface struct {
	link    layers.LinkType
	snaplen uint32
	units   uint64 // timestamp units per second
	binary  bool   // units is 1<<shift
	shift   uint
	mul     uint64 // decimal: nanoseconds = fraction * mul / div
	div     uint64
	offset  uint64 // if_tsoffset, seconds (two's complement)
	// stats are the counters of its latest Interface Statistics Block.
	stats Drops
}

// newPcapngFile reads the first Section Header Block from r.
func newPcapngFile(r io.Reader) (*pcapngFile, error) {
	var h [ngBlockMin]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			return nil, errors.New("section header cut short")
		}
		return nil, err
	}
	p := &pcapngFile{r: r}
	if err := p.byteOrder(h[:], 0); err != nil {
		return nil, err
	}
	n, err := p.blockLen(h[:], 0)
	if err != nil {
		return nil, err
	}
	// Read the block as it comes: its length is bounded but not yet real.
	rest, err := io.ReadAll(io.LimitReader(r, int64(n-ngBlockMin)))
	if err != nil {
		return nil, err
	}
	if len(rest) < n-ngBlockMin {
		return nil, errors.New("section header cut short")
	}
	b := Batch{Buf: append(h[:], rest...)}
	if off, err := p.parse(&b); err != nil {
		return nil, err
	} else if off != n {
		return nil, errors.New("section header cut short")
	}
	p.base = int64(n)
	return p, nil
}

// byteOrder sets the byte order from the section header starting h.
func (p *pcapngFile) byteOrder(h []byte, at int64) error {
	if binary.LittleEndian.Uint32(h[0:4]) != ngSectionHeader {
		return fmt.Errorf("block at byte %d: not a section header (type % x)", at, h[0:4])
	}
	switch binary.LittleEndian.Uint32(h[8:12]) {
	case ngByteOrderMagic:
		p.big = false
	case ngByteOrderSwapped:
		p.big = true
	default:
		return fmt.Errorf("section header at byte %d: unknown byte-order magic % x", at, h[8:12])
	}
	return nil
}

// blockLen checks the total length of the block starting h (at least
// ngBlockMin bytes of it), in the byte order of its section.
func (p *pcapngFile) blockLen(h []byte, at int64) (int, error) {
	n := p.u32(h[4:8])
	switch {
	case n < ngBlockMin:
		return 0, fmt.Errorf("block at byte %d (type %#x): total length %d is under %d", at, p.u32(h[0:4]), n, ngBlockMin)
	case n%4 != 0:
		return 0, fmt.Errorf("block at byte %d (type %#x): total length %d is not a multiple of 4", at, p.u32(h[0:4]), n)
	case n > maxBlock && p.u32(h[0:4]) != ngSectionHeader:
		// Too long to hold: skipped as it comes, if its end says the
		// same length (skip).
		p.skip, p.skipLen, p.skipAt = int64(n), n, at
		return 0, errSkipBlock
	case n > maxBlock:
		return 0, fmt.Errorf("block at byte %d (type %#x): total length %d is over %d", at, p.u32(h[0:4]), n, maxBlock)
	}
	return int(n), nil
}

// errSkipBlock: parse stopped at a block over maxBlock, to be skipped.
var errSkipBlock = errors.New("block to skip")

// skipBlock reads past the block over maxBlock that b.Buf starts with,
// without holding it, and checks that its trailing length is the one its
// header said; b.Buf then holds what follows it.
func (p *pcapngFile) skipBlock(b *Batch) error {
	for p.skip > 0 {
		if k := int(min(int64(len(b.Buf)), p.skip-4)); k > 0 {
			b.Buf = b.Buf[:copy(b.Buf, b.Buf[k:])]
			p.skip -= int64(k)
			p.base += int64(k)
			continue
		}
		if p.skip == 4 && len(b.Buf) >= 4 {
			if t := p.u32(b.Buf[:4]); t != p.skipLen {
				return fmt.Errorf("block at byte %d: total length %d, but %d at its end", p.skipAt, p.skipLen, t)
			}
			b.Buf = b.Buf[:copy(b.Buf, b.Buf[4:])]
			p.base += 4
			p.skip = 0
			p.skipped = append(p.skipped, fmt.Sprintf("a block of %d bytes at byte %d skipped: over the %d MiB a block may have", p.skipLen, p.skipAt, maxBlock>>20))
			return nil
		}
		if p.eof {
			return io.ErrUnexpectedEOF
		}
		if len(b.Buf) == cap(b.Buf) {
			b.Buf = append(b.Buf, 0)[:len(b.Buf)]
		}
		n, err := p.r.Read(b.Buf[len(b.Buf):cap(b.Buf)])
		b.Buf = b.Buf[:len(b.Buf)+n]
		if err == io.EOF {
			p.eof = true
		} else if err != nil {
			return err
		}
	}
	return nil
}

// Skipped says which blocks were skipped for their length.
func (p *pcapngFile) Skipped() []string { return p.skipped }

// fill replaces b's packets with the packets of the next whole blocks,
// read into b.Buf (whose capacity it may grow for one large block). It
// returns io.EOF after the last packet, or the error that ended the file
// early once the packets before it have been handed out.
func (p *pcapngFile) fill(b *Batch) error {
	b.Buf, b.Packets = b.Buf[:0], b.Packets[:0]
	if p.err != nil && len(p.carry) == 0 {
		return p.err
	}
	b.Buf = append(b.Buf, p.carry...)
	p.carry = p.carry[:0]
	for {
		if p.skip > 0 {
			if err := p.skipBlock(b); err != nil {
				p.err, p.eof = err, true
				b.Buf = b.Buf[:0]
				return err
			}
		}
		if !p.eof && len(b.Buf) < cap(b.Buf) {
			// One read, not a full buffer: from a pipe packets are
			// analysed as they come.
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
		if err == errSkipBlock {
			p.base += int64(off)
			if len(b.Packets) > 0 {
				p.carry = append(p.carry, rest...)
				return nil
			}
			b.Buf = b.Buf[:copy(b.Buf, rest)]
			continue
		}
		if err == nil && p.statsStop {
			// A batch ended at counts that changed (parse): perhaps with
			// no packet, which says they changed before those that follow.
			p.statsStop = false
			p.base += int64(off)
			p.carry = append(p.carry, rest...)
			return nil
		}
		switch {
		case err != nil:
			// A damaged block: hand out what came before it.
			p.err, p.eof = err, true
			rest = nil
		case p.eof && len(rest) > 0:
			if p.err == nil {
				p.err = io.ErrUnexpectedEOF
			}
			rest = nil
		}
		p.base += int64(off)
		switch {
		case len(b.Packets) > 0:
			p.carry = append(p.carry, rest...)
			return nil
		case p.eof:
			b.Buf = b.Buf[:0]
			if p.err != nil {
				return p.err
			}
			return io.EOF
		}
		// No packet yet, only other blocks: drop them, so that they
		// are not read twice, and keep the rest at the start.
		b.Buf = b.Buf[:copy(b.Buf, rest)]
		if len(b.Buf) == cap(b.Buf) {
			// Not one whole block fits: make room for it, doubling as its
			// bytes come, so that memory follows what the file holds, not
			// what a length field claims.
			need := ngBlockMin
			if len(b.Buf) >= ngBlockMin {
				// Checked by parse, which stopped short of it.
				need = int(p.u32(b.Buf[4:8]))
			}
			nb := make([]byte, len(b.Buf), min(need, max(2*cap(b.Buf), 64<<10)))
			copy(nb, b.Buf)
			b.Buf = nb
		}
	}
}

// parse appends the packets of the whole blocks in b.Buf to b.Packets,
// takes in the other blocks, and returns where the first incomplete block
// starts.
func (p *pcapngFile) parse(b *Batch) (int, error) {
	buf := b.Buf
	off := 0
	for len(buf)-off >= ngBlockMin {
		h := buf[off:]
		at := p.base + int64(off)
		typ := p.u32(h[0:4])
		if typ == ngSectionHeader {
			// The same in both byte orders; the section's order is known
			// from the magic after the length.
			if err := p.byteOrder(h, at); err != nil {
				return off, err
			}
		}
		n, err := p.blockLen(h, at)
		if err != nil {
			return off, err
		}
		if n > len(h) {
			break
		}
		blk := h[:n:n]
		if t := p.u32(blk[n-4:]); t != uint32(n) {
			return off, fmt.Errorf("block at byte %d (type %#x): total length %d, but %d at its end", at, typ, n, t)
		}
		body := blk[8 : n-4]
		if p.skipping && typ != ngSectionHeader {
			off += n
			continue
		}
		switch typ {
		case ngEnhancedPacket, ngPacket:
			if len(body) < 20 {
				return off, fmt.Errorf("packet block at byte %d: %d bytes, too short for its header", at, n)
			}
			var id uint32
			if typ == ngEnhancedPacket {
				id = p.u32(body[0:4])
			} else {
				id = uint32(p.u16(body[0:2]))
			}
			if id >= uint32(len(p.ifaces)) {
				return off, fmt.Errorf("packet block at byte %d: interface %d, but the section has %d", at, id, len(p.ifaces))
			}
			iface := &p.ifaces[id]
			capLen, origLen := p.u32(body[12:16]), p.u32(body[16:20])
			if capLen > uint32(len(body)-20) {
				return off, fmt.Errorf("packet block at byte %d: captured length %d exceeds the block (%d bytes)", at, capLen, n)
			}
			if iface.snaplen != 0 && capLen > iface.snaplen {
				return off, fmt.Errorf("packet block at byte %d: captured length exceeds snap length: %d > %d", at, capLen, iface.snaplen)
			}
			end := 20 + int(capLen)
			p.frames++
			b.Packets = append(b.Packets, Packet{
				Data: body[20:end:end],
				CI: gopacket.CaptureInfo{
					Timestamp:      iface.time(uint64(p.u32(body[4:8]))<<32 | uint64(p.u32(body[8:12]))),
					CaptureLength:  int(capLen),
					Length:         int(origLen),
					InterfaceIndex: int(id),
				},
				Link:  iface.link,
				Frame: p.frames,
			})
		case ngSimplePacket:
			if len(body) < 4 {
				return off, fmt.Errorf("simple packet block at byte %d: %d bytes, too short for its header", at, n)
			}
			if len(p.ifaces) == 0 {
				return off, fmt.Errorf("simple packet block at byte %d: the section has no interface", at)
			}
			iface := &p.ifaces[0]
			origLen := p.u32(body[0:4])
			// No captured length: what the snap length and the block leave.
			capLen := min(origLen, uint32(len(body)-4))
			if iface.snaplen != 0 {
				capLen = min(capLen, iface.snaplen)
			}
			end := 4 + int(capLen)
			p.frames++
			b.Packets = append(b.Packets, Packet{
				Data: body[4:end:end],
				// No timestamp either: the zero time, as pcapgo has it.
				CI:    gopacket.CaptureInfo{CaptureLength: int(capLen), Length: int(origLen)},
				Link:  iface.link,
				Frame: p.frames,
			})
		case ngSectionHeader:
			if err := p.sectionHeader(body, at); err != nil {
				return off, err
			}
		case ngInterfaceDesc:
			if err := p.interfaceDescription(body, at); err != nil {
				return off, err
			}
		case ngDecryptSecrets:
			if err := p.decryptionSecrets(body, at); err != nil {
				return off, err
			}
		case ngInterfaceStats:
			// Counts that changed end the batch, so that they are told
			// between the packets before them and those after: a batch
			// holds the packets before, the next batch none but them.
			if id, st, ok := p.interfaceStatistics(body); ok && st != p.ifaces[id].stats {
				if len(b.Packets) > 0 {
					p.statsStop = true
					return off, nil
				}
				p.dropsMu.Lock()
				p.ifaces[id].stats = st
				p.dropsMu.Unlock()
				p.statsStop = true
				return off + n, nil
			}
		}
		// Every other block (name resolution, custom, ...)
		// is skipped by its length.
		off += n
	}
	return off, nil
}

// sectionHeader starts a section: no interfaces yet, and its blocks are
// skipped if its major version is not 1 (minor versions only add blocks
// and options; the spec has readers take 1.2 for 1.0).
func (p *pcapngFile) sectionHeader(body []byte, at int64) error {
	// magic, major, minor, section length
	if len(body) < 16 {
		return fmt.Errorf("section header at byte %d: %d bytes, too short", at, len(body)+ngBlockMin)
	}
	// The counters of a new section's interfaces start anew: those of
	// this one are kept in the base.
	p.dropsMu.Lock()
	for i := range p.ifaces {
		p.dropsBase = p.dropsBase.add(p.ifaces[i].stats.seen())
	}
	p.ifaces = p.ifaces[:0]
	p.dropsMu.Unlock()
	p.skipping = p.u16(body[4:6]) != 1
	return nil
}

// interfaceDescription adds an interface to the section.
func (p *pcapngFile) interfaceDescription(body []byte, at int64) error {
	if len(body) < 8 {
		return fmt.Errorf("interface description at byte %d: %d bytes, too short", at, len(body)+ngBlockMin)
	}
	iface := ngInterface{link: layers.LinkType(p.u16(body[0:2])), snaplen: p.u32(body[4:8])}
	tsresol := uint8(6)
	opts := body[8:]
	for len(opts) >= 4 {
		code, l := p.u16(opts[0:2]), int(p.u16(opts[2:4]))
		if code == 0 { // opt_endofopt
			break
		}
		if 4+l > len(opts) {
			return fmt.Errorf("interface description at byte %d: option %d of %d bytes runs past the block", at, code, l)
		}
		v := opts[4 : 4+l]
		switch code {
		case 9: // if_tsresol; a short option is ignored, as pcapgo does
			if l >= 1 {
				tsresol = v[0]
			}
		case 14: // if_tsoffset
			if l >= 8 {
				iface.offset = p.u64(v)
			}
		}
		opts = opts[min(len(opts), (4+l+3)&^3):]
	}
	if exp := uint(tsresol & 0x7f); tsresol&0x80 != 0 {
		// A negative power of 2.
		if exp > 63 {
			return fmt.Errorf("interface description at byte %d: timestamp resolution 2^-%d", at, exp)
		}
		iface.binary, iface.shift, iface.units = true, exp, 1<<exp
	} else {
		// A negative power of 10: 10^19 is the last to fit in 64 bits.
		if exp > 19 {
			return fmt.Errorf("interface description at byte %d: timestamp resolution 10^-%d", at, exp)
		}
		iface.units, iface.mul, iface.div = 1, 1, 1
		for range exp {
			iface.units *= 10
		}
		for e := exp; e < 9; e++ {
			iface.mul *= 10
		}
		for e := uint(9); e < exp; e++ {
			iface.div *= 10
		}
	}
	p.ifaces = append(p.ifaces, iface)
	return nil
}

// interfaceStatistics reads an Interface Statistics Block (pcapng
// §4.6): its isb_ifrecv, isb_ifdrop and isb_osdrop count from the start
// of the capture, so the latest of an interface is its total; st is its
// interface's counts with them. A block naming no interface of the
// section tells nothing (ok false) and is passed over: it holds no
// packet, and reading goes on; so are options that run past it.
func (p *pcapngFile) interfaceStatistics(body []byte) (id uint32, st Drops, ok bool) {
	// interface ID, timestamp (high, low), options
	if len(body) < 12 {
		return 0, st, false
	}
	id = p.u32(body[0:4])
	if id >= uint32(len(p.ifaces)) {
		return 0, st, false
	}
	st = p.ifaces[id].stats
	for opts := body[12:]; len(opts) >= 4; {
		code, l := p.u16(opts[0:2]), int(p.u16(opts[2:4]))
		if code == 0 || 4+l > len(opts) { // opt_endofopt, or cut short
			break
		}
		if v := opts[4 : 4+l]; l == 8 {
			// Counters only grow: an older block read late lowers nothing.
			switch code {
			case 4: // isb_ifrecv
				st.Received = max(st.Received, p.u64(v))
			case 5: // isb_ifdrop
				st.Interface = max(st.Interface, p.u64(v))
			case 7: // isb_osdrop
				st.Kernel = max(st.Kernel, p.u64(v))
			}
		}
		opts = opts[min(len(opts), (4+l+3)&^3):]
	}
	return id, st, true
}

// Drops sums what the Interface Statistics Blocks read so far say, over
// the interfaces of every section. It may be called while another
// goroutine reads.
func (p *pcapngFile) Drops() Drops {
	p.dropsMu.Lock()
	defer p.dropsMu.Unlock()
	d := p.dropsBase
	for i := range p.ifaces {
		d = d.add(p.ifaces[i].stats.seen())
	}
	return d
}

// seen turns an interface's counters as an ISB has them into Drops:
// isb_ifrecv counts what the interface received, those the system then
// dropped (isb_osdrop) among them; Received is what the capture saw.
func (st Drops) seen() Drops {
	st.Received -= min(st.Received, st.Kernel)
	return st
}

// time converts a packet's timestamp in the units of the interface.
func (f *ngInterface) time(ts uint64) time.Time {
	sec := ts / f.units
	frac := ts - sec*f.units
	var ns uint64
	if f.binary {
		// frac * 10^9 / 2^shift, in 128 bits: frac is up to 2^63.
		hi, lo := bits.Mul64(frac, 1e9)
		ns = hi<<(64-f.shift) | lo>>f.shift
	} else {
		ns = frac * f.mul / f.div
	}
	return time.Unix(int64(sec+f.offset), int64(ns)).UTC()
}

// decryptionSecrets keeps a copy of a Decryption Secrets Block's secrets,
// while they total no more than maxSecrets.
func (p *pcapngFile) decryptionSecrets(body []byte, at int64) error {
	if len(body) < 8 {
		return fmt.Errorf("decryption secrets at byte %d: %d bytes, too short", at, len(body)+ngBlockMin)
	}
	typ, l := p.u32(body[0:4]), p.u32(body[4:8])
	if l > uint32(len(body)-8) {
		return fmt.Errorf("decryption secrets at byte %d: %d bytes of secrets exceed the block (%d bytes)", at, l, len(body)+ngBlockMin)
	}
	p.secretsMu.Lock()
	defer p.secretsMu.Unlock()
	if p.secretsLen+int(l) > maxSecrets {
		p.secretsDropped++
		return nil
	}
	p.secretsLen += int(l)
	p.secrets = append(p.secrets, Secret{SecretsType: typ, Data: slices.Clone(body[8 : 8+l])})
	return nil
}

// Secrets returns the decryption secrets read so far, of every section
// (a key log is not tied to the interfaces a new section forgets). It may
// be called while another goroutine reads.
func (p *pcapngFile) Secrets() []Secret {
	p.secretsMu.Lock()
	defer p.secretsMu.Unlock()
	return slices.Clip(p.secrets)
}

// SecretsDropped is the number of Decryption Secrets Blocks not kept
// because those before them total maxSecrets.
func (p *pcapngFile) SecretsDropped() int {
	p.secretsMu.Lock()
	defer p.secretsMu.Unlock()
	return p.secretsDropped
}

// Next returns one packet at a time, from batches of its own.
func (p *pcapngFile) Next() (Packet, error) { return p.one.next(p) }
