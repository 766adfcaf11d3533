package main

import (
	"fmt"
	"strings"
	"syscall"
	"time"
)

// capture is tcpdump on one veth, inside that veth's namespace, writing
// classic pcap with the whole packet (-s 0), each packet flushed (-U) and
// handed over at once (--immediate-mode), as root (-Z root: Debian's
// tcpdump would otherwise drop to a user that cannot write the file).
type capture struct{ p *proc }

// startCapture returns once tcpdump says it is listening: only then is
// the socket bound and no packet of the scenario can be missed.
func startCapture(ns, dev, file, filter string) (*capture, error) {
	args := []string{"tcpdump", "-i", dev, "-s", captureSnap, "-U", "--immediate-mode", "-n", "-Z", "root", "-w", file}
	if filter != "" {
		args = append(args, filter)
	}
	watch := make(chan string, 16)
	p, err := start(ns, "tcpdump "+dev, watch, args...)
	if err != nil {
		return nil, err
	}
	timeout := time.After(5 * time.Second)
	for {
		select {
		case line := <-watch:
			if strings.Contains(line, "listening on") {
				return &capture{p}, nil
			}
		case <-p.done:
			return nil, fmt.Errorf("tcpdump on %s exited: %s", dev, strings.TrimSpace(p.output()))
		case <-timeout:
			p.stop(syscall.SIGKILL)
			return nil, fmt.Errorf("tcpdump on %s did not start: %s", dev, strings.TrimSpace(p.output()))
		}
	}
}

// stop ends the capture with SIGINT, after which tcpdump flushes and
// prints its counts; a kernel drop would be capture loss, so it is an
// error.
func (c *capture) stop() error {
	c.p.stop(syscall.SIGINT)
	out := c.p.output()
	for _, l := range strings.Split(out, "\n") {
		var n int
		if _, err := fmt.Sscanf(strings.TrimSpace(l), "%d packets dropped by kernel", &n); err == nil && n > 0 {
			return fmt.Errorf("%s: %d packets dropped by kernel", c.p.name, n)
		}
	}
	return nil
}
