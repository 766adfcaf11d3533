package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// conn is what the comparison needs of one connection of tlsscope's JSON.
type conn struct {
	Transport string   `json:"transport"`
	Client    string   `json:"client"`
	Server    string   `json:"server"`
	Outcome   string   `json:"outcome"`
	Open      bool     `json:"open"`
	Findings  []string `json:"-"` // codes
}

// drops is tlsscope's JSON Lines record of what the capture lost
// ("type":"drops"), when it writes one.
type drops struct {
	Received, Kernel, Interface uint64
	Seen                        bool
}

// output is what tlsscope printed in JSON Lines.
type output struct {
	Conns map[string]conn // by client and server address
	Drops drops
}

func connKey(c conn) string { return c.Transport + " " + c.Client + " " + c.Server }

func parseJSON(b []byte) (output, error) {
	out := output{Conns: map[string]conn{}}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return out, fmt.Errorf("not JSON: %q", clip(sc.Text()))
		}
		if m["type"] == "drops" {
			num := func(k string) uint64 { f, _ := m[k].(float64); return uint64(f) }
			out.Drops = drops{Received: num("received"), Kernel: num("kernel"), Interface: num("interface"), Seen: true}
			continue
		}
		var c conn
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil || c.Outcome == "" {
			continue
		}
		if fs, ok := m["findings"].([]any); ok {
			for _, f := range fs {
				if f, ok := f.(map[string]any); ok {
					code, _ := f["code"].(string)
					c.Findings = append(c.Findings, code)
				}
			}
		}
		out.Conns[connKey(c)] = c
	}
	return out, sc.Err()
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// offline is tlsscope's judgement of the file itself, with the same stall
// timeout as the live runs.
func offline(tlsscope, file string) (output, error) {
	cmd := exec.Command(tlsscope, "--format", "json", "--stall-timeout", stallTimeout, file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	// Exit status 1 says a handshake failed: the traffic has such.
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
		err = nil
	}
	if err != nil {
		return output{}, fmt.Errorf("%s %s: %v: %s", tlsscope, file, err, stderr.String())
	}
	return parseJSON(b)
}

// The stall timeout of both runs: long, so that time compressed by the
// replay decides nothing.
const stallTimeout = "1h"

// A sniffer is a program that captures the replay on the receiving veth.
type sniffer struct {
	Name     string
	TLSScope string   // the tlsscope binary that judges (live, or offline on what tcpdump wrote)
	Tcpdump  []string // tcpdump's extra flags; nil: tlsscope -i itself
	Live     bool     // tlsscope -i
	Args     []string // more flags for tlsscope -i
}

// result is one replay seen by one sniffer.
type result struct {
	Sent     int     // packets tcpreplay sent
	Seconds  float64 // the replay's duration
	Received uint64  // the socket's count, drops included (tcpdump's "received by filter"), when said
	Dropped  uint64  // the kernel's drops, when said (tcpdump; tlsscope's drops record)
	Said     bool    // a drop count was said
	Backlog  uint64  // drops of the receiving CPUs' backlog during the replay (all namespaces)
	Compared int     // connections compared
	Equal    int     // of those, with the offline outcome
	Load     string  // uptime's load averages before the run
	Live     output  // what the sniffer's tlsscope said
	Stderr   string  // what the sniffer said on standard error
	Unequal  []string
}

func (r result) ratio() float64 {
	if r.Compared == 0 {
		return 0
	}
	return float64(r.Equal) / float64(r.Compared)
}

// replay sends file from the other namespace with tcpreplay -K (preloaded
// into memory), at its own timing or at top speed, while s captures.
func replay(s sniffer, file string, topSpeed bool, ref output, tmp string) (result, error) {
	var r result
	if err := pair(nsReplayTx, vethTx, "", nsReplayRx, vethRx, ""); err != nil {
		return r, err
	}
	defer unpair(nsReplayTx, nsReplayRx)
	load, _ := os.ReadFile("/proc/loadavg")
	r.Load = strings.Join(strings.Fields(string(load))[:3], " ")

	var p *proc
	var err error
	liveOut := filepath.Join(tmp, "live.jsonl")
	dumpFile := filepath.Join(tmp, "sniffed.pcap")
	stdout, err := os.Create(liveOut)
	if err != nil {
		return r, err
	}
	defer stdout.Close()
	if s.Live {
		args := append([]string{s.TLSScope, "-i", vethRx, "--format", "json", "--stall-timeout", stallTimeout}, s.Args...)
		p, err = start(nsReplayRx, stdout, nil, "capturing on", args...)
	} else {
		args := append([]string{"tcpdump", "-i", vethRx, "-s", "0", "-n", "-Z", "root", "-w", dumpFile}, s.Tcpdump...)
		p, err = start(nsReplayRx, nil, nil, "listening on", args...)
	}
	if err != nil {
		return r, err
	}
	backlog0 := backlogDrops()
	args := []string{"tcpreplay", "-K", "-i", vethTx}
	if topSpeed {
		args = append(args, "--topspeed")
	}
	out, rerr := in(nsReplayTx, append(args, file)...)
	// What is in the kernel's ring is read before the sniffer stops (the
	// block timeout is well under this).
	time.Sleep(time.Second)
	r.Backlog = backlogDrops() - backlog0
	p.stop(syscall.SIGINT)
	if rerr != nil {
		return r, rerr
	}
	if m := regexp.MustCompile(`Successful packets:\s+(\d+)`).FindStringSubmatch(out); m != nil {
		r.Sent, _ = strconv.Atoi(m[1])
	} else {
		return r, fmt.Errorf("tcpreplay said no count: %s", out)
	}
	if m := regexp.MustCompile(`Actual: \d+ packets \(\d+ bytes\) sent in ([0-9.]+) seconds`).FindStringSubmatch(out); m != nil {
		r.Seconds, _ = strconv.ParseFloat(m[1], 64)
	}
	r.Stderr = p.output()
	if s.Live {
		b, err := os.ReadFile(liveOut)
		if err != nil {
			return r, err
		}
		if r.Live, err = parseJSON(b); err != nil {
			return r, err
		}
		if d := r.Live.Drops; d.Seen {
			r.Received, r.Dropped, r.Said = d.Received+d.Kernel, d.Kernel, true // tlsscope says what reached it
		} else if m := dropsLine.FindStringSubmatch(r.Stderr); m != nil {
			r.Dropped, _ = strconv.ParseUint(strings.ReplaceAll(m[1], ",", ""), 10, 64)
			r.Said = true
		}
	} else {
		c := tcpdumpCounts(p.output())
		r.Received, r.Dropped, r.Said = c.received, c.dropped, c.said
		if r.Live, err = offline(s.TLSScope, dumpFile); err != nil {
			return r, err
		}
	}
	for k, want := range ref.Conns {
		if want.Open {
			continue // cut at the replay's end
		}
		r.Compared++
		got, ok := r.Live.Conns[k]
		if ok && got.Outcome == want.Outcome {
			r.Equal++
			continue
		}
		if len(r.Unequal) < 10000 {
			r.Unequal = append(r.Unequal, fmt.Sprintf("%s: offline %s, live %s (findings %v)", k, want.Outcome, orNone(got.Outcome), got.Findings))
		}
	}
	return r, nil
}

// dropsLine is what tlsscope says on standard error of the kernel's drops.
var dropsLine = regexp.MustCompile(`([\d,]+) packets dropped by the kernel`)

func orNone(s string) string {
	if s == "" {
		return "absent"
	}
	return s
}

type tcpdumpCount struct {
	received, dropped uint64
	said              bool
}

func (c tcpdumpCount) String() string {
	return fmt.Sprintf("%d received by filter, %d dropped by kernel", c.received, c.dropped)
}

// tcpdumpCounts reads the counts tcpdump prints when it stops.
func tcpdumpCounts(out string) tcpdumpCount {
	var c tcpdumpCount
	for _, l := range strings.Split(out, "\n") {
		var n uint64
		l = strings.TrimSpace(l)
		if _, err := fmt.Sscanf(l, "%d packets received by filter", &n); err == nil {
			c.received = n
		}
		if _, err := fmt.Sscanf(l, "%d packets dropped by kernel", &n); err == nil {
			c.dropped, c.said = n, true
		}
	}
	return c
}

// backlogDrops sums the drops of every CPU's input backlog
// (/proc/net/softnet_stat, second column): a veth hands its packets to
// the peer there, and a packet dropped there never reaches a socket, so
// no capture can count it.
func backlogDrops() uint64 {
	b, err := os.ReadFile("/proc/net/softnet_stat")
	if err != nil {
		return 0
	}
	var n uint64
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 1 {
			v, _ := strconv.ParseUint(f[1], 16, 64)
			n += v
		}
	}
	return n
}
