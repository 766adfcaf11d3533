// Command hostile runs tlsscope on the hostile captures of
// capgen.WriteHostile (made once into .cache/hostile), in every output
// format, under a memory limit and a wall-clock timeout, and prints a
// Markdown table of peak RSS, CPU, exit status and verdict counts against
// the generator's truth, then the targets as met or not met.
//
//	go run ./internal/bench/hostile -tlsscope bin/tlsscope [-cases synflood,stalls] [-formats json,table] [-scale 0.1]
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/tlsscope/tlsscope/internal/capgen"
)

// The targets.
const (
	targetRSS      = 256 << 20
	targetFloodCPU = 15 * time.Second
	targetStallCPU = 10 * time.Second
)

type result struct {
	hc      capgen.HostileCase
	format  string
	rss     int64 // bytes
	cpu     time.Duration
	wall    time.Duration
	exit    string
	stderr  string // first line
	warned  bool   // said something on stderr or exited 2
	checked bool   // verdicts counted (json)
	ok      int
	wrong   int
	detail  string
}

func main() {
	bin := flag.String("tlsscope", "bin/tlsscope", "tlsscope binary")
	dir := flag.String("dir", ".cache/hostile", "where the captures are kept")
	casesFlag := flag.String("cases", "all", "cases to run, comma-separated")
	formatsFlag := flag.String("formats", "json,csv,table,markdown", "output formats to run")
	scale := flag.Float64("scale", 1, "capture size factor (1: the sizes of the issue)")
	timeout := flag.Duration("timeout", 10*time.Minute, "wall-clock limit per run")
	limit := flag.Int64("limit", 4<<30, "address-space limit per run, bytes (prlimit --as)")
	gen := flag.String("gen", "", "internal: write this case and exit")
	flag.Parse()
	if *gen != "" {
		// Generation runs in a child process: this process stays small,
		// since a child's peak RSS on Linux starts from its parent's.
		if _, err := capgen.WriteHostileFile(*dir, *gen, *scale); err != nil {
			fail(err)
		}
		return
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		fail(err)
	}
	var cases []capgen.HostileCase
	for _, c := range capgen.HostileCases() {
		if *casesFlag == "all" || contains(*casesFlag, c.Name) {
			cases = append(cases, c)
		}
	}
	if len(cases) == 0 {
		fail(fmt.Errorf("no case matches %q", *casesFlag))
	}
	formats := strings.Split(*formatsFlag, ",")
	prlimit, _ := exec.LookPath("prlimit")
	begin := time.Now()
	fmt.Printf("tlsscope %s, scale %g, limit %d MiB address space, timeout %s per run\n\n", *bin, *scale, *limit>>20, *timeout)
	fmt.Println("| case | format | peak RSS MiB | CPU s | CPU µs per connection | wall s | exit | verdict counts (ok / wrong) | stderr's first line |")
	fmt.Println("|---|---|---:|---:|---:|---:|---|---|---|")
	var results []result
	truths := map[string]capgen.HostileTruth{}
	for _, hc := range cases {
		path := filepath.Join(*dir, hc.File)
		t, err := ensure(path, hc, *dir, *scale)
		if err != nil {
			fail(err)
		}
		truths[hc.Name] = t
		for _, f := range formats {
			r := runOne(prlimit, *bin, f, path, *timeout, *limit, t)
			r.hc = hc
			results = append(results, r)
			counts := "–"
			if r.checked {
				counts = fmt.Sprintf("%d / %d", r.ok, r.wrong)
				if r.detail != "" {
					counts += " (" + r.detail + ")"
				}
			}
			perConn := "–"
			if t.Conns > 0 {
				perConn = fmt.Sprintf("%.1f", float64(r.cpu.Microseconds())/float64(t.Conns))
			}
			fmt.Printf("| %s | %s | %.0f | %.1f | %s | %.1f | %s | %s | %s |\n", hc.Name, f, float64(r.rss)/(1<<20), r.cpu.Seconds(),
				perConn, r.wall.Seconds(), r.exit, counts, mdEscape(r.stderr))
		}
	}
	fmt.Println()
	fmt.Println("Targets:")
	check := func(what string, met bool, note string) {
		s := "met"
		if !met {
			s = "NOT MET"
		}
		fmt.Printf("- %s: %s%s\n", what, s, note)
	}
	var over []string
	for _, r := range results {
		if r.rss > targetRSS || strings.HasPrefix(r.exit, "killed") || strings.Contains(r.exit, "out of memory") {
			over = append(over, fmt.Sprintf("%s/%s %.0f MiB", r.hc.Name, r.format, float64(r.rss)/(1<<20)))
		}
	}
	check("peak RSS ≤ 256 MiB on every case and format", len(over) == 0, list(over))
	for _, c := range []struct {
		name string
		max  time.Duration
	}{{"synflood", targetFloodCPU}, {"stalls", targetStallCPU}} {
		var slow []string
		seen := false
		for _, r := range results {
			if r.hc.Name == c.name {
				seen = true
				if r.cpu > c.max || !strings.HasPrefix(r.exit, "exit") {
					slow = append(slow, fmt.Sprintf("%s %.1f s", r.format, r.cpu.Seconds()))
				}
			}
		}
		if seen {
			check(fmt.Sprintf("%s ≤ %.0f s CPU", c.name, c.max.Seconds()), len(slow) == 0, list(slow))
		}
	}
	var wrong []string
	counted := false
	for _, r := range results {
		if r.checked {
			counted = true
			if r.wrong > 0 {
				wrong = append(wrong, fmt.Sprintf("%s: %d wrong", r.hc.Name, r.wrong))
			}
		}
	}
	if counted {
		check("verdict counts equal the generator's truth (json)", len(wrong) == 0, list(wrong))
	}
	var silent []string
	for _, r := range results {
		if truths[r.hc.Name].Warn && !r.warned {
			silent = append(silent, r.hc.Name+"/"+r.format)
		}
	}
	fmt.Println("\nAlso (not one of the issue's targets):")
	check("malformed or degenerate captures (truth warn) are reported on stderr or by exit 2", len(silent) == 0, list(silent))
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Printf("\nHarness: %.0f s in all; its own peak RSS %.0f MiB (a floor under each child's figure).\n",
		time.Since(begin).Seconds(), float64(ru.Maxrss)/1024)
	if *scale != 1 {
		fmt.Printf("Scale %g: the targets are for scale 1.\n", *scale)
	}
}

func list(s []string) string {
	if len(s) == 0 {
		return ""
	}
	if len(s) > 8 {
		s = append(s[:8:8], fmt.Sprintf("and %d more", len(s)-8))
	}
	return " (" + strings.Join(s, ", ") + ")"
}

func contains(csv, name string) bool {
	for _, s := range strings.Split(csv, ",") {
		if strings.TrimSpace(s) == name {
			return true
		}
	}
	return false
}

func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench-hostile:", err)
	os.Exit(1)
}

// ensure makes the capture once (in a child process) and returns its
// truth; a capture made at another scale, or by a generator that describes
// the case otherwise (its parameters changed), is made again.
func ensure(path string, hc capgen.HostileCase, dir string, scale float64) (capgen.HostileTruth, error) {
	name := hc.Name
	var t capgen.HostileTruth
	if data, err := os.ReadFile(path + ".truth.json"); err == nil && json.Unmarshal(data, &t) == nil && t.Scale == scale && t.Doc == hc.Doc {
		if st, err := os.Stat(path); err == nil && st.Size() == t.Bytes {
			return t, nil
		}
	}
	self, err := os.Executable()
	if err != nil {
		return t, err
	}
	start := time.Now()
	fmt.Fprintf(os.Stderr, "bench-hostile: writing %s (scale %g)...\n", path, scale)
	cmd := exec.Command(self, "-gen", name, "-dir", dir, "-scale", fmt.Sprint(scale))
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return t, fmt.Errorf("writing %s: %v", path, err)
	}
	data, err := os.ReadFile(path + ".truth.json")
	if err != nil {
		return t, err
	}
	if err := json.Unmarshal(data, &t); err != nil {
		return t, err
	}
	fmt.Fprintf(os.Stderr, "bench-hostile: %s: %.1f MB in %.1f s\n", path, float64(t.Bytes)/1e6, time.Since(start).Seconds())
	return t, nil
}

// headWriter keeps the first bytes written to it.
type headWriter struct {
	buf bytes.Buffer
	n   int64
}

func (h *headWriter) Write(p []byte) (int, error) {
	if room := 64<<10 - h.buf.Len(); room > 0 {
		h.buf.Write(p[:min(len(p), room)])
	}
	h.n += int64(len(p))
	return len(p), nil
}

// runOne runs tlsscope once under the limits; json output is read and
// its outcomes counted, other formats go to /dev/null.
func runOne(prlimit, bin, format, path string, timeout time.Duration, limit int64, truth capgen.HostileTruth) result {
	r := result{format: format}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	args := []string{"--format", format, path}
	var cmd *exec.Cmd
	if prlimit != "" {
		cmd = exec.CommandContext(ctx, prlimit, append([]string{fmt.Sprintf("--as=%d", limit), "--", bin}, args...)...)
	} else {
		sh := fmt.Sprintf(`ulimit -v %d && exec "$0" "$@"`, limit>>10)
		cmd = exec.CommandContext(ctx, "sh", append([]string{"-c", sh, bin}, args...)...)
	}
	stderr := &headWriter{}
	cmd.Stderr = stderr
	got := map[string]int{}
	tcpOnly := 0
	var parseErr error
	var stdout io.ReadCloser
	if format == "json" {
		var err error
		if stdout, err = cmd.StdoutPipe(); err != nil {
			fail(err)
		}
	} else {
		devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			fail(err)
		}
		defer devnull.Close()
		cmd.Stdout = devnull
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fail(err)
	}
	if stdout != nil {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 256<<20)
		for sc.Scan() {
			var row struct {
				Outcome string `json:"outcome"`
				TCP     *struct {
					Bytes [2]int64 `json:"bytes"`
				} `json:"tcp"`
			}
			if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
				if parseErr == nil {
					parseErr = err
				}
				continue
			}
			got[row.Outcome]++
			if row.TCP != nil && row.TCP.Bytes == [2]int64{} {
				tcpOnly++
			}
		}
		if err := sc.Err(); err != nil && parseErr == nil {
			parseErr = err
		}
		io.Copy(io.Discard, stdout)
	}
	err := cmd.Wait()
	r.wall = time.Since(start)
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.rss = ru.Maxrss << 10
		r.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	line, _, _ := strings.Cut(stderr.buf.String(), "\n")
	r.stderr = strings.TrimSpace(line)
	code := cmd.ProcessState.ExitCode()
	r.warned = stderr.n > 0 || code == 2
	oom := strings.Contains(stderr.buf.String(), "out of memory") || strings.Contains(stderr.buf.String(), "cannot allocate memory")
	switch {
	case ctx.Err() != nil:
		r.exit = fmt.Sprintf("killed at %s (timeout)", timeout)
	case oom:
		r.exit = fmt.Sprintf("killed at %d GiB (out of memory, exit %d)", limit>>30, code)
	case code < 0:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			r.exit = "killed: " + ee.String()
		} else {
			r.exit = fmt.Sprint(err)
		}
	default:
		r.exit = fmt.Sprintf("exit %d", code)
	}
	if format == "json" {
		r.checked = true
		var keys []string
		seen := map[string]bool{}
		for k := range truth.Rows {
			keys, seen[k] = append(keys, k), true
		}
		for k := range got {
			if !seen[k] {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		total := 0
		for _, k := range keys {
			r.ok += min(got[k], truth.Rows[k])
			total += got[k]
		}
		r.wrong = max(total, truth.RowCount()) - r.ok
		var d []string
		if r.wrong > 0 {
			for _, k := range keys {
				if got[k] != truth.Rows[k] {
					d = append(d, fmt.Sprintf("%s %d, truth %d", k, got[k], truth.Rows[k]))
				}
			}
		}
		if tcpOnly != truth.TCPOnly {
			d = append(d, fmt.Sprintf("TCP-only rows %d, truth %d", tcpOnly, truth.TCPOnly))
			r.wrong = max(r.wrong, 1)
		}
		if parseErr != nil {
			d = append(d, "json: "+parseErr.Error())
		}
		r.detail = strings.Join(d, "; ")
	}
	return r
}
