package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/flows"
	"github.com/tlsscope/tlsscope/flows/capture"
	"github.com/tlsscope/tlsscope/report"
)

// run is the command; it returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, stdout)
	if err != nil {
		return usageFailed(stderr, err)
	}
	switch {
	case cfg.showVersion:
		fmt.Fprintln(stdout, "tlsscope", version)
		return exitOK
	case cfg.listIfaces:
		return listInterfaces(stdout, stderr)
	}
	stopProfiles, err := startProfiles(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "tlsscope:", err)
		return exitUsage
	}
	defer stopProfiles()
	s := &session{cfg: cfg, stderr: stderr}
	if keys, err := openKeyLogs(cfg.keylogs); err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	} else {
		s.keys = keys
	}
	// The --ca-file roots are read now, once (--trust is checked by the
	// flags); the store's own roots load while the capture is read.
	ca, err := decoder.ReadCAFiles(cfg.caFiles)
	if err != nil {
		fmt.Fprintln(stderr, "tlsscope:", err)
		return exitUsage
	}
	kind := cfg.trust
	s.validator = decoder.NewValidatorLoading(func() *decoder.TrustStore {
		trust, err := decoder.LoadTrustStore(kind, ca)
		if err != nil {
			// Only an unknown kind fails, which the flags refuse.
			trust, _ = decoder.LoadTrustStore(decoder.TrustNone, nil)
		}
		return trust
	})
	if err := s.openInputs(stdin); err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	if err := s.openOutputs(stdout); err != nil {
		s.in.Close()
		fmt.Fprintln(stderr, "tlsscope:", err)
		return exitUsage
	}
	if err := s.dropRoot(); err != nil {
		s.closeOutputs()
		s.in.Close()
		fmt.Fprintln(stderr, "tlsscope:", err)
		return exitUsage
	}
	s.analyze()
	s.report()
	return s.exitStatus()
}

// usageFailed says a bad command line in one line, and where the usage
// is; after --help (the usage, on stdout), nothing.
func usageFailed(stderr io.Writer, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintf(stderr, "tlsscope: %v\nsee tlsscope --help\n", err)
	return exitUsage
}

func listInterfaces(stdout, stderr io.Writer) int {
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

// startProfiles starts the CPU profile and prepares the allocation
// profile; the function returned ends both.
func startProfiles(cfg *config) (stop func(), err error) {
	var stops []func()
	stop = func() {
		for _, f := range stops {
			f()
		}
	}
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return stop, err
		}
		pprof.StartCPUProfile(f)
		stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
	}
	if cfg.memProfile != "" {
		f, err := os.Create(cfg.memProfile)
		if err != nil {
			stop()
			return func() {}, err
		}
		stops = append(stops, func() { pprof.Lookup("allocs").WriteTo(f, 0); f.Close() })
	}
	return stop, nil
}

// session is one run: its inputs, its outputs and what came of them.
type session struct {
	cfg    *config
	stderr io.Writer

	in   capture.Source // the files merged, or the interface
	live bool
	// stream: the input is a pipe, a FIFO or a socket (tcpdump -w - |
	// tlsscope -): verdicts are said as they come, as live, on the
	// capture's clock.
	stream bool
	runAs  string             // whom a live capture dropped root for (--user)
	inputs []string           // their names, for the report
	src    *capture.Stoppable // what the analyzer reads: in, through -w

	stdout          *bufio.Writer
	stdoutTTY       bool // stdout is a terminal
	stderrTTY       bool
	w               report.Writer
	all, failedPkts *capture.PcapngWriter // -w, --write-failed

	a          *flows.Analyzer
	validator  *decoder.Validator // --trust, --ca-file
	keys       *keyLogs
	status     int // exitOK or exitProblem
	handshakes int
	// With --count: the streams reported, for the updates that follow
	// them (live), and the connections judged after the count was reached,
	// which are left out.
	counted    map[flows.StreamID]bool
	uncounted  int
	read       int // connections read, before the filters (take)
	warnings   []error
	unreadable []error      // inputs from which not one packet could be read
	cutConns   atomic.Int64 // connections written to --write-failed without all their packets
	failed     failedFile   // --write-failed: created on its first packet
	// dropConns are the connections that lived through capture drops
	// (take); dropLine is when stderr last said the drops, live.
	dropConns map[flows.StreamID]bool
	dropLine  time.Time

	mu  sync.Mutex
	err error // the first write error: it ends the run

	// interrupted: Ctrl-C or SIGTERM stopped the run; the terminal shows
	// "^C" where the cursor was.
	interrupted atomic.Bool
}

// openInputs opens the files, or the interface.
func (s *session) openInputs(stdin io.Reader) error {
	if s.cfg.iface != "" {
		src, err := capture.OpenLive(s.cfg.iface, s.cfg.bpf, s.cfg.snaplen, s.cfg.promisc, s.cfg.bufferSize)
		if err != nil {
			return fmt.Errorf("tlsscope: %w", err)
		}
		s.in, s.live, s.inputs = src, true, []string{s.cfg.iface}
		return nil
	}
	var srcs []capture.Source
	for _, name := range s.cfg.files {
		var src capture.Source
		var err error
		if name == "-" {
			src, err = capture.OpenStdin(stdin)
		} else {
			src, err = capture.OpenFile(name)
		}
		if err == nil && s.cfg.bpf != "" {
			if err = capture.SetFilter(src, s.cfg.bpf); err != nil {
				src.Close()
			}
		}
		if err != nil {
			for _, s := range srcs {
				s.Close()
			}
			return s.filterHint(err)
		}
		srcs = append(srcs, src)
		s.inputs = append(s.inputs, name)
	}
	s.in = capture.NewMerge(srcs)
	s.stream = capture.IsStream(s.in)
	return nil
}

// dropRoot, live and run as root, goes on as --user once the capture
// handle is open and the outputs created: the packets are parsed without
// root. A key log the user may not read is read no further (live, key
// logs are re-read as they grow).
func (s *session) dropRoot() error {
	if !s.live {
		return nil
	}
	as, err := dropPrivileges(s.cfg.user)
	if err != nil || as == "" {
		return err
	}
	s.runAs = as
	for _, name := range s.cfg.keylogs {
		if f, err := os.Open(name); err != nil {
			fmt.Fprintf(s.stderr, "tlsscope: warning: --keylog %s: not readable as %s, lines added to it are not read (--user root keeps root)\n", name, s.cfg.user)
		} else {
			f.Close()
		}
	}
	return nil
}

// asTheyCome reports whether verdicts are said as soon as they are known
// and written through at once: live, or from a stream.
func (s *session) asTheyCome() bool { return s.live || s.stream }

// filterHint adds to a file that does not exist the hint that it reads as
// a filter (tlsscope -r F tcp port 443, as tcpdump would take it): the
// names that are no files, together, when libpcap compiles them.
func (s *session) filterHint(err error) error {
	var ie *capture.InputError
	if !errors.As(err, &ie) || !errors.Is(ie.Err, fs.ErrNotExist) {
		return err
	}
	var missing []string
	for _, name := range s.cfg.files {
		if _, e := os.Stat(name); name != "-" && errors.Is(e, fs.ErrNotExist) {
			missing = append(missing, name)
		}
	}
	for _, expr := range []string{strings.Join(missing, " "), ie.Name} {
		if capture.CheckFilter(expr) == nil {
			return fmt.Errorf("%w (to filter, use -f %s)", err, shellQuote(expr))
		}
	}
	return err
}

// openOutputs creates the -w and --write-failed files and starts the
// report on stdout. Every write goes through an output, whose first
// error ends the run.
func (s *session) openOutputs(stdout io.Writer) error {
	for _, o := range []struct {
		name string
		to   **capture.PcapngWriter
	}{{s.cfg.writeFailed, &s.failedPkts}, {s.cfg.writeAll, &s.all}} {
		if o.name == "" {
			continue
		}
		var w io.Writer
		var c io.Closer
		if o.name == s.cfg.writeFailed {
			// Opened now, so that a path that cannot be written is said at
			// once; emptied and written only if a connection failed.
			if err := s.failed.open(o.name); err != nil {
				s.closeOutputs()
				return err
			}
			w, c = &s.failed, &s.failed
		} else {
			f, err := os.Create(o.name)
			if err != nil {
				s.closeOutputs()
				return err
			}
			w, c = f, f
		}
		// The pcapng writer buffers; Close flushes it and closes the file.
		*o.to = capture.NewPcapngWriter(&output{name: o.name, w: w, c: c, fail: s.fail})
	}
	width, color := s.cfg.look(stdout)
	s.stdoutTTY, s.stderrTTY = isTerminal(stdout), isTerminal(s.stderr)
	opts := report.Options{
		Color:    color,
		Width:    width,
		Wide:     s.cfg.wide,
		Total:    func() int { return s.read },
		Detail:   s.cfg.detail || s.cfg.stream != nil,
		Inputs:   s.inputs,
		Live:     s.asTheyCome(),
		RowLimit: s.cfg.maxRows,
		Notes: func() []string {
			notes := append(append(append(s.limitNotes(), s.trafficNotes()...), s.countNotes()...), s.keys.notes(s.a)...)
			if s.cfg.format != "markdown" { // Markdown says it in its header and sections
				notes = append(notes, s.failed.note()...)
			}
			return notes
		},
		Version:      version,
		StallTimeout: s.cfg.stallTimeout,
		TrustStore:   s.validator.Store().String(),
		Span:         func() (time.Time, time.Time) { return s.a.Stats.First, s.a.Stats.Last },
	}
	if s.cfg.writeFailed != "" {
		opts.Attachment = s.failed.attachment
	}
	if !s.cfg.shard.On() || s.cfg.shard.I == 0 {
		// Every shard reads the whole input: one says the drops, so that
		// the shards' outputs together are the whole run's.
		opts.Drops = s.drops
	}
	s.stdout = bufio.NewWriterSize(&output{name: stdoutName, w: stdout, fail: s.fail}, 256<<10)
	var err error
	s.w, err = report.NewWriter(s.cfg.format, s.stdout, opts)
	return err
}

// analyze reads the input to its end, or until stopped, and writes each
// result as it comes: results are built and written by a goroutine of
// their own, in the order the analyzer hands them over, while it reads on.
func (s *session) analyze() {
	opts := flows.Options{StallTimeout: s.cfg.stallTimeout, Live: s.asTheyCome(), KeepPackets: s.failedPkts != nil,
		MaxConnections: s.cfg.maxConnections, MaxHandshakes: s.cfg.maxHandshakes, HandshakeBudget: s.cfg.handshakeBudget << 20,
		Shard: s.cfg.shard, Validator: s.validator}
	if len(s.cfg.keylogs) > 0 {
		opts.KeyLog = s.keys.log
		if s.asTheyCome() {
			s.keys.follow()
			defer s.keys.close()
		}
	}
	s.a = flows.NewAnalyzer(opts)
	s.a.OnDrops = s.dropsRose
	var src capture.Source = s.in
	if s.all != nil {
		src = &capture.Tee{Source: src, W: s.all}
	}
	s.src = capture.NewStoppable(src)
	// Results go over in batches: one channel operation per result costs
	// more than building it when a flood makes millions. Live, each goes
	// at once.
	results := make(chan []*flows.Result, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for rs := range results {
			for _, r := range rs {
				s.take(r)
			}
		}
	}()
	const batch = 64
	var pending []*flows.Result
	flush := func() {
		if len(pending) > 0 {
			results <- pending
			pending = nil
		}
	}
	s.a.OnResult = func(r *flows.Result) {
		pending = append(pending, r)
		if s.asTheyCome() || len(pending) >= batch {
			flush()
		}
	}
	var err error
	if s.asTheyCome() {
		if s.live {
			as := ""
			if s.runAs != "" {
				as = " as " + s.runAs
			}
			fmt.Fprintf(s.stderr, "tlsscope: capturing on %s%s; Ctrl-C to stop\n", s.cfg.iface, as)
		}
		stopSignals := s.stopOnSignal()
		err = s.a.Run(s.src)
		stopSignals()
	} else {
		stopProgress := progress(s.stderr, s.a)
		err = s.a.Run(s.src)
		stopProgress()
	}
	s.in.Close()
	if err != nil && !errors.Is(err, capture.ErrClosed) && !errors.Is(err, capture.ErrStopped) && s.failure() == nil {
		s.warnings = append(s.warnings, err)
	}
	if m, ok := s.in.(*capture.Merge); ok {
		s.warnings = append(s.warnings, m.Warnings...)
		s.unreadable = m.Unreadable
		for _, line := range m.Skipped() {
			s.warnings = append(s.warnings, errors.New(line))
		}
		if n := m.Empty(); n > 0 {
			s.warnings = append(s.warnings, fmt.Errorf("%d records of no bytes skipped", n))
		}
	}
	for _, r := range s.a.Finish() {
		s.a.OnResult(r)
	}
	flush()
	close(results)
	<-done
}

// limitNotes says what the limits of the run changed, for stderr and the
// report's summary.
func (s *session) limitNotes() []string {
	if s.a == nil {
		return nil
	}
	var out []string
	if n := s.a.Stats.JudgedEarly; n > 0 {
		out = append(out, fmt.Sprintf("%d connections judged early on what was seen: connection table full (--max-connections %d, --max-handshakes %d)", n, s.cfg.maxConnections, s.cfg.maxHandshakes))
	}
	if n := s.cutConns.Load(); n > 0 {
		out = append(out, fmt.Sprintf("%d connections written to %s without all their packets: at most 4 MiB of each and 64 MiB in all are kept until a verdict", n, s.cfg.writeFailed))
	}
	if n := s.a.BudgetExceeded(); n > 0 {
		out = append(out, fmt.Sprintf("%d connections decoded no further: the %d MiB for buffered handshake bytes was spent (--handshake-budget)", n, s.cfg.handshakeBudget))
	}
	return out
}

// trafficNotes say what of the UDP traffic was not read as QUIC.
func (s *session) trafficNotes() []string {
	if s.a == nil {
		return nil
	}
	var out []string
	if n := s.a.Stats.UDPNotQUIC; n > 0 {
		out = append(out, fmt.Sprintf("%s to or from UDP port 443 or 8443 not read as QUIC: another protocol on the port, or short-header packets of QUIC connections that began before the capture", plural(int(n), "datagram")))
	}
	if s.a.Stats.UDPUnnumbered {
		out = append(out, "more UDP conversations than the udp.stream table holds: QUIC stream numbers past it may differ from Wireshark's")
	}
	return out
}

// countNotes says that --count stopped the run.
func (s *session) countNotes() []string {
	if s.cfg.count == 0 || s.handshakes < s.cfg.count {
		return nil
	}
	note := fmt.Sprintf("stopped early (--count %d): the first %s judged", s.cfg.count, plural(s.handshakes, "handshake"))
	if s.uncounted > 0 {
		note += fmt.Sprintf("; %d more, judged as the run stopped, not shown", s.uncounted)
	}
	return []string{note}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// stopOnSignal stops a live capture on Ctrl-C, SIGTERM or after
// --duration.
func (s *session) stopOnSignal() (cancel func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	quit := make(chan struct{})
	var timeout <-chan time.Time
	if s.cfg.duration > 0 {
		timeout = time.After(s.cfg.duration)
	}
	go func() {
		select {
		case <-sig:
			s.interrupted.Store(true)
			// A second Ctrl-C ends the run at once (a stream whose
			// writer goes on, or a summary too slow to wait for).
			signal.Stop(sig)
		case <-timeout:
		case <-quit:
			return
		}
		s.stop()
	}()
	return func() { signal.Stop(sig); close(quit) }
}

// stop ends the reading of the input.
func (s *session) stop() {
	s.src.Stop()
	if s.live {
		s.in.Close() // a read that waits for packets returns
	}
}

// take writes one result: its packets to --write-failed, and, when the
// filters let it through, to the report.
func (s *session) take(r *flows.Result) {
	if s.failure() != nil {
		return
	}
	if s.cfg.count > 0 && s.handshakes >= s.cfg.count && !(r.Update && s.counted[r.ID()]) {
		// The run stopped at the count: what the rest of the input and
		// the connections still open then made is not the first N.
		if !r.Update {
			s.uncounted++
		}
		return
	}
	var attached *flows.StreamID // its stream in the --write-failed file
	// A failed handshake's packets are written when it is decided; a
	// stall's when its connection ends (its final update), once.
	if s.failedPkts != nil && !r.Outcome.Good() && !(r.Open && r.Outcome == flows.Stalled) {
		if r.PacketsCut {
			s.cutConns.Add(1)
		}
		// Its keys go with it, and only its: the attachment opens
		// decrypted in Wireshark.
		if log := s.a.KeyLog(); log != nil && len(r.Packets) > 0 && r.HS != nil && r.HS.LatestClientHello() != nil {
			// The ClientHello the handshake went on with (after a QUIC Retry,
			// a new one) names the keys.
			if err := s.failedPkts.WriteSecrets(log.LinesFor(r.HS.LatestClientHello().Random)); err != nil {
				s.fail(err)
				return
			}
		}
		for _, p := range r.Packets {
			if err := s.failedPkts.Write(p); err != nil {
				s.fail(err)
				return
			}
		}
		if len(r.Packets) > 0 {
			attached = s.failed.add(r)
		} else {
			s.failed.unkept++
		}
	}
	s.keys.count(r)
	if r.Drops != nil {
		if s.dropConns == nil {
			s.dropConns = map[flows.StreamID]bool{}
		}
		s.dropConns[r.ID()] = true
	}
	if !r.Update {
		s.read++ // the "of N" of the summary, before the filters
	}
	if !s.cfg.keeps(r) {
		return
	}
	if !r.Update {
		s.handshakes++
		if s.cfg.count > 0 {
			if s.counted == nil {
				s.counted = make(map[flows.StreamID]bool, min(s.cfg.count, 1024))
			}
			s.counted[r.ID()] = true
			if s.handshakes == s.cfg.count {
				s.stop()
			}
		}
	}
	if r.Outcome.Problem() {
		s.status = exitProblem
	}
	c := report.Build(r, s.cfg.policies...)
	c.AttachmentStream = attached
	if len(s.inputs) > 1 && r.Input < len(s.inputs) {
		c.File = s.inputs[r.Input] // which of several files the record came from
	}
	err := s.w.Write(c)
	if err == nil && s.asTheyCome() {
		// Live or from a stream: each verdict as soon as it is known.
		err = s.stdout.Flush()
	}
	if err != nil {
		s.fail(err)
	}
}

// report closes the -w and --write-failed files, says the warnings, and
// writes what the format prints at the end; after a write error, nothing.
func (s *session) report() {
	s.closeOutputs()
	if s.failure() != nil {
		return
	}
	s.newLineAfterInterrupt()
	for _, w := range s.warnings {
		fmt.Fprintln(s.stderr, "tlsscope: warning:", w)
	}
	for _, n := range s.limitNotes() {
		fmt.Fprintln(s.stderr, "tlsscope: warning:", n)
	}
	for _, n := range append(append(s.trafficNotes(), s.countNotes()...), s.keys.notes(s.a)...) {
		fmt.Fprintln(s.stderr, "tlsscope:", n)
	}
	if s.cfg.writeFailed != "" && s.failed.conns == 0 {
		line := s.failed.attachment().NotWritten(s.cfg.writeFailed)
		if s.failed.leftEmpty {
			line += " (left empty: " + s.cfg.user + " may not remove it)"
		}
		fmt.Fprintln(s.stderr, "tlsscope:", line)
	}
	for _, err := range s.unreadable {
		fmt.Fprintf(s.stderr, "tlsscope: %v (no packet could be read)\n", err)
	}
	if d := s.drops(); d.Said() {
		line := d.Line()
		switch n := len(s.dropConns); {
		case n == 1:
			line += "; 1 connection open meanwhile carries capture_drops"
		case n > 1:
			line += "; " + plural(n, "connection") + " open meanwhile carry capture_drops"
		}
		fmt.Fprintln(s.stderr, "tlsscope:", line)
	}
	for lt, n := range s.a.Stats.UnsupportedLinkTypes {
		fmt.Fprintf(s.stderr, "tlsscope: warning: %d packets of unsupported link type %s skipped\n", n, lt)
	}
	if s.a.Stats.IPFragments > 0 {
		fmt.Fprintf(s.stderr, "tlsscope: warning: %d IP fragments not reassembled\n", s.a.Stats.IPFragments)
	}
	err := s.w.Close()
	if err == nil {
		err = s.stdout.Flush()
	}
	if err != nil {
		s.fail(err)
	}
}

// newLineAfterInterrupt ends the line the terminal echoed "^C" on, after
// the verdict lines said as they came, so that what follows (the
// warnings, the table) starts on a line of its own.
func (s *session) newLineAfterInterrupt() {
	if !s.interrupted.Load() {
		return
	}
	switch {
	case s.stderrTTY:
		fmt.Fprintln(s.stderr)
	case s.stdoutTTY:
		fmt.Fprintln(s.stdout)
	}
}

func (s *session) closeOutputs() {
	for _, p := range []*capture.PcapngWriter{s.failedPkts, s.all} {
		if p != nil {
			if err := p.Close(); err != nil {
				s.fail(err)
			}
		}
	}
}

// exitStatus says the write error, if any: one line, or none when
// stdout is a pipe that was closed (tlsscope ... | head).
func (s *session) exitStatus() int {
	if err := s.failure(); err != nil {
		if !closedPipe(err) {
			fmt.Fprintln(s.stderr, "tlsscope:", err)
		}
		return exitUsage
	}
	if len(s.unreadable) > 0 {
		return exitUsage
	}
	if s.cfg.exitZero {
		return exitOK
	}
	return s.status
}

// fail ends the run at the first write error: the input is read no
// further, and nothing more is written.
func (s *session) fail(err error) {
	s.mu.Lock()
	first := s.err == nil
	if first {
		s.err = err
	}
	s.mu.Unlock()
	if first && s.src != nil {
		s.stop()
	}
}

func (s *session) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

const stdoutName = "stdout"

// output is stdout or a file written to; its errors name it and end the
// run (session.fail) as they happen, in whichever goroutine writes.
type output struct {
	name string
	w    io.Writer
	c    io.Closer // nil for stdout, which is not closed
	fail func(error)
}

func (o *output) Write(p []byte) (int, error) {
	n, err := o.w.Write(p)
	if err != nil {
		err = o.failed(err)
	}
	return n, err
}

func (o *output) Close() error {
	if o.c == nil {
		return nil
	}
	if err := o.c.Close(); err != nil {
		return o.failed(err)
	}
	return nil
}

func (o *output) failed(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err // "write /dev/full: " says less than our "writing FILE: "
	}
	we := &writeError{o.name, err}
	o.fail(we)
	return we
}

// writeError is a failed write to an output.
type writeError struct {
	name string
	err  error
}

func (e *writeError) Error() string { return "writing " + e.name + ": " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// closedPipe reports whether err is stdout's reader going away.
func closedPipe(err error) bool {
	var we *writeError
	return errors.As(err, &we) && we.name == stdoutName &&
		(errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrClosedPipe))
}

// look is the table's width and whether to colour, for stdout. On a
// terminal the table fits its width; into a pipe or a file it fits
// $COLUMNS when set, else nothing: a file gets every column whole, as
// with --wide. Colour: --color always, or auto on a terminal with
// NO_COLOR unset; --no-color and NO_COLOR win over auto.
func (cfg *config) look(stdout io.Writer) (width int, color bool) {
	width = -1
	if f, ok := stdout.(*os.File); ok && isTerminal(stdout) {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			width = w
		}
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); width < 0 && err == nil && n > 0 {
		width = n
	}
	switch {
	case cfg.color == "always":
		color = true
	case cfg.color == "never" || cfg.noColor || os.Getenv("NO_COLOR") != "":
		color = false
	default:
		color = isTerminal(stdout)
	}
	return width, color
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

// drops is what the capturing side said it dropped: the live kernel's,
// or the capturing tool's as its pcapng files say.
func (s *session) drops() report.Drops {
	if s.a == nil {
		return report.Drops{Live: s.live}
	}
	return report.Drops{Drops: s.a.Stats.Drops, Live: s.live}
}

// dropsRose says on stderr, live, that the kernel dropped packets, at
// most once a second (the end says the total); a file's drops are said
// at the end only.
func (s *session) dropsRose(d capture.Drops) {
	if !s.live || time.Since(s.dropLine) < time.Second {
		return
	}
	s.dropLine = time.Now()
	fmt.Fprintln(s.stderr, "tlsscope:", report.Drops{Drops: d, Live: true}.Line(), "so far")
}
