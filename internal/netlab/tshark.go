package main

import (
	"fmt"
	"strconv"
	"strings"
)

// Summary is what tshark says of one capture: the TCP analysis counts,
// the resets and ICMP messages, and the packet list.
type Summary struct {
	Frames   int
	MaxFrame int // frame.len of the largest frame: above MTU+14 means offloads were on
	Counts   map[string]int
	RSTs     []string // "frame N: SRC ttl T"
	ICMP     []string // "frame N: SRC -> DST type/code, quoting ..."
	Packets  []string // the packet list, tab-separated
	// Handshake messages tshark finds with the key log and without it
	// (KeyLog scenarios): "frame N stream S SRC: types".
	Decrypted, Clear []string
	// The DTLS records tshark reads, datagram by datagram, with the key
	// log (DTLSDecrypted) and without it (DTLS scenarios, issue #26).
	DTLS, DTLSDecrypted []string
}

// Analysis are the tshark TCP analysis flags counted in each capture.
var Analysis = []string{
	"tcp.analysis.retransmission",
	"tcp.analysis.lost_segment",
	"tcp.analysis.ack_lost_segment",
	"tcp.analysis.duplicate_ack",
}

// tsharkFields runs tshark on file with a display filter and returns one
// slice of fields per packet.
func tsharkFields(file, filter string, fields ...string) ([][]string, error) {
	return tsharkFieldsKeys(file, "", filter, fields...)
}

// tsharkFieldsKeys is tsharkFields decrypting with an NSS key log (none
// if keys is "").
func tsharkFieldsKeys(file, keys, filter string, fields ...string) ([][]string, error) {
	args := []string{"-n", "-r", file, "-T", "fields", "-E", "separator=\t", "-E", "aggregator=,"}
	if keys != "" {
		args = append(args, "-o", "tls.keylog_file:"+keys)
	}
	if filter != "" {
		args = append(args, "-Y", filter)
	}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out, err := run("tshark", args...)
	if err != nil {
		return nil, err
	}
	var rows [][]string
	for _, l := range strings.Split(out, "\n") {
		// tshark's own warning about running as root goes to the same
		// buffer: rows are the lines that start with a frame number.
		f := strings.Split(l, "\t")
		if len(f) != len(fields) {
			continue
		}
		if _, err := strconv.Atoi(f[0]); err != nil {
			continue
		}
		rows = append(rows, f)
	}
	return rows, nil
}

// PacketFields are the columns of the packet list in the manifest.
var PacketFields = []string{"frame.number", "frame.time_relative", "ip.src", "ip.ttl", "frame.len", "tcp.len", "tcp.flags.str", "_ws.col.Info"}

// HandshakeFields are what the manifest lists of each frame with
// handshake messages.
var HandshakeFields = []string{"frame.number", "tcp.stream", "ip.src", "tls.handshake.type"}

// handshakes lists the frames with handshake messages tshark can read,
// with the key log or without it.
func handshakes(file, keys string) ([]string, error) {
	rows, err := tsharkFieldsKeys(file, keys, "tls.handshake.type", HandshakeFields...)
	if err != nil {
		return nil, err
	}
	var l []string
	for _, r := range rows {
		l = append(l, fmt.Sprintf("frame %s stream %s %s: %s", r[0], r[1], r[2], r[3]))
	}
	return l, nil
}

// summarize reads a capture; keys, if not "", is its key log.
func summarize(file, keys string) (*Summary, error) {
	s := &Summary{Counts: map[string]int{}}
	rows, err := tsharkFields(file, "", PacketFields...)
	if err != nil {
		return nil, err
	}
	s.Frames = len(rows)
	for _, r := range rows {
		if n, _ := strconv.Atoi(r[4]); n > s.MaxFrame {
			s.MaxFrame = n
		}
		t, _ := strconv.ParseFloat(r[1], 64)
		r[1] = fmt.Sprintf("%.3f", t)
		s.Packets = append(s.Packets, strings.Join(r, "\t"))
	}
	for _, a := range Analysis {
		rows, err := tsharkFields(file, a, "frame.number")
		if err != nil {
			return nil, err
		}
		s.Counts[a] = len(rows)
	}
	rows, err = tsharkFields(file, "tcp.flags.reset == 1", "frame.number", "ip.src", "ip.ttl")
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		s.RSTs = append(s.RSTs, fmt.Sprintf("frame %s: %s ttl %s", r[0], r[1], r[2]))
	}
	rows, err = tsharkFields(file, "icmp", "frame.number", "ip.src", "ip.dst", "ip.ttl", "icmp.type", "icmp.code", "icmp.mtu", "tcp.srcport", "tcp.dstport", "_ws.col.Info")
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		// ip.src and ip.dst hold the ICMP's own addresses, then the quoted
		// packet's; tcp ports are the quoted segment's.
		src, dst := strings.Split(r[1], ","), strings.Split(r[2], ",")
		line := fmt.Sprintf("frame %s: %s -> %s ttl %s, type %s code %s", r[0], src[0], dst[0], strings.Split(r[3], ",")[0], r[4], r[5])
		if r[6] != "" {
			line += ", next-hop MTU " + r[6]
		}
		if len(src) > 1 && len(dst) > 1 {
			line += fmt.Sprintf(", quoting %s:%s -> %s:%s", src[1], r[7], dst[1], r[8])
		}
		s.ICMP = append(s.ICMP, line)
	}
	if s.DTLS, s.DTLSDecrypted, err = dtlsSummary(file, keys); err != nil {
		return nil, err
	}
	if keys != "" {
		if s.Decrypted, err = handshakes(file, keys); err != nil {
			return nil, err
		}
		if s.Clear, err = handshakes(file, ""); err != nil {
			return nil, err
		}
	}
	return s, nil
}
