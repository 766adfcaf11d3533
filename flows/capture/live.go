package capture

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/gopacket/gopacket/pcap"
)

// ErrClosed ends a live capture stopped by Close.
var ErrClosed = errors.New("capture closed")

type liveSource struct {
	name   string
	h      *pcap.Handle
	once   sync.Once
	closed chan struct{}
	frames int64 // packets read, for Packet.Frame

	drops     Drops // as last read
	dropsRead time.Time
	stats     pcap.Stats // libpcap's counters as last read (u_int: they wrap)
}

var _ DropSource = (*liveSource)(nil)

// DefaultBufferSize is the kernel's ring when --buffer-size does not say:
// about 200,000 small packets (a packet takes its bytes and about 90 of
// header), 0.4 s at 500,000 packets a second, time for the analysis to
// catch up after a burst.
const DefaultBufferSize = 32 << 20

// BlockTimeout is how long the kernel holds packets before it hands a
// partly filled block of its ring over: what a verdict may wait for the
// capture, against stall timers counted in seconds.
const BlockTimeout = 50 * time.Millisecond

// OpenLive starts sniffing an interface. Not in immediate mode: libpcap
// then falls back from TPACKET_V3, whose ring hands over blocks of
// packets, to TPACKET_V2, one wakeup a packet, and drops heavily under
// load (libpcap pcap-linux.c, prepare_tpacket_socket); a partly filled
// block is handed over after BlockTimeout instead.
func OpenLive(iface, filter string, snaplen int, promisc bool, bufferSize int) (Source, error) {
	in, err := pcap.NewInactiveHandle(iface)
	if err != nil {
		return nil, liveError(iface, err)
	}
	defer in.CleanUp()
	in.SetSnapLen(snaplen)
	in.SetPromisc(promisc)
	in.SetTimeout(BlockTimeout)
	if bufferSize <= 0 {
		bufferSize = DefaultBufferSize
	}
	in.SetBufferSize(bufferSize)
	h, err := in.Activate()
	if err != nil {
		return nil, liveError(iface, err)
	}
	if filter != "" {
		if err := h.SetBPFFilter(filter); err != nil {
			h.Close()
			return nil, fmt.Errorf("%s: bad filter %q: %v", iface, filter, err)
		}
	}
	return &liveSource{name: iface, h: h, closed: make(chan struct{})}, nil
}

func liveError(iface string, err error) error {
	msg := strings.ToLower(err.Error())
	switch {
	case strings.Contains(msg, "permission") || strings.Contains(msg, "not permitted"):
		return fmt.Errorf("%s: permission denied: run as root or give the binary CAP_NET_RAW and CAP_NET_ADMIN", iface)
	case strings.Contains(msg, "no such device") || strings.Contains(msg, "doesn't exist"):
		var names []string
		if ifs, e := net.Interfaces(); e == nil {
			for _, i := range ifs {
				names = append(names, i.Name)
			}
		}
		return fmt.Errorf("%s: no such interface (there are: %s)", iface, strings.Join(names, ", "))
	}
	return fmt.Errorf("%s: %v", iface, err)
}

func (s *liveSource) Name() string { return s.name }

// Live marks a source whose packets must be analysed as they come.
func (s *liveSource) Live() bool { return true }

func (s *liveSource) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

func (s *liveSource) Next() (Packet, error) {
	select {
	case <-s.closed:
		if s.h != nil {
			s.readDrops() // the last count, before the handle goes
			s.h.Close()
			s.h = nil
		}
		return Packet{}, ErrClosed
	default:
	}
	data, ci, err := s.h.ZeroCopyReadPacketData()
	if err == pcap.NextErrorTimeoutExpired {
		return Packet{}, ErrTick
	}
	if err != nil {
		return Packet{}, fmt.Errorf("%s: %v", s.name, err)
	}
	s.frames++
	return Packet{Data: data, CI: ci, Link: s.h.LinkType(), Frame: s.frames}, nil
}

// Drops says what the kernel dropped since the capture started, read
// from libpcap at most once a second (pcap_stats counts from the start:
// on Linux, libpcap adds up the PACKET_STATISTICS that each read resets).
// It is called from the goroutine that calls Next.
func (s *liveSource) Drops() Drops {
	if s.h != nil && time.Since(s.dropsRead) >= time.Second {
		s.readDrops()
	}
	return s.drops
}

func (s *liveSource) readDrops() {
	s.dropsRead = time.Now()
	st, err := s.h.Stats()
	if err != nil {
		return
	}
	// What rose since the last read, modulo 2^32.
	rise := func(now, before int) uint64 { return uint64(uint32(now - before)) }
	// Linux's count of packets received includes those it then dropped
	// (tp_packets): Received is what reached the capture.
	recv, drop := rise(st.PacketsReceived, s.stats.PacketsReceived), rise(st.PacketsDropped, s.stats.PacketsDropped)
	s.drops.Received += recv - min(drop, recv)
	s.drops.Kernel += drop
	s.drops.Interface += rise(st.PacketsIfDropped, s.stats.PacketsIfDropped)
	s.stats = *st
}

// Interfaces lists the interfaces live capture can open, with their
// addresses, for -D.
func Interfaces() ([]string, error) {
	devs, err := pcap.FindAllDevs()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range devs {
		line := d.Name
		var addrs []string
		for _, a := range d.Addresses {
			addrs = append(addrs, a.IP.String())
		}
		if len(addrs) > 0 {
			line += " (" + strings.Join(addrs, ", ") + ")"
		}
		if d.Description != "" {
			line += " " + d.Description
		}
		out = append(out, line)
	}
	return out, nil
}
