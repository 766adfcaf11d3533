package capture

import (
	"fmt"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
)

// A capture filter on files, as tcpdump -r FILE EXPR applies one: libpcap
// compiles the expression for the link type of the packets (a pcapng file
// may carry several, one per interface) and runs it on each record.

// filterSnaplen is the snap length the filters are compiled for: the
// longest record a file source takes (pcapFile.maxCapture's floor).
const filterSnaplen = 262144

// CheckFilter says whether libpcap can compile expr, with its message
// when it cannot. An expression for another link layer than Ethernet
// (wlan, ppp) is tried on the link types captures commonly have; the
// files it is applied to are checked again for their own.
func CheckFilter(expr string) error {
	_, err := pcap.NewBPF(layers.LinkTypeEthernet, filterSnaplen, expr)
	if err == nil {
		return nil
	}
	for _, lt := range []layers.LinkType{layers.LinkTypeRaw, layers.LinkTypeLinuxSLL, layers.LinkTypeNull, layers.LinkTypeIEEE80211Radio, layers.LinkTypeIEEE802_11, layers.LinkTypePPP} {
		if _, e := pcap.NewBPF(lt, filterSnaplen, expr); e == nil {
			return nil
		}
	}
	return err
}

// bpfFilter keeps the packets an expression matches, compiled once per
// link type met.
type bpfFilter struct {
	expr  string
	progs map[layers.LinkType]*pcap.BPF
	// last is the program of the link type of the packet before: files
	// rarely change link type, and a map lookup per packet costs.
	lastLink layers.LinkType
	last     *pcap.BPF
}

// SetFilter makes a file source (OpenFile, OpenReader) pass on only the
// packets that the BPF expression matches. Frame numbers stay those of
// the file, so that they still name the frames in Wireshark.
func SetFilter(src Source, expr string) error {
	fs, ok := src.(*fileSource)
	if !ok {
		return fmt.Errorf("%s: a filter applies to capture files only", src.Name())
	}
	if err := CheckFilter(expr); err != nil {
		return err
	}
	fs.filter = &bpfFilter{expr: expr, progs: map[layers.LinkType]*pcap.BPF{}}
	return nil
}

// prog is the program for link type lt, compiled on first use.
func (f *bpfFilter) prog(lt layers.LinkType) (*pcap.BPF, error) {
	if f.last != nil && lt == f.lastLink {
		return f.last, nil
	}
	p, ok := f.progs[lt]
	if !ok {
		var err error
		p, err = pcap.NewBPF(lt, filterSnaplen, f.expr)
		if err != nil {
			return nil, fmt.Errorf("filter %q on link type %s: %v", f.expr, lt, err)
		}
		f.progs[lt] = p
	}
	f.lastLink, f.last = lt, p
	return p, nil
}

func (f *bpfFilter) matches(p *Packet) (bool, error) {
	prog, err := f.prog(p.Link)
	if err != nil {
		return false, err
	}
	return prog.Matches(p.CI, p.Data), nil
}

// keep drops the packets of b the filter does not match, in place; their
// bytes stay in b.Buf, unreferenced.
func (f *bpfFilter) keep(b *Batch) error {
	kept := b.Packets[:0]
	for i := range b.Packets {
		ok, err := f.matches(&b.Packets[i])
		if err != nil {
			b.Packets = kept
			return err
		}
		if ok {
			kept = append(kept, b.Packets[i])
		}
	}
	b.Packets = kept
	return nil
}
