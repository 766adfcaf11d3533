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
}

// OpenLive starts sniffing an interface in immediate mode, so that
// verdicts are not held back by the kernel's buffer.
func OpenLive(iface, filter string, snaplen int, promisc bool, bufferSize int) (Source, error) {
	in, err := pcap.NewInactiveHandle(iface)
	if err != nil {
		return nil, liveError(iface, err)
	}
	defer in.CleanUp()
	in.SetSnapLen(snaplen)
	in.SetPromisc(promisc)
	in.SetImmediateMode(true)
	in.SetTimeout(100 * time.Millisecond)
	if bufferSize > 0 {
		in.SetBufferSize(bufferSize)
	}
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
		s.h.Close()
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
