// Command bench times tlsscope against tshark on load captures made by
// capgen (cached in .cache/bench), checks tlsscope's verdicts against the
// generator's truth, and prints a Markdown table of medians.
//
//	go run ./internal/bench -tlsscope bin/tlsscope
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tlsscope/tlsscope/internal/capgen"
)

type run struct {
	wall time.Duration
	cpu  time.Duration // user + system: steadier than wall time on a shared machine
	rss  int64         // KiB
}

func main() {
	dir := flag.String("dir", ".cache/bench", "where the load captures are kept")
	bin := flag.String("tlsscope", "bin/tlsscope", "tlsscope binary")
	runs := flag.Int("runs", 3, "runs of each tool per capture")
	sizes := flag.String("sizes", "50M,1G", "capture sizes")
	withTShark := flag.Bool("tshark", true, "time tshark too")
	flag.Parse()
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		fail(err)
	}
	tshark, _ := exec.LookPath("tshark")
	if !*withTShark {
		tshark = ""
	}
	fmt.Println("| capture | tool | MB/s | packets/s | connections/s | CPU µs per connection | CPU s | peak RSS (MiB) | median of |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|---:|")
	var ratios []string
	type sizeRSS struct {
		name  string
		mib   float64
		bytes int64
		mbps  float64
	}
	var ourRSS []sizeRSS
	for _, size := range strings.Split(*sizes, ",") {
		path := filepath.Join(*dir, "load-"+strings.ToLower(size)+".pcap")
		truth := ensure(path, size)
		st, err := os.Stat(path)
		if err != nil {
			fail(err)
		}
		packets := countPackets(path)
		checkTruth(*bin, path, truth)
		var ours, theirs []run
		for i := 0; i < *runs; i++ { // alternate, so both see the same page cache
			ours = append(ours, timeIt(*bin, "--format", "json", "--exit-zero", path))
			if tshark != "" {
				theirs = append(theirs, timeIt(tshark, "-n", "-r", path, "-Y", "tls.handshake", "-T", "fields", "-e", "tcp.stream",
					"-e", "tls.handshake.type", "-e", "tls.handshake.extensions_server_name", "-e", "tls.handshake.ciphersuite"))
			}
		}
		mb := float64(st.Size()) / 1e6
		row := func(tool string, rs []run) float64 {
			if len(rs) == 0 {
				return 0
			}
			w, cpu, r := median(rs)
			s := w.Seconds()
			if tool == "tlsscope" {
				ourRSS = append(ourRSS, sizeRSS{filepath.Base(path), float64(r) / 1024, st.Size(), mb / s})
			}
			fmt.Printf("| %s (%.0f MB, %d packets, %d connections) | %s | %.0f | %.0f | %.0f | %.1f | %.2f | %.1f | %d |\n",
				filepath.Base(path), mb, packets, len(truth), tool, mb/s, float64(packets)/s, float64(len(truth))/s,
				float64(cpu.Microseconds())/float64(len(truth)), cpu.Seconds(), float64(r)/1024, len(rs))
			return s
		}
		so := row("tlsscope", ours)
		st2 := row("tshark", theirs)
		if st2 > 0 {
			ratios = append(ratios, fmt.Sprintf("%s: tlsscope is %.1f× as fast as tshark", filepath.Base(path), st2/so))
		}
	}
	fmt.Println()
	for _, r := range ratios {
		fmt.Println(r)
	}
	// The targets: 1 GB/s on the largest capture, peak RSS at most
	// 100 MiB, and at most 1.25 times the smallest capture's.
	if n := len(ourRSS); n > 0 {
		big := ourRSS[n-1]
		fmt.Printf("%s: %.0f MB/s (target 1000), peak RSS %.1f MiB (target 100)", big.name, big.mbps, big.mib)
		if n > 1 {
			fmt.Printf(", %.2f× the peak RSS of %s (target 1.25)", big.mib/ourRSS[0].mib, ourRSS[0].name)
		}
		fmt.Println()
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

// ensure makes the capture once and returns its truth.
func ensure(path, size string) []capgen.Truth {
	truthPath := path + ".truth.json"
	if data, err := os.ReadFile(truthPath); err == nil {
		if _, err := os.Stat(path); err == nil {
			var t []capgen.Truth
			if json.Unmarshal(data, &t) == nil {
				return t
			}
		}
	}
	n := int64(50 << 20)
	if strings.HasSuffix(size, "G") {
		var g int64
		fmt.Sscanf(size, "%dG", &g)
		n = g << 30
	} else {
		var m int64
		fmt.Sscanf(size, "%dM", &m)
		n = m << 20
	}
	fmt.Fprintf(os.Stderr, "bench: writing %s (%s)...\n", path, size)
	f, err := os.Create(path)
	if err != nil {
		fail(err)
	}
	t, err := capgen.WriteLoad(f, capgen.LoadOptions{Bytes: n})
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		fail(err)
	}
	data, _ := json.Marshal(t)
	os.WriteFile(truthPath, data, 0o644)
	return t
}

func countPackets(path string) int {
	f, err := os.Open(path)
	if err != nil {
		fail(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		fail(err)
	}
	n := 0
	for {
		if _, _, err := r.ZeroCopyReadPacketData(); err != nil {
			return n
		}
		n++
	}
}

func timeIt(name string, args ...string) run {
	cmd := exec.Command(name, args...)
	// Straight to /dev/null: a pipe read by this process would take CPU
	// from the tool being timed.
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		fail(err)
	}
	defer devnull.Close()
	cmd.Stdout = devnull
	start := time.Now()
	if err := cmd.Run(); err != nil {
		fail(fmt.Errorf("%s: %v", name, err))
	}
	wall := time.Since(start)
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	var rss int64
	var cpu time.Duration
	if ru != nil {
		rss = ru.Maxrss
		cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return run{wall, cpu, rss}
}

func median(rs []run) (wall, cpu time.Duration, rss int64) {
	w := make([]time.Duration, len(rs))
	c := make([]time.Duration, len(rs))
	r := make([]int64, len(rs))
	for i, x := range rs {
		w[i], c[i], r[i] = x.wall, x.cpu, x.rss
	}
	slices.Sort(w)
	slices.Sort(c)
	slices.Sort(r)
	return w[len(w)/2], c[len(c)/2], r[len(r)/2]
}

// checkTruth runs tlsscope once and compares every verdict and version
// with what the generator knows.
func checkTruth(bin, path string, truth []capgen.Truth) {
	// Stream the output: the bench must stay small, since a child's peak
	// RSS on Linux starts from the parent's at fork.
	cmd := exec.Command(bin, "--format", "json", "--exit-zero", path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		fail(err)
	}
	if err := cmd.Start(); err != nil {
		fail(err)
	}
	got := map[int][2]string{}
	dec := json.NewDecoder(stdout)
	for dec.More() {
		var c struct {
			Stream  int    `json:"stream"`
			Outcome string `json:"outcome"`
			Version string `json:"version"`
		}
		if err := dec.Decode(&c); err != nil {
			fail(err)
		}
		got[c.Stream] = [2]string{c.Outcome, c.Version}
	}
	if err := cmd.Wait(); err != nil {
		fail(err)
	}
	wrong := 0
	for _, t := range truth {
		if g := got[t.Stream]; g[0] != t.Outcome || g[1] != t.Version {
			if wrong++; wrong <= 5 {
				fmt.Fprintf(os.Stderr, "bench: stream %d (%s): %s %q, truth %s %q\n", t.Stream, t.Kind, g[0], g[1], t.Outcome, t.Version)
			}
		}
	}
	fmt.Fprintf(os.Stderr, "bench: %s: %d of %d verdicts and versions match the truth\n", filepath.Base(path), len(truth)-wrong, len(truth))
	if wrong > 0 {
		os.Exit(1)
	}
}
