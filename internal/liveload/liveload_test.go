//go:build livelab

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	if runRole() {
		return
	}
	os.Exit(m.Run())
}

// checkDropsSaid turns on the checks of what tlsscope says it dropped
// (issue #24: a JSON Lines record "type":"drops" with received, kernel
// and interface counts, the finding capture_drops on a connection open
// while drops rose, the count on standard error); off, only the outcomes
// are compared.
const checkDropsSaid = true

// TestLiveLoad makes real crypto/tls traffic, replays it across a veth at
// its own timing and at top speed while tlsscope -i sniffs the other
// side, and compares each connection's outcome with tlsscope's offline
// run of the same file (issue #24). As root; without root or the tools it
// skips, unless CI=true.
func TestLiveLoad(t *testing.T) {
	need := func(why string) {
		if os.Getenv("CI") == "true" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	if os.Geteuid() != 0 {
		need("needs root (network namespaces, capture)")
	}
	for _, tool := range []string{"ip", "ethtool", "tcpdump", "tcpreplay"} {
		if _, err := exec.LookPath(tool); err != nil {
			need(tool + " is missing: apt-get install iproute2 ethtool tcpdump tcpreplay")
		}
	}
	dir := t.TempDir()
	// LIVELOAD_TLSSCOPE tests another build (an older one, to see it fail).
	bin := os.Getenv("LIVELOAD_TLSSCOPE")
	if bin == "" {
		bin = filepath.Join(dir, "tlsscope")
		if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/tlsscope").CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	file := filepath.Join(dir, "traffic.pcap")
	if err := generate(file, defaultConns, os.Stderr); err != nil {
		t.Fatal(err)
	}
	ref, err := offline(bin, file)
	if err != nil {
		t.Fatal(err)
	}
	// The mix is what the generator makes, or the comparison is of little.
	count := map[string]int{}
	for _, c := range ref.Conns {
		count[c.Outcome]++
	}
	if count["complete"] < defaultConns*3/4 || count["resumed"] == 0 || count["failed"] == 0 || count["reset"] == 0 {
		t.Fatalf("offline outcomes %v: not the traffic made", count)
	}
	for _, rate := range []struct {
		top  bool
		want float64
	}{{false, 0.995}, {true, 0.95}} {
		t.Run(rateName(rate.top), func(t *testing.T) {
			r, err := replay(sniffer{Name: "tlsscope", TLSScope: bin, Live: true}, file, rate.top, ref, dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d/%d equal (%.1f%%), %d packets in %.2f s, backlog drops %d, load %s", r.Equal, r.Compared, 100*r.ratio(), r.Sent, r.Seconds, r.Backlog, r.Load)
			if r.Compared < len(ref.Conns)*99/100 {
				t.Errorf("%d of %d connections compared: too many cut", r.Compared, len(ref.Conns))
			}
			if r.ratio() < rate.want {
				t.Errorf("%.1f%% of outcomes equal to the offline run's, want %.1f%%; first of the others:\n%s",
					100*r.ratio(), 100*rate.want, strings.Join(first(r.Unequal, 20), "\n"))
			}
			if checkDropsSaid {
				dropsSaid(t, r, ref)
			}
		})
	}
}

// dropsSaid checks what tlsscope said it dropped against the replay: the
// socket saw every packet sent but those the receiving CPU's backlog
// dropped, a drop said on standard error is the record's, and a connection
// judged otherwise than offline carries capture_drops.
func dropsSaid(t *testing.T, r result, ref output) {
	d := r.Live.Drops
	if !d.Seen {
		t.Fatal(`no "type":"drops" record in the JSON Lines`)
	}
	if d.Received+d.Kernel > uint64(r.Sent) || d.Received+d.Kernel+r.Backlog < uint64(r.Sent) {
		t.Errorf("the kernel counted %d packets received and %d dropped, tcpreplay sent %d (%d dropped by the backlog, before any socket)", d.Received, d.Kernel, r.Sent, r.Backlog)
	}
	if d.Kernel > 0 {
		m := dropsLine.FindStringSubmatch(r.Stderr)
		if m == nil {
			t.Errorf("%d drops in the record, none said on standard error:\n%s", d.Kernel, r.Stderr)
		} else if n, _ := strconv.ParseUint(strings.ReplaceAll(m[1], ",", ""), 10, 64); n != d.Kernel {
			t.Errorf("standard error says %d packets dropped, the record %d", n, d.Kernel)
		}
	}
	for k, want := range ref.Conns {
		got, ok := r.Live.Conns[k]
		if want.Open || (ok && got.Outcome == want.Outcome) {
			continue
		}
		if !ok {
			// Not one packet of it seen: there is nothing to carry a finding.
			if d.Kernel == 0 && r.Backlog == 0 {
				t.Errorf("%s: absent live, and no drop said", k)
			}
			continue
		}
		has := false
		for _, f := range got.Findings {
			has = has || f == "capture_drops"
		}
		if !has {
			t.Errorf("%s: offline %s, live %s without capture_drops", k, want.Outcome, got.Outcome)
		}
	}
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
