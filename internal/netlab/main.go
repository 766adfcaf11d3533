// Command netlab makes the captures in testdata/netlab from real TLS
// stacks (OpenSSL, GnuTLS, curl, Python ssl) in three network namespaces,
// client — router — server, with faults made in the router by iptables and
// MTU, each captured at the client's veth and at the server's (issue #14).
//
//	go run ./internal/netlab -out testdata/netlab
//
// It needs root, ip, iptables, ethtool, tcpdump, tshark and the stacks;
// it deletes every namespace it made (tlsl-*), also on failure and on
// Ctrl-C, and the leftovers of an earlier run before it starts.
package main

import (
	_ "embed"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

//go:embed netlab.py
var pyScript []byte

// Tools are the programs the lab runs; missing ones are reported at once.
var Tools = []string{"ip", "iptables", "ethtool", "tcpdump", "tshark", "ss", "openssl", "gnutls-serv", "curl", "python3", "nginx"}

// Run is one scenario's run: where its files are, and what happened.
type Run struct {
	S            *Scenario
	Small, Big   certSet
	RSA, ClientC certSet  // the RSA-2048 server leaf; the client certificate
	Lab          *certLab // the certificate scenarios' PKI (issue #25)
	Python       string   // the interpreter itself (not a pyenv shim)
	Script       string
	Tmp          string   // this run's own directory (configs, the key log as written)
	Keys         string   // the key log the stacks write (KeyLog scenarios), in Tmp
	Faults       []string // iptables rules and MTUs, as set
	Clients      []Result
	ServerCmd    string
	ServerLog    string
	ServerExit   string
	Client, Serv *Summary
	Err          error
	srv          *proc
}

func (r *Run) py(args ...string) []string {
	return append([]string{r.Python, r.Script}, args...)
}

func (r *Run) rule(args ...string) error {
	s, err := iptables(args...)
	r.Faults = append(r.Faults, "router: "+s)
	return err
}

func (r *Run) mtu(ns, dev string, mtu int) error {
	r.Faults = append(r.Faults, fmt.Sprintf("%s: ip link set %s mtu %d", ns, dev, mtu))
	return setMTU(ns, dev, mtu)
}

// server starts the scenario's server in the server namespace and waits
// until it listens.
func (r *Run) server(port int, args ...string) error {
	p, err := start(nsServer, "server", nil, args...)
	if err != nil {
		return err
	}
	r.srv, r.ServerCmd = p, strings.Join(args, " ")
	return waitListen(nsServer, port, p)
}

func (r *Run) client(stdin string, timeout time.Duration, args ...string) {
	r.Clients = append(r.Clients, client(nsClient, stdin, timeout, args...))
}

// Env is what all runs share.
type Env struct {
	Small, Big  certSet
	RSA, Client certSet
	Lab         *certLab
	Tmp         string
	Python      string
	Script      string
	Versions    [][2]string
}

func newEnv(tmp string) (*Env, error) {
	for _, t := range Tools {
		if _, err := exec.LookPath(t); err != nil {
			return nil, fmt.Errorf("%s is missing (apt-get install iproute2 iptables ethtool tcpdump tshark openssl gnutls-bin curl python3 nginx)", t)
		}
	}
	e := &Env{Script: filepath.Join(tmp, "netlab.py"), Tmp: tmp}
	if err := os.WriteFile(e.Script, pyScript, 0o644); err != nil {
		return nil, err
	}
	out, err := run("python3", "-c", "import sys; print(sys.executable)")
	if err != nil {
		return nil, err
	}
	e.Python = strings.TrimSpace(out)
	if e.Small, e.Big, e.RSA, e.Client, err = makeCerts(tmp); err != nil {
		return nil, err
	}
	if e.Lab, err = makeCertLab(tmp, time.Now()); err != nil {
		return nil, err
	}
	e.Versions = append(versions(e.Python), pionVersion())
	return e, nil
}

// versions are the first lines of the stacks' own version reports.
func versions(python string) [][2]string {
	var v [][2]string
	for _, c := range [][]string{
		{"openssl", "openssl", "version"},
		{"gnutls", "gnutls-cli", "--version"},
		{"curl", "curl", "--version"},
		{"python", python, "-c", "import sys, ssl; print('Python', sys.version.split()[0], 'with', ssl.OPENSSL_VERSION)"},
		{"nginx", "sh", "-c", "nginx -v 2>&1"},
		{"chromium", "sh", "-c", "chromium --version 2>/dev/null || echo not installed"},
		{"firefox", "sh", "-c", "firefox-esr --version 2>/dev/null || echo not installed"},
		{"node", "sh", "-c", "echo Node.js $(node --version 2>/dev/null || echo not installed)"},
		{"tcpdump", "tcpdump", "--version"},
		{"tshark", "tshark", "--version"},
		{"kernel", "uname", "-sr"},
	} {
		out, _ := run(c[1], c[2:]...)
		v = append(v, [2]string{c[0], firstLine(out)})
	}
	return v
}

// runScenario builds the lab, runs s in it, captures both sides and
// tears the lab down again.
func runScenario(s *Scenario, e *Env, out string) (r *Run) {
	r = &Run{S: s, Small: e.Small, Big: e.Big, RSA: e.RSA, ClientC: e.Client, Lab: e.Lab, Python: e.Python, Script: e.Script}
	defer teardown()
	defer stopAll()
	if r.Tmp, r.Err = os.MkdirTemp(e.Tmp, s.Name+"-"); r.Err != nil {
		return
	}
	keys := filepath.Join(out, s.Name+".keys")
	if s.KeyLog {
		// The stacks append to a key log: each run starts with none.
		r.Keys = filepath.Join(r.Tmp, s.Name+".keys")
		os.Remove(keys)
	}
	if r.Err = setupLab(); r.Err != nil {
		return
	}
	if r.Err = s.Setup(r); r.Err != nil {
		return
	}
	cfile := filepath.Join(out, s.Name+".client.pcap")
	sfile := filepath.Join(out, s.Name+".server.pcap")
	ccap, err := startCapture(nsClient, vethClient, cfile, s.ClientFilter)
	if err != nil {
		r.Err = err
		return
	}
	scap, err := startCapture(nsServer, vethServer, sfile, s.ServerFilter)
	if err != nil {
		r.Err = err
		return
	}
	s.Traffic(r)
	// Let the last FIN, ACK or retransmission land in both captures.
	time.Sleep(500 * time.Millisecond)
	if err := ccap.stop(); err != nil {
		r.Err = err
	}
	if err := scap.stop(); err != nil {
		r.Err = err
	}
	if r.srv != nil {
		err := r.srv.stop(syscall.SIGTERM)
		r.ServerLog = strings.TrimSpace(r.srv.output())
		r.ServerExit = fmt.Sprint(err)
		if err == nil {
			r.ServerExit = "exit 0"
		}
	}
	if r.Err != nil {
		return
	}
	if s.KeyLog {
		// Copied, never printed: the secrets of this run's throwaway keys.
		b, err := os.ReadFile(r.Keys)
		if err == nil && len(b) == 0 {
			err = fmt.Errorf("the key log %s is empty", filepath.Base(r.Keys))
		}
		if err == nil {
			err = os.WriteFile(keys, b, 0o644)
		}
		if err != nil {
			r.Err = err
			return
		}
	} else {
		keys = ""
	}
	if r.Client, err = summarize(cfile, keys); err != nil {
		r.Err = err
		return
	}
	if r.Serv, err = summarize(sfile, keys); err != nil {
		r.Err = err
	}
	return
}

func main() {
	out := flag.String("out", "testdata/netlab", "where the captures and MANIFEST.md go")
	match := flag.String("run", "", "only the scenarios whose name matches this regexp")
	only := flag.String("only", "", "only these scenarios (comma-separated names); the manifest keeps the others' sections as they are")
	flag.Parse()
	if *only != "" {
		var names []string
		for _, n := range strings.Split(*only, ",") {
			n = strings.TrimSpace(n)
			if scenario(n) == nil {
				fmt.Fprintln(os.Stderr, "netlab: no scenario", n)
				os.Exit(2)
			}
			names = append(names, regexp.QuoteMeta(n))
		}
		if *match != "" {
			fmt.Fprintln(os.Stderr, "netlab: -run and -only exclude each other")
			os.Exit(2)
		}
		*match = "^(" + strings.Join(names, "|") + ")$"
	}
	if err := generate(*out, *match, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "netlab:", err)
		os.Exit(1)
	}
}

// generate runs the scenarios matching only into out and writes the
// manifest; an error names the first scenario that failed.
func generate(out, only string, log *os.File) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("needs root (network namespaces, iptables, capture)")
	}
	re, err := regexp.Compile(only)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "netlab")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	// Ctrl-C or a kill: stop what runs and delete the namespaces first.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		fmt.Fprintln(os.Stderr, "netlab: got", s, "- cleaning up")
		stopAll()
		teardown()
		os.RemoveAll(tmp)
		os.Exit(1)
	}()
	defer signal.Stop(sig)
	defer teardown()

	if err := certScenariosTogether(re); err != nil {
		return err
	}
	e, err := newEnv(tmp)
	if err != nil {
		return err
	}
	if re.MatchString(certScenarios[0].Name) {
		if err := writeLabRoot(e.Lab, out); err != nil {
			return err
		}
	}
	var runs []*Run
	var failed []string
	for i := range Scenarios {
		s := &Scenarios[i]
		if !re.MatchString(s.Name) {
			continue
		}
		fmt.Fprintf(log, "netlab: %s\n", s.Name)
		r := runScenario(s, e, out)
		if r.Err != nil {
			fmt.Fprintf(log, "netlab: %s: %v\n", s.Name, r.Err)
			failed = append(failed, s.Name)
		}
		runs = append(runs, r)
	}
	// The sections of scenarios not run this time stay as they were.
	old, _ := os.ReadFile(filepath.Join(out, "MANIFEST.md"))
	if err := os.WriteFile(filepath.Join(out, "MANIFEST.md"), []byte(manifest(e, runs, string(old))), 0o644); err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("failed: %s", strings.Join(failed, ", "))
	}
	return nil
}

// LabRootFile is the certificate lab's root, written beside the captures
// (committed): the root the certificate scenarios' clients trusted, for
// tlsscope's --ca-file.
const LabRootFile = "lab-root.pem"

// certScenariosTogether: the certificate scenarios share one lab root,
// made afresh by each run, so that a run makes all of them or none.
func certScenariosTogether(re *regexp.Regexp) error {
	var in, out []string
	for _, s := range Scenarios {
		if !strings.HasPrefix(s.Name, "cert-") {
			continue
		}
		if re.MatchString(s.Name) {
			in = append(in, s.Name)
		} else {
			out = append(out, s.Name)
		}
	}
	if len(in) > 0 && len(out) > 0 {
		return fmt.Errorf("the certificate scenarios share one root (%s), made by each run: run all of them (-run '^cert-'), not %s without %s", LabRootFile, strings.Join(in, ", "), strings.Join(out, ", "))
	}
	return nil
}

// writeLabRoot copies the lab's root to out.
func writeLabRoot(l *certLab, out string) error {
	b, err := os.ReadFile(l.Root)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, LabRootFile), b, 0o644)
}

// scenario is the scenario named name, or nil.
func scenario(name string) *Scenario {
	for i := range Scenarios {
		if Scenarios[i].Name == name {
			return &Scenarios[i]
		}
	}
	return nil
}
