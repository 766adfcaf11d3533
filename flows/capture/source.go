// Package capture reads packets from capture files (pcap, pcapng, gzip,
// standard input) and live interfaces, merges several inputs in time
// order, and writes pcapng. It knows nothing of connections.
package capture

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Packet is one captured frame with the link type it was captured on.
type Packet struct {
	Data []byte // valid until the next read from the same source
	CI   gopacket.CaptureInfo
	Link layers.LinkType
	// Input is the index of the source it came from in a Merge.
	Input uint16
	// Frame is its number in its file from 1, as Wireshark's frame.number
	// counts them: every record, those skipped included; live, the
	// packets read since the start.
	Frame int64
}

// Source yields packets in capture order.
type Source interface {
	// Next returns the next packet, io.EOF at the end, or another error
	// when the rest of the input cannot be read.
	Next() (Packet, error)
	Close() error
	Name() string
}

// Drops is what the capturing side says it lost, counted from the start
// of the capture: the kernel's drops (live: PACKET_STATISTICS / pcap_stats;
// pcapng: isb_osdrop) and the interface's (pcapng: isb_ifdrop).
type Drops struct {
	Received  uint64 // packets the capturing side saw (0: not said)
	Kernel    uint64
	Interface uint64
}

// DropSource is a source that knows what it dropped. Drops may be called
// from the reading goroutine after every batch; live sources refresh their
// counters at most once a second.
type DropSource interface {
	Source
	Drops() Drops
}

// InputError is a problem with an input file, named for the user.
type InputError struct {
	Name string
	Err  error
}

func (e *InputError) Error() string { return e.Name + ": " + e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

type fileSource struct {
	name   string
	closer io.Closer
	pcap   *pcapFile
	ng     *pcapngFile
	filter *bpfFilter // -f: the packets to pass on (SetFilter)
	stream bool       // a pipe, a FIFO or a socket (IsStream)
}

// magic numbers of the two capture formats and of gzip.
var (
	magicPcapLE   = []byte{0xd4, 0xc3, 0xb2, 0xa1}
	magicPcapBE   = []byte{0xa1, 0xb2, 0xc3, 0xd4}
	magicPcapNsLE = []byte{0x4d, 0x3c, 0xb2, 0xa1}
	magicPcapNsBE = []byte{0xa1, 0xb2, 0x3c, 0x4d}
	magicNg       = []byte{0x0a, 0x0d, 0x0d, 0x0a}
	magicGzip     = []byte{0x1f, 0x8b}
)

func hasPrefix(b, p []byte) bool { return len(b) >= len(p) && string(b[:len(p)]) == string(p) }

// OpenFile opens a pcap or pcapng file, gzip-compressed or not, told apart
// by magic number. "-" reads standard input. A FIFO is read as a stream
// (Stream).
func OpenFile(name string) (Source, error) {
	if name == "-" {
		return OpenStdin(os.Stdin)
	}
	file, err := os.Open(name)
	if err != nil {
		return nil, &InputError{name, unwrapPathError(err)}
	}
	src, err := openReader(name, file, 0)
	if err != nil {
		file.Close()
		return nil, err
	}
	src.stream = isStream(file)
	return src, nil
}

// OpenStdin reads a capture from standard input, named "stdin", which it
// does not close. A pipe or a socket is read as a stream (Stream).
func OpenStdin(stdin io.Reader) (Source, error) {
	src, err := openReader("stdin", io.NopCloser(stdin), 0)
	if err != nil {
		return nil, err
	}
	src.stream = isStream(stdin)
	return src, nil
}

// isStream reports whether r is a pipe, a FIFO or a socket: an input that
// stays open while its writer pauses, whose packets must be handed on as
// they come (tcpdump -w - | tlsscope -), not a file read to its end.
func isStream(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&(os.ModeNamedPipe|os.ModeSocket) != 0
}

// IsStream reports whether packets of src come from a pipe or a socket
// that may stay open and silent (and so must be analysed as they come),
// not from a file or an interface.
func IsStream(src Source) bool {
	s, ok := src.(interface{ Stream() bool })
	return ok && s.Stream()
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func openReader(name string, f io.ReadCloser, depth int) (*fileSource, error) {
	// Reads of a whole batch are larger than the buffer and bypass it.
	br := bufio.NewReaderSize(f, 64<<10)
	head, err := br.Peek(4)
	if len(head) == 0 {
		if err == io.EOF || err == nil {
			return nil, &InputError{name, errors.New("empty file")}
		}
		return nil, &InputError{name, err}
	}
	s := &fileSource{name: name, closer: f}
	switch {
	case hasPrefix(head, magicGzip) && depth == 0:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, &InputError{name, fmt.Errorf("gzip: %w", err)}
		}
		inner, err := openReader(name, readCloser{zr, f}, 1)
		if err != nil {
			return nil, err
		}
		return inner, nil
	case hasPrefix(head, magicNg):
		ng, err := newPcapngFile(br)
		if err != nil {
			return nil, &InputError{name, fmt.Errorf("bad pcapng header: %w", err)}
		}
		s.ng = ng
	case hasPrefix(head, magicPcapLE), hasPrefix(head, magicPcapBE), hasPrefix(head, magicPcapNsLE), hasPrefix(head, magicPcapNsBE):
		r, err := newPcapFile(br)
		if err != nil {
			return nil, &InputError{name, fmt.Errorf("bad pcap header: %w", err)}
		}
		s.pcap = r
	default:
		return nil, &InputError{name, fmt.Errorf("not a pcap or pcapng file (starts with % x)", head)}
	}
	return s, nil
}

type readCloser struct {
	io.Reader
	c io.Closer
}

func (r readCloser) Close() error { return r.c.Close() }

func (s *fileSource) Name() string { return s.name }

// Stream reports whether the file is a pipe, a FIFO or a socket.
func (s *fileSource) Stream() bool { return s.stream }
func (s *fileSource) Close() error { return s.closer.Close() }

func (s *fileSource) Next() (Packet, error) {
	for {
		var p Packet
		var err error
		if s.pcap != nil {
			p, err = s.pcap.Next()
		} else {
			p, err = s.ng.Next()
		}
		if err != nil {
			return Packet{}, s.readErr(err)
		}
		if s.filter == nil {
			return p, nil
		}
		ok, err := s.filter.matches(&p)
		if err != nil {
			return Packet{}, &InputError{s.name, err}
		}
		if ok {
			return p, nil
		}
	}
}

// Bulk is true: both formats are read in place into batches.
func (s *fileSource) Bulk() bool { return true }

func (s *fileSource) Fill(b *Batch) error {
	var err error
	if s.pcap != nil {
		err = s.pcap.fill(b)
	} else {
		err = s.ng.fill(b)
	}
	if s.filter != nil {
		if ferr := s.filter.keep(b); ferr != nil {
			return &InputError{s.name, ferr}
		}
	}
	if err != nil {
		return s.readErr(err)
	}
	return nil
}

// Secrets returns the decryption secrets of a pcapng file read so far
// (none for classic pcap). It may be called while another goroutine reads.
func (s *fileSource) Secrets() []Secret {
	if s.ng == nil {
		return nil
	}
	return s.ng.Secrets()
}

func (s *fileSource) readErr(err error) error {
	switch {
	case err == io.EOF:
		return io.EOF
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &InputError{s.name, errors.New("truncated: the last packet is cut short")}
	}
	return &InputError{s.name, fmt.Errorf("damaged capture: %w", err)}
}

// Merge reads several sources in timestamp order, as if one capture.
type Merge struct {
	srcs []Source
	head []*Packet
	errs []error
	// Warnings collects the read errors of sources that ended early.
	Warnings []error
	read     []int64 // packets read per source
	// Unreadable collects the read errors of sources from which not one
	// packet could be read: not a capture after its header.
	Unreadable []error
	// dropped: what each source said it dropped when it was last read
	// (DropsChanged); dropsChanged, that one said more since.
	dropped      []Drops
	dropsChanged bool
}

// NewMerge merges sources by capture time.
func NewMerge(srcs []Source) *Merge {
	return &Merge{srcs: srcs, head: make([]*Packet, len(srcs)), errs: make([]error, len(srcs)), read: make([]int64, len(srcs))}
}

// Stream reports whether any source merged is a stream: its packets
// come as its writer sends them.
func (m *Merge) Stream() bool {
	for _, s := range m.srcs {
		if IsStream(s) {
			return true
		}
	}
	return false
}

// Inputs is the number of sources merged.
func (m *Merge) Inputs() int { return len(m.srcs) }

// Inputs is the number of inputs a source merges (1 but for a Merge).
func Inputs(src Source) int {
	if m, ok := src.(interface{ Inputs() int }); ok {
		return m.Inputs()
	}
	return 1
}

func (m *Merge) Name() string {
	if len(m.srcs) == 1 {
		return m.srcs[0].Name()
	}
	return fmt.Sprintf("%d files", len(m.srcs))
}

func (m *Merge) Close() error {
	for _, s := range m.srcs {
		s.Close()
	}
	return nil
}

// Bulk says whether the merge can hand over whole batches: one source
// that reads them itself.
func (m *Merge) Bulk() bool {
	if len(m.srcs) != 1 {
		return false
	}
	b, ok := m.srcs[0].(BatchSource)
	return ok && b.Bulk()
}

func (m *Merge) Fill(b *Batch) error {
	err := m.srcs[0].(BatchSource).Fill(b)
	m.read[0] += int64(len(b.Packets))
	if err != nil && err != io.EOF {
		m.ended(0, err)
		return io.EOF
	}
	return err
}

// Secrets returns the decryption secrets read so far from all sources.
func (m *Merge) Secrets() []Secret {
	var out []Secret
	for _, s := range m.srcs {
		out = append(out, secretsOf(s)...)
	}
	return out
}

// Next returns the earliest packet among the sources.
func (m *Merge) Next() (Packet, error) {
	if len(m.srcs) == 1 {
		p, err := m.srcs[0].Next()
		if err != nil && err != io.EOF {
			m.ended(0, err)
			return Packet{}, io.EOF
		}
		if err == nil {
			m.read[0]++
		}
		return p, err
	}
	best := -1
	for i, s := range m.srcs {
		if m.head[i] == nil && m.errs[i] == nil {
			p, err := s.Next()
			if err != nil {
				m.errs[i] = err
				if err != io.EOF {
					m.ended(i, err)
				}
				continue
			}
			m.read[i]++
			m.noteDrops(i)
			// Zero-copy data is only valid until the next read: keep a copy.
			p.Data = append([]byte(nil), p.Data...)
			m.head[i] = &p
		}
		if m.head[i] != nil && (best < 0 || m.head[i].CI.Timestamp.Before(m.head[best].CI.Timestamp)) {
			best = i
		}
	}
	if best < 0 {
		return Packet{}, io.EOF
	}
	p := *m.head[best]
	p.Input = uint16(best)
	m.head[best] = nil
	return p, nil
}

// ended notes the error that ended source i early.
func (m *Merge) ended(i int, err error) {
	if m.read[i] == 0 {
		m.Unreadable = append(m.Unreadable, err)
		return
	}
	m.Warnings = append(m.Warnings, err)
}

// Empty counts the records of no bytes the sources skipped.
func (m *Merge) Empty() int64 {
	var n int64
	for _, s := range m.srcs {
		if e, ok := s.(interface{ Empty() int64 }); ok {
			n += e.Empty()
		}
	}
	return n
}

// Batch is a run of packets whose bytes share one buffer.
type Batch struct {
	Buf     []byte
	Packets []Packet
}

// BatchSize is the buffer a batch starts with: small enough that the
// packets read are still in the CPU's cache when analysed.
const BatchSize = 256 << 10

// BatchSource is a source that can read whole records into a batch's
// buffer itself, with no copy.
type BatchSource interface {
	Source
	// Bulk reports whether Fill may be used (a pcap or pcapng file).
	Bulk() bool
	// Fill replaces the batch's packets with the next ones; io.EOF after
	// the last.
	Fill(*Batch) error
}

// IsLive reports whether packets of src must be analysed as they come.
func IsLive(src Source) bool {
	l, ok := src.(interface{ Live() bool })
	return ok && l.Live()
}

// ErrTick is what a live source returns when no packet came for a while,
// so that the analysis can look at the clock.
var ErrTick = errors.New("no packet yet")

// OpenReader reads a capture from r, as OpenFile does from a file.
func OpenReader(name string, r io.Reader) (Source, error) {
	rc, ok := r.(io.ReadCloser)
	if !ok {
		rc = io.NopCloser(r)
	}
	return openReader(name, rc, 0)
}

// Empty counts the records of no bytes skipped (classic pcap).
func (s *fileSource) Empty() int64 {
	if s.pcap == nil {
		return 0
	}
	return s.pcap.Empty()
}

// Skipped says what the source read past without holding (pcapng blocks
// over 16 MiB).
func (s *fileSource) Skipped() []string {
	if s.ng == nil {
		return nil
	}
	return s.ng.Skipped()
}

// Skipped says what the sources read past without holding, each line
// naming its source.
func (m *Merge) Skipped() []string {
	var out []string
	for _, s := range m.srcs {
		if k, ok := s.(interface{ Skipped() []string }); ok {
			for _, line := range k.Skipped() {
				out = append(out, s.Name()+": "+line)
			}
		}
	}
	return out
}

// ReadAll reads a source to its end and returns its packets, each with a
// copy of its bytes (a zero-copy read is valid only until the next).
func ReadAll(src Source) ([]Packet, error) {
	var out []Packet
	for {
		p, err := src.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		p.Data = append([]byte(nil), p.Data...)
		out = append(out, p)
	}
}
