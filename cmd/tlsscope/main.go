// Command tlsscope reads packet captures or sniffs an interface and judges
// every TLS handshake in them: complete, resumed, failed (and by whose
// alert), reset, closed, or stalled, and where.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tlsscope/tlsscope/flows"
	"github.com/tlsscope/tlsscope/flows/capture"
	"github.com/tlsscope/tlsscope/report"
)

// version is set by the Makefile from git describe.
var version = "dev"

// Exit statuses.
const (
	exitOK      = 0
	exitProblem = 1 // a handshake failed, stalled, was reset or closed
	exitUsage   = 2 // bad flags or unreadable input
)

const usage = `tlsscope: judge every TLS handshake in a capture.

Usage:
  tlsscope [flags] FILE...        read pcap/pcapng files (gzip too; - for stdin)
  tlsscope [flags] -i IFACE       sniff a live interface (needs root or CAP_NET_RAW)

Examples:
  tlsscope capture.pcapng
  tlsscope --only stalled,failed --detail capture.pcap
  tlsscope --format json capture.pcap | jq 'select(.outcome=="stalled")'
  tlsscope --format markdown --stream 3 capture.pcap > report.md
  tlsscope -i eth0 -f 'tcp port 443'

Exit status: 0 when every handshake is fine, 1 when any failed, stalled,
was reset or closed early (unless --exit-zero), 2 for usage or input errors.

Flags:
`

type config struct {
	format       string
	stallTimeout time.Duration
	only         string
	sni          string
	host         string
	port         int
	stream       int
	detail       bool
	noColor      bool
	showVersion  bool
	exitZero     bool
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
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var cfg config
	fs := flag.NewFlagSet("tlsscope", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.format, "format", "table", "output `format`: table, json, markdown or csv")
	fs.DurationVar(&cfg.stallTimeout, "stall-timeout", flows.DefaultOptions.StallTimeout, "`duration` of silence from the side that owes a message before a handshake is called stalled")
	fs.StringVar(&cfg.only, "only", "", "show only these `outcomes` (comma-separated: complete,resumed,failed,reset,closed,stalled,incomplete,not_observed)")
	fs.StringVar(&cfg.sni, "sni", "", "show only connections whose SNI matches the `pattern` (shell glob)")
	fs.StringVar(&cfg.host, "host", "", "show only connections with this client or server `IP`")
	fs.IntVar(&cfg.port, "port", 0, "show only connections with this client or server `port`")
	fs.IntVar(&cfg.stream, "stream", -1, "show only Wireshark tcp.stream `N`, in detail")
	fs.BoolVar(&cfg.detail, "detail", false, "show each connection's ladder and all its fields")
	fs.BoolVar(&cfg.noColor, "no-color", false, "no colour, even on a terminal")
	fs.BoolVar(&cfg.showVersion, "version", false, "print the version and exit")
	fs.BoolVar(&cfg.exitZero, "exit-zero", false, "exit 0 even when handshakes failed")
	fs.StringVar(&cfg.iface, "i", "", "sniff the live `interface`")
	fs.StringVar(&cfg.bpf, "f", "", "BPF capture `filter` for -i")
	fs.IntVar(&cfg.snaplen, "snaplen", 262144, "live capture snapshot `length`")
	fs.BoolVar(&cfg.promisc, "promisc", true, "live capture in promiscuous mode")
	fs.DurationVar(&cfg.duration, "duration", 0, "stop a live capture after this `duration`")
	fs.BoolVar(&cfg.listIfaces, "D", false, "list the interfaces live capture can use")
	fs.BoolVar(&cfg.listIfaces, "list-interfaces", false, "list the interfaces live capture can use")
	fs.IntVar(&cfg.bufferSize, "buffer-size", 0, "live capture kernel buffer in `bytes` (0: libpcap's default)")
	fs.IntVar(&cfg.count, "count", 0, "stop a live capture after `N` handshakes")
	fs.StringVar(&cfg.writeAll, "w", "", "write every packet read to this pcapng `file`")
	fs.StringVar(&cfg.writeFailed, "write-failed", "", "write the packets of connections that did not complete to this pcapng `file`")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile to `file` (for performance work)")
	fs.StringVar(&cfg.memProfile, "memprofile", "", "write an allocation profile to `file` at the end (for performance work)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if cfg.showVersion {
		fmt.Fprintln(stdout, "tlsscope", version)
		return exitOK
	}
	if cfg.listIfaces {
		ifaces, err := capture.Interfaces()
		if err != nil {
			fmt.Fprintln(stderr, "tlsscope:", err)
			return exitUsage
		}
		for i, name := range ifaces {
			fmt.Fprintf(stdout, "%d. %s\n", i+1, name)
		}
		return exitOK
	}
	switch cfg.format {
	case "table", "json", "markdown", "csv":
	default:
		fmt.Fprintf(stderr, "tlsscope: unknown --format %q (table, json, markdown or csv)\n", cfg.format)
		return exitUsage
	}
	only := map[string]bool{}
	if cfg.only != "" {
		valid := map[string]bool{}
		for _, o := range flows.Outcomes {
			valid[string(o)] = true
		}
		for _, o := range strings.Split(cfg.only, ",") {
			o = strings.TrimSpace(o)
			if !valid[o] {
				fmt.Fprintf(stderr, "tlsscope: unknown outcome %q in --only\n", o)
				return exitUsage
			}
			only[o] = true
		}
	}
	if cfg.sni != "" {
		if _, err := path.Match(cfg.sni, ""); err != nil {
			fmt.Fprintf(stderr, "tlsscope: bad --sni pattern %q: %v\n", cfg.sni, err)
			return exitUsage
		}
	}
	if cfg.iface == "" && fs.NArg() == 0 {
		fs.Usage()
		return exitUsage
	}
	if cfg.iface != "" && fs.NArg() > 0 {
		fmt.Fprintln(stderr, "tlsscope: give either -i IFACE or files, not both")
		return exitUsage
	}
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "tlsscope:", err)
			return exitUsage
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	if cfg.memProfile != "" {
		f, err := os.Create(cfg.memProfile)
		if err != nil {
			fmt.Fprintln(stderr, "tlsscope:", err)
			return exitUsage
		}
		defer func() { pprof.Lookup("allocs").WriteTo(f, 0); f.Close() }()
	}
	opts := flows.Options{StallTimeout: cfg.stallTimeout, Live: cfg.iface != "", KeepPackets: cfg.writeFailed != ""}
	var failedW, allW *capture.PcapngWriter
	for _, w := range []struct {
		name string
		to   **capture.PcapngWriter
	}{{cfg.writeFailed, &failedW}, {cfg.writeAll, &allW}} {
		if w.name == "" {
			continue
		}
		f, err := os.Create(w.name)
		if err != nil {
			fmt.Fprintln(stderr, "tlsscope:", err)
			return exitUsage
		}
		defer f.Close()
		bw := bufio.NewWriter(f)
		defer bw.Flush()
		*w.to = capture.NewPcapngWriter(bw)
		defer (*w.to).Flush()
	}
	a := flows.NewAnalyzer(opts)
	var inputs []string
	var warnings []error
	ropts := report.Options{Color: !cfg.noColor && isTerminal(stdout) && os.Getenv("NO_COLOR") == "",
		Detail: cfg.detail || cfg.stream >= 0}

	// JSON Lines and CSV are written as connections end, in stream order,
	// so memory follows the open connections, not the capture; the table
	// and Markdown need every row first.
	var conns []*report.Connection
	var csvw *report.CSVWriter
	status := exitOK
	var writeErr error
	// Results are built and written by a goroutine of their own, in the
	// order the analyzer hands them over, while it reads on.
	out := bufio.NewWriterSize(stdout, 256<<10)
	jsonw := report.NewJSONWriter(out)
	results := make(chan *flows.Result, 256)
	var stopLive func()
	handshakes := 0
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for r := range results {
			// A failed handshake's packets are written when it is decided; a
			// stall's when its connection ends (its final update), once.
			if failedW != nil && !r.Outcome.Good() && !(r.Open && r.Outcome == flows.Stalled) {
				for _, p := range r.Packets {
					if err := failedW.Write(p); err != nil && writeErr == nil {
						writeErr = err
					}
				}
			}
			if !keep(r, cfg, only) || writeErr != nil {
				continue
			}
			c := report.Build(r)
			if !r.Update {
				handshakes++
				if cfg.count > 0 && handshakes == cfg.count && stopLive != nil {
					stopLive()
				}
			}
			if r.Outcome.Problem() {
				status = exitProblem
			}
			switch {
			case cfg.format == "json":
				writeErr = jsonw.Write(c)
			case cfg.format == "csv":
				writeErr = csvw.Write(c)
			case cfg.iface != "" && cfg.format == "table":
				// Live: one line per verdict as it comes; the summary at the end.
				_, writeErr = fmt.Fprintln(out, report.Line(c, ropts.Color))
				if !r.Open || r.Outcome != flows.Stalled {
					if !ropts.Detail {
						c.Summarize(false)
					}
					conns = append(conns, c)
				}
			default:
				if !ropts.Detail {
					// Held to the end: keep only what is printed.
					c.Summarize(cfg.format == "markdown" && !r.Outcome.Good())
				}
				conns = append(conns, c)
			}
			if cfg.iface != "" && writeErr == nil {
				// Live: each verdict as soon as it is known.
				if csvw != nil {
					writeErr = csvw.Flush()
				}
				if writeErr == nil {
					writeErr = out.Flush()
				}
			}
		}
	}()
	emit := func(r *flows.Result) { results <- r }
	if cfg.format == "csv" {
		csvw = report.NewCSVWriter(out)
	}
	// Every format takes results as connections end: the table and Markdown
	// keep a summary of each (they print all rows at the end), not the
	// analyzer's whole connection.
	a.OnResult = emit

	if cfg.iface != "" {
		src, err := capture.OpenLive(cfg.iface, cfg.bpf, cfg.snaplen, cfg.promisc, cfg.bufferSize)
		if err != nil {
			fmt.Fprintln(stderr, "tlsscope:", err)
			return exitUsage
		}
		inputs = []string{cfg.iface}
		stopLive = func() { src.Close() }
		if allW != nil {
			src = &capture.Tee{Source: src, W: allW}
		}
		fmt.Fprintf(stderr, "tlsscope: capturing on %s; Ctrl-C to stop\n", cfg.iface)
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
		go func() {
			if cfg.duration > 0 {
				select {
				case <-stop:
				case <-time.After(cfg.duration):
				}
			} else {
				<-stop
			}
			src.Close()
		}()
		if err := a.Run(src); err != nil && !errors.Is(err, capture.ErrClosed) {
			warnings = append(warnings, err)
		}
	} else {
		var srcs []capture.Source
		for _, name := range fs.Args() {
			src, err := capture.OpenFile(name)
			if err != nil {
				fmt.Fprintln(stderr, err)
				for _, s := range srcs {
					s.Close()
				}
				return exitUsage
			}
			srcs = append(srcs, src)
			inputs = append(inputs, name)
		}
		m := capture.NewMerge(srcs)
		var src capture.Source = m
		if allW != nil {
			src = &capture.Tee{Source: m, W: allW}
		}
		stopProgress := progress(stderr, a)
		err := a.Run(src)
		stopProgress()
		m.Close()
		if err != nil {
			warnings = append(warnings, err)
		}
		warnings = append(warnings, m.Warnings...)
	}
	for _, r := range a.Finish() {
		emit(r)
	}
	close(results)
	wg.Wait()
	if csvw != nil && writeErr == nil {
		writeErr = csvw.Flush()
	}
	for _, w := range warnings {
		fmt.Fprintln(stderr, "tlsscope: warning:", w)
	}
	if a.Stats.UnsupportedLink > 0 {
		for lt, n := range a.Stats.UnsupportedLinkTypes {
			fmt.Fprintf(stderr, "tlsscope: warning: %d packets of unsupported link type %s skipped\n", n, lt)
		}
	}
	if a.Stats.IPFragments > 0 {
		fmt.Fprintf(stderr, "tlsscope: warning: %d IP fragments not reassembled\n", a.Stats.IPFragments)
	}
	ropts.Inputs = inputs
	switch cfg.format {
	case "markdown":
		writeErr = report.WriteMarkdown(out, conns, ropts)
	case "table":
		writeErr = report.WriteTable(out, conns, ropts)
	}
	if writeErr == nil {
		writeErr = out.Flush()
	}
	if writeErr != nil {
		fmt.Fprintln(stderr, "tlsscope: writing output:", writeErr)
		return exitUsage
	}
	if cfg.exitZero {
		return exitOK
	}
	return status
}

func keep(r *flows.Result, cfg config, only map[string]bool) bool {
	if len(only) > 0 && !only[string(r.Outcome)] {
		return false
	}
	if cfg.stream >= 0 && r.Stream != cfg.stream {
		return false
	}
	if cfg.port != 0 && int(r.Client.Port()) != cfg.port && int(r.Server.Port()) != cfg.port {
		return false
	}
	if cfg.host != "" && r.Client.Addr().String() != cfg.host && r.Server.Addr().String() != cfg.host {
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

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress prints packets read to stderr every second, on a terminal only.
func progress(stderr io.Writer, a *flows.Analyzer) func() {
	if !isTerminal(stderr) {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		shown := false
		for {
			select {
			case <-done:
				if shown {
					fmt.Fprint(stderr, "\r\x1b[K")
				}
				return
			case <-tick.C:
				fmt.Fprintf(stderr, "\rread %s packets, %s MB", strconv.FormatInt(a.Progress(), 10), strconv.FormatInt(a.ProgressBytes()>>20, 10))
				shown = true
			}
		}
	}()
	return func() { close(done); <-finished }
}
