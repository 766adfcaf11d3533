package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Four namespaces, two pairs joined by a veth each: the generator's
// (client and server stacks, captured with tcpdump) and the replay's
// (tcpreplay on one side, the sniffer on the other, neither with an
// address, so that no stack answers the replayed packets). The names are
// tlslive-*, apart from netlab's tlsl-* and live_test.go's tlss-*.
const (
	nsGenServer = "tlslive-gs"
	nsGenClient = "tlslive-gc"
	nsReplayTx  = "tlslive-tx"
	nsReplayRx  = "tlslive-rx"

	vethGenServer = "llgs"
	vethGenClient = "llgc"
	vethTx        = "lltx"
	vethRx        = "llrx"

	genServerAddr = "10.97.0.1"
	genClientAddr = "10.97.0.2"
)

// run runs a command and returns its standard output; a failure carries
// its standard error.
func run(name string, args ...string) (string, error) {
	var out, errb bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(errb.String()+out.String()))
	}
	return out.String(), nil
}

func in(ns string, args ...string) (string, error) {
	return run("ip", append([]string{"netns", "exec", ns}, args...)...)
}

// pair makes two namespaces joined by a veth, IPv6 off (no router
// solicitations among the replayed packets), offloads off (the captured
// packets are the size they were on the wire, so they can be replayed),
// and addresses if given.
func pair(nsA, devA, addrA, nsB, devB, addrB string) error {
	unpair(nsA, nsB)
	steps := [][]string{
		{"ip", "netns", "add", nsA},
		{"ip", "netns", "add", nsB},
		{"ip", "netns", "exec", nsA, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"},
		{"ip", "netns", "exec", nsB, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"},
		// Made inside the first namespace, so nothing of the host's is touched.
		{"ip", "-n", nsA, "link", "add", devA, "type", "veth", "peer", "name", devB, "netns", nsB},
		{"ip", "netns", "exec", nsA, "ethtool", "-K", devA, "tso", "off", "gso", "off", "gro", "off", "tx", "off", "rx", "off"},
		{"ip", "netns", "exec", nsB, "ethtool", "-K", devB, "tso", "off", "gso", "off", "gro", "off", "tx", "off", "rx", "off"},
	}
	if addrA != "" {
		steps = append(steps, []string{"ip", "-n", nsA, "addr", "add", addrA + "/24", "dev", devA})
		steps = append(steps, []string{"ip", "-n", nsB, "addr", "add", addrB + "/24", "dev", devB})
	}
	steps = append(steps,
		[]string{"ip", "-n", nsA, "link", "set", devA, "up"},
		[]string{"ip", "-n", nsB, "link", "set", devB, "up"},
		[]string{"ip", "-n", nsA, "link", "set", "lo", "up"},
		[]string{"ip", "-n", nsB, "link", "set", "lo", "up"})
	for _, s := range steps {
		if _, err := run(s[0], s[1:]...); err != nil {
			unpair(nsA, nsB)
			return err
		}
	}
	return nil
}

func unpair(nss ...string) {
	for _, ns := range nss {
		exec.Command("ip", "netns", "del", ns).Run()
	}
}

// proc is a long-running command inside a namespace whose output is
// collected, and watched line by line for a word that says it is ready.
type proc struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer // standard error, or both when stdout is not a file
	done chan struct{}
}

// start runs args in ns with standard output to stdout (nil: collected
// with standard error) and returns once a line of its standard error or
// output contains ready ("" : at once).
func start(ns string, stdout io.Writer, env []string, ready string, args ...string) (*proc, error) {
	p := &proc{name: args[0], done: make(chan struct{})}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
	p.cmd.Env = append(os.Environ(), env...)
	pr, pw := io.Pipe()
	p.cmd.Stderr = pw
	if stdout != nil {
		p.cmd.Stdout = stdout
	} else {
		p.cmd.Stdout = pw
	}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case lines <- sc.Text():
			default:
			}
		}
		close(lines)
	}()
	go func() { p.cmd.Wait(); pw.Close(); close(p.done) }()
	if ready == "" {
		return p, nil
	}
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				<-p.done
				return nil, fmt.Errorf("%s exited before it was ready: %s", p.name, p.output())
			}
			if strings.Contains(l, ready) {
				go func() {
					for range lines {
					}
				}()
				return p, nil
			}
		case <-timeout:
			p.stop(syscall.SIGKILL)
			return nil, fmt.Errorf("%s was not ready in 20 s: %s", p.name, p.output())
		}
	}
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// stop signals the process (ip netns exec passes the signal on by
// exec'ing it) and waits up to 30 s for it to end.
func (p *proc) stop(sig syscall.Signal) {
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}
