package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows"
	"github.com/tlsscope/tlsscope/flows/capture"
	"github.com/tlsscope/tlsscope/report"
)

// config is a command line, checked.
type config struct {
	format       string // one of report.Formats
	stallTimeout time.Duration
	only         map[flows.Outcome]bool // empty: every outcome
	sni          string
	host         netip.Addr // --host (invalid: every host)
	port         int
	stream       *flows.StreamID // --stream (nil: every one)
	detail       bool
	noColor      bool
	showVersion  bool
	exitZero     bool
	files        []string
	iface        string
	bpf          string
	snaplen      int
	promisc      bool
	duration     time.Duration
	cpuProfile   string
	memProfile   string
	listIfaces   bool
	bufferSize   int
	count        int
	writeAll     string
	writeFailed  string
	user         string   // --user: whom a live capture run as root goes on as
	keylogs      []string // --keylog, repeatable
	// the report's look and checks
	color    string          // --color auto|always|never
	wide     bool            // --wide
	policies []report.Policy // --policy
	// limits
	maxConnections  int
	maxHandshakes   int
	handshakeBudget int64 // MiB
	maxRows         int
	shard           flows.Shard // --shard i/n
	// certificate chains: the trust store and the roots added to it
	trust   string   // --trust system|mozilla|none
	caFiles []string // --ca-file, repeatable
}

// streamFlag is --stream: N or tcp:N, udp:N. Unset it is empty, so that
// the usage shows no default.
type streamFlag struct{ id **flows.StreamID }

func (f streamFlag) String() string {
	if f.id == nil || *f.id == nil {
		return ""
	}
	return (*f.id).String()
}

func (f streamFlag) Set(v string) error {
	id, err := flows.ParseStreamID(v)
	if err != nil {
		return err
	}
	*f.id = &id
	return nil
}

// usageError is a bad command line, in one line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// parseConfig parses and checks the command line. Flags and files may
// come in any order, as with tshark and tcpdump; "--" ends the flags. The
// error is flag.ErrHelp (-h: the usage was printed on stdout) or a
// *usageError.
func parseConfig(args []string, stdout io.Writer) (*config, error) {
	cfg := &config{only: map[flows.Outcome]bool{}}
	var only string
	fs := flag.NewFlagSet("tlsscope", flag.ContinueOnError)
	// The flag package's own messages are not printed: its error comes
	// back as one line, and the usage only when asked for.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&cfg.format, "format", report.Formats[0], "output `format`: "+report.FormatList())
	fs.DurationVar(&cfg.stallTimeout, "stall-timeout", flows.DefaultOptions.StallTimeout, "`duration` of silence from the side that owes a message before a handshake is called stalled")
	fs.StringVar(&only, "only", "", "show only these `outcomes` (comma-separated: "+outcomeList()+")")
	fs.StringVar(&cfg.sni, "sni", "", "show only connections whose SNI matches the `pattern` (shell glob)")
	var host string
	fs.StringVar(&host, "host", "", "show only connections with this client or server `IP`")
	fs.IntVar(&cfg.port, "port", 0, "show only connections with this client or server `port`")
	fs.Var(streamFlag{&cfg.stream}, "stream", "show only the connection of Wireshark tcp.stream `N` (udp:N: the QUIC one of udp.stream N), in detail")
	fs.BoolVar(&cfg.detail, "detail", false, "show each connection's ladder and all its fields")
	fs.BoolVar(&cfg.noColor, "no-color", false, "no colour, even on a terminal")
	fs.BoolVar(&cfg.showVersion, "version", false, "print the version and exit")
	fs.BoolVar(&cfg.exitZero, "exit-zero", false, "exit 0 even when handshakes failed")
	fs.StringVar(&cfg.iface, "i", "", "sniff the live `interface`")
	fs.StringVar(&cfg.bpf, "f", "", "BPF capture `filter` (tcpdump's syntax), for -i and files alike")
	fs.IntVar(&cfg.snaplen, "snaplen", 262144, "live capture snapshot `length`")
	fs.BoolVar(&cfg.promisc, "promisc", true, "live capture in promiscuous mode")
	fs.DurationVar(&cfg.duration, "duration", 0, "stop a live capture after this `duration`")
	fs.BoolVar(&cfg.listIfaces, "D", false, "list the interfaces live capture can use")
	fs.BoolVar(&cfg.listIfaces, "list-interfaces", false, "list the interfaces live capture can use")
	fs.StringVar(&cfg.user, "user", "nobody", "live capture run as root: once the interface is open, go on as this `user` (tcpdump's -Z; root keeps root)")
	fs.IntVar(&cfg.bufferSize, "buffer-size", 0, "live capture kernel buffer (ring) in `bytes` (0: 32 MiB)")
	fs.IntVar(&cfg.count, "count", 0, "stop after `N` handshakes are judged (files too; tcpdump's -c counts packets, ours handshakes)")
	fs.IntVar(&cfg.count, "c", 0, "stop after `N` handshakes are judged, like --count")
	fs.Func("r", "read this capture `file` (repeatable; the same as naming it)", func(v string) error {
		cfg.files = append(cfg.files, v)
		return nil
	})
	fs.StringVar(&cfg.writeAll, "w", "", "write every packet read to this pcapng `file`")
	fs.StringVar(&cfg.writeFailed, "write-failed", "", "write the packets of connections that did not complete to this pcapng `file`")
	fs.Func("keylog", "decrypt with this NSS key log `file` (SSLKEYLOGFILE; repeatable; re-read as it grows when live)", func(v string) error {
		cfg.keylogs = append(cfg.keylogs, v)
		return nil
	})
	fs.IntVar(&cfg.maxHandshakes, "max-handshakes", flows.DefaultOptions.MaxHandshakes, "handshakes decoded at once (each holds a few KiB); when full, the quietest is judged on what was seen")
	fs.IntVar(&cfg.maxConnections, "max-connections", flows.DefaultOptions.MaxConnections, "connections tracked at once; when full, the one quiet the longest is judged on what was seen")
	fs.Int64Var(&cfg.handshakeBudget, "handshake-budget", flows.DefaultOptions.HandshakeBudget>>20, "`MiB` all connections together may buffer for handshake messages not yet complete; a connection over it is judged on what was seen")
	fs.IntVar(&cfg.maxRows, "max-rows", report.DefaultRowLimit, "the table and Markdown list at most `N` connections one by one, then summarise (the worst first; --format json lists all)")
	// The report's look and extra checks.
	fs.StringVar(&cfg.color, "color", "auto", "colour `when`: auto (a terminal, NO_COLOR unset), always (into a pager: less -R) or never")
	fs.BoolVar(&cfg.wide, "wide", false, "the table with every column whole, however wide (a pipe or file gets it anyway)")
	fs.Func("policy", "also check this `policy` (repeatable or comma-separated: "+policyList()+"): fips is FIPS 140-3", func(v string) error {
		for _, p := range strings.Split(v, ",") {
			p := report.Policy(strings.TrimSpace(p))
			if !slices.Contains(report.Policies, p) {
				return fmt.Errorf("unknown policy %q (%s)", p, policyList())
			}
			if !slices.Contains(cfg.policies, p) {
				cfg.policies = append(cfg.policies, p)
			}
		}
		return nil
	})
	fs.StringVar(&cfg.trust, "trust", decoder.TrustSystem, "judge certificate chains against this trust `store`: system (as Go finds it; else mozilla), mozilla (Mozilla's list, built in) or none")
	fs.Func("ca-file", "add the roots of this PEM `file` to the trust store (repeatable)", func(v string) error {
		cfg.caFiles = append(cfg.caFiles, v)
		return nil
	})
	var shard string
	fs.StringVar(&shard, "shard", "", "keep only the connections of shard `i/n` (0 ≤ i < n) by a hash of their addresses and ports; n runs, one per shard, together give one whole run's output, stream numbers included")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile to `file` (for performance work)")
	fs.StringVar(&cfg.memProfile, "memprofile", "", "write an allocation profile to `file` at the end (for performance work)")
	if err := fs.Parse(permute(fs, args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprint(stdout, usage)
			fs.PrintDefaults()
			return nil, err
		}
		return nil, &usageError{err.Error()}
	}
	if cfg.showVersion || cfg.listIfaces {
		return cfg, nil // nothing else is looked at
	}
	if !slices.Contains(report.Formats, cfg.format) {
		return nil, usagef("unknown --format %q (%s)", cfg.format, report.FormatList())
	}
	if cfg.color != "auto" && cfg.color != "always" && cfg.color != "never" {
		return nil, usagef("--color: want auto, always or never, not %q", cfg.color)
	}
	if only != "" {
		for _, o := range strings.Split(only, ",") {
			o := flows.Outcome(strings.TrimSpace(o))
			if !slices.Contains(flows.Outcomes, o) {
				return nil, usagef("unknown outcome %q in --only", o)
			}
			cfg.only[o] = true
		}
	}
	if cfg.trust != decoder.TrustSystem && cfg.trust != decoder.TrustMozilla && cfg.trust != decoder.TrustNone {
		return nil, usagef("--trust: want system, mozilla or none, not %q", cfg.trust)
	}
	if shard != "" {
		if err := parseShard(shard, &cfg.shard); err != nil {
			return nil, err
		}
	}
	if cfg.sni != "" {
		if _, err := path.Match(cfg.sni, ""); err != nil {
			return nil, usagef("bad --sni pattern %q: %v", cfg.sni, err)
		}
	}
	if cfg.iface == "" && len(cfg.files) == 0 {
		return nil, usagef("nothing to read: give capture files, -r FILE or -i IFACE")
	}
	if cfg.iface != "" && len(cfg.files) > 0 {
		return nil, usagef("give either -i IFACE or files, not both")
	}
	if cfg.count < 0 {
		return nil, usagef("--count: want N ≥ 0")
	}
	if err := cfg.checkSelection(fs, host); err != nil {
		return nil, err
	}
	return cfg, nil
}

// checkSelection checks what selects packets and connections: the BPF
// filter compiles (libpcap's message when not, as tcpdump says it), and
// --host and --port name an address and a port that can exist.
func (cfg *config) checkSelection(fs *flag.FlagSet, host string) error {
	if cfg.bpf != "" {
		if err := capture.CheckFilter(cfg.bpf); err != nil {
			return usagef("-f %s: %v", shellQuote(cfg.bpf), err)
		}
	}
	if host != "" {
		a, err := netip.ParseAddr(host)
		if err != nil || a.Zone() != "" {
			return usagef("--host: %q is not an IPv4 or IPv6 address", host)
		}
		cfg.host = a.Unmap()
	}
	var portSet bool
	fs.Visit(func(f *flag.Flag) { portSet = portSet || f.Name == "port" })
	if portSet && (cfg.port < 1 || cfg.port > 65535) {
		return usagef("--port: %d is not a port (1 to 65535)", cfg.port)
	}
	return nil
}

// shellQuote quotes s for a POSIX shell, as the user would type it.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// permute moves the files of a command line among its flags, for the flag
// package, which stops at the first file: each becomes -r FILE, in its
// place, so that the files keep their order. After "--" everything is a
// file, so that a file named -x can be read; "-" alone is stdin.
func permute(fs *flag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args)+4)
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			for _, f := range args[i+1:] {
				out = append(out, "-r", f)
			}
			break
		}
		if len(a) < 2 || a[0] != '-' {
			out = append(out, "-r", a)
			continue
		}
		out = append(out, a)
		name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if strings.Contains(name, "=") {
			continue // -flag=value
		}
		// A flag that takes a value takes the next argument, whatever it
		// looks like (--port -1 is a bad port, not a flag).
		if f := fs.Lookup(name); f != nil && !isBool(f) && i+1 < len(args) {
			i++
			out = append(out, args[i])
		}
	}
	return out
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// parseShard reads --shard i/n.
func parseShard(v string, s *flows.Shard) error {
	is, ns, ok := strings.Cut(v, "/")
	i, err1 := strconv.Atoi(is)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil || i < 0 || n < 1 || i >= n {
		return usagef("--shard: want i/n with 0 ≤ i < n")
	}
	*s = flows.Shard{I: i, N: n}
	return nil
}

func policyList() string {
	var names []string
	for _, p := range report.Policies {
		names = append(names, string(p))
	}
	return strings.Join(names, ",")
}

func outcomeList() string {
	var names []string
	for _, o := range flows.Outcomes {
		names = append(names, string(o))
	}
	return strings.Join(names, ",")
}

// keeps reports whether the filters let r through.
func (cfg *config) keeps(r *flows.Result) bool {
	if len(cfg.only) > 0 && !cfg.only[r.Outcome] {
		return false
	}
	if cfg.stream != nil && r.ID() != *cfg.stream {
		return false
	}
	if cfg.port != 0 && int(r.Client.Port()) != cfg.port && int(r.Server.Port()) != cfg.port {
		return false
	}
	if cfg.host.IsValid() && r.Client.Addr().Unmap() != cfg.host && r.Server.Addr().Unmap() != cfg.host {
		return false
	}
	if cfg.sni != "" {
		sni := ""
		if r.HS.ClientHello != nil {
			sni = r.HS.ClientHello.ServerName
		}
		if ok, _ := path.Match(cfg.sni, sni); !ok {
			return false
		}
	}
	return true
}
