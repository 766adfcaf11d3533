package flows

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
}

// OpenLive starts sniffing an interface in immediate mode, so that
// verdicts are not held back by the kernel's buffer.
func OpenLive(iface, filter string, snaplen int, promisc bool) (Source, error) {
	in, err := pcap.NewInactiveHandle(iface)
	if err != nil {
		return nil, liveError(iface, err)
	}
	defer in.CleanUp()
	in.SetSnapLen(snaplen)
	in.SetPromisc(promisc)
	in.SetImmediateMode(true)
	in.SetTimeout(100 * time.Millisecond)
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
	msg := err.Error()
	switch {
	case strings.Contains(msg, "ermission") || strings.Contains(msg, "not permitted"):
		return fmt.Errorf("%s: permission denied: run as root or give the binary CAP_NET_RAW and CAP_NET_ADMIN", iface)
	case strings.Contains(msg, "No such device") || strings.Contains(msg, "doesn't exist"):
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

func (s *liveSource) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

func (s *liveSource) Next() (Packet, error) {
	for {
		select {
		case <-s.closed:
			s.h.Close()
			return Packet{}, ErrClosed
		default:
		}
		data, ci, err := s.h.ZeroCopyReadPacketData()
		if err == pcap.NextErrorTimeoutExpired {
			continue
		}
		if err != nil {
			return Packet{}, fmt.Errorf("%s: %v", s.name, err)
		}
		return Packet{Data: data, CI: ci, Link: s.h.LinkType()}, nil
	}
}
