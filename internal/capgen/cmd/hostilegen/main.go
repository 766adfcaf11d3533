// Command hostilegen writes the hostile captures of capgen.WriteHostile
// (a SYN flood, a port scan, 300,000 stalls, pcapng bombs, ...) into a
// directory, each with a truth file NAME.truth.json beside it, for make
// bench-hostile.
//
//	go run ./internal/capgen/cmd/hostilegen -dir .cache/hostile -case synflood -scale 0.01
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tlsscope/tlsscope/internal/capgen"
)

func main() {
	dir := flag.String("dir", ".", "directory to write into")
	cases := flag.String("case", "all", "cases to write, comma-separated, or all: "+names())
	scale := flag.Float64("scale", 1, "size factor (1: the sizes of the issue; 0.001 for a tiny version)")
	flag.Parse()
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		fail(err)
	}
	want := strings.Split(*cases, ",")
	if *cases == "all" {
		want = nil
		for _, c := range capgen.HostileCases() {
			want = append(want, c.Name)
		}
	}
	for _, name := range want {
		t, err := Write(*dir, name, *scale)
		if err != nil {
			fail(err)
		}
		fmt.Fprintf(os.Stderr, "hostilegen: %s: %d connections, %d packets, %.1f MB (%.1f MB uncompressed), rows %v\n",
			filepath.Join(*dir, t.File), t.Conns, t.Packets, float64(t.Bytes)/1e6, float64(t.Raw)/1e6, t.Rows)
	}
}

// Write writes one case and its truth file into dir, and says how long it
// took.
func Write(dir, name string, scale float64) (capgen.HostileTruth, error) {
	start := time.Now()
	t, err := capgen.WriteHostileFile(dir, name, scale)
	if err != nil {
		return t, fmt.Errorf("%v (cases: %s)", err, names())
	}
	fmt.Fprintf(os.Stderr, "hostilegen: %s written in %.1f s\n", filepath.Join(dir, t.File), time.Since(start).Seconds())
	return t, nil
}

func names() string {
	var n []string
	for _, c := range capgen.HostileCases() {
		n = append(n, c.Name)
	}
	return strings.Join(n, ", ")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "hostilegen:", err)
	os.Exit(1)
}
