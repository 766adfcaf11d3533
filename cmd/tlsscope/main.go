// Command tlsscope reads packet captures or sniffs an interface and judges
// every TLS handshake in them: complete, resumed, failed (and by whose
// alert), reset, closed, or stalled, and where.
package main

import (
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// version is set by the Makefile from git describe.
var version = "dev"

// Exit statuses.
const (
	exitOK      = 0
	exitProblem = 1 // a handshake failed, stalled, was reset or closed
	exitUsage   = 2 // bad flags, unreadable input, or output that cannot be written
)

const usage = `tlsscope: judge every TLS handshake in a capture.

Usage:
  tlsscope [flags] FILE...        read pcap/pcapng files (gzip too; - for stdin)
  tlsscope [flags] -r FILE...     the same, as tshark and tcpdump write it
  tlsscope [flags] -i IFACE       sniff a live interface (needs root or CAP_NET_RAW)

Flags and files may come in any order; -- ends the flags (tlsscope -- -odd.pcap).
Flags take one dash or two (-format json, --format json).

Examples:
  tlsscope capture.pcapng
  tlsscope -r capture.pcap --only stalled,failed --detail
  tlsscope capture.pcap --format json | jq 'select(.outcome=="stalled")'
  tlsscope --format markdown --stream 3 capture.pcap > report.md
  tlsscope --stream udp:0 capture.pcap    the QUIC connection of udp.stream 0
  tlsscope -c 10 capture.pcap     the first 10 handshakes judged, then stop
  tlsscope -i eth0 -f 'tcp port 443'

Exit status: 0 when every handshake is fine, 1 when any failed, stalled,
was reset or closed early (unless --exit-zero), 2 for usage or input errors
and when output cannot be written.

Flags:
`

// gcPercent is the heap growth between collections.
const gcPercent = 50

func main() {
	// A closed output pipe (tlsscope ... | head) is a write error that
	// stops the run, with the -w files closed, instead of a SIGPIPE that
	// kills it.
	signal.Ignore(syscall.SIGPIPE)
	// The collector lets the heap grow to 1.5 times what is live, not
	// twice (GOGC=100): with the connection limits, that keeps a flood
	// within 256 MiB. GOGC, when set, wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
