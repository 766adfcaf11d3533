package capture

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// tcpPort says whether a frame carries TCP to or from port, decoded by
// gopacket, not libpcap: the filter is checked against another reading.
func tcpPort(p Packet, port layers.TCPPort) bool {
	pk := gopacket.NewPacket(p.Data, p.Link, gopacket.Default)
	tcp, ok := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
	return ok && (tcp.SrcPort == port || tcp.DstPort == port)
}

// TestFilterPerLinkType: -f on a pcapng of two interfaces, one Ethernet
// and one Linux cooked (SLL), keeps on each the frames the expression
// matches, compiled for that interface's link type, with their frame
// numbers in the file; through Next and through Fill alike.
func TestFilterPerLinkType(t *testing.T) {
	file := filepath.Join(testdata, "two-interfaces.pcapng")
	all := readFile(t, file, "")
	links := map[layers.LinkType]bool{}
	for _, p := range all {
		links[p.Link] = true
	}
	if !links[layers.LinkTypeEthernet] || !links[layers.LinkTypeLinuxSLL] {
		t.Fatalf("%s: link types %v, want Ethernet and SLL", file, links)
	}
	for _, port := range []layers.TCPPort{42130, 42137, 443} {
		var want []int64
		for _, p := range all {
			if tcpPort(p, port) {
				want = append(want, p.Frame)
			}
		}
		if len(want) == 0 {
			t.Fatalf("no frame of port %d in %s", port, file)
		}
		expr := "tcp port " + port.String()
		if i := strings.IndexByte(expr, '('); i > 0 {
			expr = strings.TrimSpace(expr[:i]) // "443(https)"
		}
		for _, how := range []string{"next", "fill"} {
			got := frames(readFileHow(t, file, expr, how))
			if !slices.Equal(got, want) {
				t.Errorf("%s, %q by %s: frames %v, want %v", filepath.Base(file), expr, how, got, want)
			}
		}
	}
	if got := readFile(t, file, "udp"); len(got) != 0 {
		t.Errorf("udp kept %d TCP frames", len(got))
	}
}

// TestFilterInvalid: an expression libpcap cannot compile is refused with
// its message; one that compiles for the link types captures have but
// not for a file's is said as that file's error.
func TestFilterInvalid(t *testing.T) {
	err := CheckFilter("this is not bpf")
	if err == nil || !strings.Contains(err.Error(), "syntax error") {
		t.Errorf("CheckFilter: %v, want libpcap's syntax error", err)
	}
	src, err := OpenFile(filepath.Join(testdata, "sll2.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	// 802.11 headers have no meaning on a Linux cooked capture.
	if err := SetFilter(src, "wlan type mgt"); err != nil {
		t.Fatal(err)
	}
	_, err = src.Next()
	if err == nil || err == io.EOF || !strings.Contains(err.Error(), "sll2.pcap") {
		t.Errorf("wlan on SLL2: %v, want an error naming the file", err)
	}
}

func frames(ps []Packet) []int64 {
	var out []int64
	for _, p := range ps {
		out = append(out, p.Frame)
	}
	return out
}

func readFile(t *testing.T, name, expr string) []Packet {
	return readFileHow(t, name, expr, "next")
}

// readFileHow reads a file, through the filter when expr is set, one
// packet at a time or a batch at a time.
func readFileHow(t *testing.T, name, expr, how string) []Packet {
	t.Helper()
	src, err := OpenFile(name)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if expr != "" {
		if err := SetFilter(src, expr); err != nil {
			t.Fatal(err)
		}
	}
	if how == "next" {
		ps, err := ReadAll(src)
		if err != nil {
			t.Fatal(err)
		}
		return ps
	}
	var out []Packet
	b := Batch{Buf: make([]byte, 0, 4096)} // small: several fills
	for {
		err := src.(BatchSource).Fill(&b)
		for _, p := range b.Packets {
			p.Data = append([]byte(nil), p.Data...)
			out = append(out, p)
		}
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestStreamDetected: a pipe and a named FIFO are streams, read as their
// writer sends; a file, or a file on standard input, is not.
func TestStreamDetected(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testdata, "tls13-full.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() { w.Write(data); w.Close() }()
	if src, err := OpenStdin(r); err != nil || !IsStream(src) || !IsStream(NewMerge([]Source{src})) {
		t.Errorf("a pipe on stdin: %v, stream %v", err, err == nil && IsStream(src))
	}
	r.Close()

	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	go func() {
		if f, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			f.Write(data)
			f.Close()
		}
	}()
	if src, err := OpenFile(fifo); err != nil || !IsStream(src) {
		t.Errorf("a FIFO: %v, stream %v", err, err == nil && IsStream(src))
	} else {
		src.Close()
	}

	file := filepath.Join(testdata, "tls13-full.pcap")
	if src, err := OpenFile(file); err != nil || IsStream(src) {
		t.Errorf("a file: %v, stream %v", err, err == nil && IsStream(src))
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if src, err := OpenStdin(f); err != nil || IsStream(src) {
		t.Errorf("a file on stdin (tlsscope - < F): %v, stream %v", err, err == nil && IsStream(src))
	}
}
