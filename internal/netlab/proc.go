package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a program started in a namespace in the background: a server or
// a capture. `ip netns exec` execs the program itself, so its pid is the
// program's and a signal reaches it.
type proc struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer // stdout and stderr together
	done chan struct{}
	err  error
}

// lockedWriter lets the copy goroutines append while stop reads.
type lockedWriter struct{ p *proc }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.out.Write(b)
}

// running holds every proc not yet stopped, so that a signal or a failure
// can stop them all before the namespaces are deleted.
var (
	runningMu sync.Mutex
	running   = map[*proc]bool{}
)

// start starts args in ns; lines of its output are also sent to watch
// (if not nil) until it is closed by the caller.
func start(ns, name string, watch chan<- string, args ...string) (*proc, error) {
	return startIn(ns, name, nil, watch, args...)
}

// startIn is start with a standard input (nil: none).
func startIn(ns, name string, stdin *os.File, watch chan<- string, args ...string) (*proc, error) {
	p := &proc{name: name, done: make(chan struct{})}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
	if stdin != nil {
		p.cmd.Stdin = stdin
	}
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	runningMu.Lock()
	running[p] = true
	runningMu.Unlock()
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lockedWriter{p}.Write(append(sc.Bytes(), '\n'))
			if watch != nil {
				select {
				case watch <- sc.Text():
				default:
				}
			}
		}
		io.Copy(io.Discard, pr)
	}()
	go func() {
		p.err = p.cmd.Wait()
		pw.Close()
		close(p.done)
	}()
	return p, nil
}

// output is what the program printed so far.
func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// stop sends sig, waits up to two seconds, then kills the process group.
func (p *proc) stop(sig syscall.Signal) error {
	runningMu.Lock()
	delete(running, p)
	runningMu.Unlock()
	select {
	case <-p.done:
		return p.err
	default:
	}
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(2 * time.Second):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	return p.err
}

// stopAll stops what is still running (on a signal or a failure).
func stopAll() {
	runningMu.Lock()
	var ps []*proc
	for p := range running {
		ps = append(ps, p)
	}
	runningMu.Unlock()
	for _, p := range ps {
		p.stop(syscall.SIGKILL)
	}
}

// waitListen polls ss in ns until something listens on the TCP port.
func waitListen(ns string, port int, p *proc) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		out, _ := in(ns, "ss", "-Hltn", fmt.Sprintf("sport = :%d", port))
		if strings.TrimSpace(out) != "" {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before listening: %s", p.name, strings.TrimSpace(p.output()))
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s does not listen on %d after 10 s: %s", p.name, port, strings.TrimSpace(p.output()))
}

// Result is how a client (or a server) ended, for the manifest.
type Result struct {
	Cmd    string
	Exit   int    // -1: killed by the timeout
	Stdout string // the first line
	Stderr string // the last line that says something
	// Said are the lines, from either output, in which the client gives
	// its own reason for refusing a certificate or what it made of an
	// OCSP staple: the evidence kept beside a capture (issue #25).
	Said []string
}

// saidPrefixes start the lines of Result.Said: OpenSSL s_client's verify
// error, return code and OCSP lines, curl's error, gnutls-cli's status
// and fatal error, Chromium's page load and handshake errors, and what
// netlab.py reads of Firefox's page (its error code).
var saidPrefixes = []string{"verify error:", "Verify return code:", "OCSP response:", "Cert Status:", "Revocation Reason:", "Next Update:",
	"curl: (", "- Status:", "*** Fatal error", "|<1>|", "Page load failed:", "handshake failed;", "firefox:", "node:"}

// said picks the lines of out that start with one of saidPrefixes, each
// once, at most eight.
func said(outs ...string) []string {
	var lines []string
	seen := map[string]bool{}
	for _, out := range outs {
		for _, l := range strings.Split(out, "\n") {
			l = strings.TrimSpace(l)
			// Chromium's log lines: "[pid:tid:time:ERROR:file.cc:N] what".
			if i := strings.Index(l, "] "); strings.HasPrefix(l, "[") && i > 0 && strings.Contains(l[:i], ":ERROR:") {
				l = l[i+2:]
			}
			if l == "OCSP response:" {
				continue // the response's lines follow
			}
			for _, p := range saidPrefixes {
				if strings.HasPrefix(l, p) && !seen[l] && len(lines) < 8 {
					seen[l] = true
					lines = append(lines, l)
				}
			}
		}
	}
	// s_client prints its session's "Verify return code: 0 (ok)" even
	// after a verify error ended the handshake: not the client's verdict.
	if slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "verify error:") }) {
		lines = slices.DeleteFunc(lines, func(l string) bool { return l == "Verify return code: 0 (ok)" })
	}
	return lines
}

// client runs a client in ns to its end, with stdin and a hard timeout
// above the client's own.
func client(ns, stdin string, timeout time.Duration, args ...string) Result {
	return clientIn(ns, strings.NewReader(stdin), timeout, args...)
}

// clientIn is client with any standard input.
func clientIn(ns string, stdin io.Reader, timeout time.Duration, args ...string) Result {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns}, args...)...)
	cmd.Stdin = stdin // a slowStdin's gaps bound how long Run waits for its copy
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := Result{Cmd: strings.Join(args, " "), Stdout: firstLine(out.String()), Stderr: lastLine(errb.String()), Said: said(errb.String(), out.String())}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		r.Exit = -1
	case errors.As(err, &ee):
		r.Exit = ee.ExitCode()
	case err != nil:
		r.Exit, r.Stderr = -2, err.Error()
	}
	return r
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

// lastLine skips OpenSSL's and curl's trailing noise lines so that the
// line kept says what went wrong.
func lastLine(s string) string {
	lines := strings.Split(s, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "---") || l == "DONE" || strings.HasPrefix(l, "depth=") || strings.HasPrefix(l, "verify ") {
			continue
		}
		return l
	}
	return ""
}

// slowStdin hands over its parts one read at a time, each after gap, and
// its end (EOF) tail after the last: what a person typing would do, so
// that a program that reads its standard input line by line (s_client's
// commands) sees each part alone, and does not close before the answer.
type slowStdin struct {
	parts     []string
	gap, tail time.Duration
	done      bool
}

func (s *slowStdin) Read(b []byte) (int, error) {
	if s.done {
		return 0, io.EOF
	}
	if len(s.parts) == 0 {
		time.Sleep(s.tail)
		s.done = true
		return 0, io.EOF
	}
	time.Sleep(s.gap)
	n := copy(b, s.parts[0])
	if n < len(s.parts[0]) {
		s.parts[0] = s.parts[0][n:]
	} else {
		s.parts = s.parts[1:]
	}
	return n, nil
}
