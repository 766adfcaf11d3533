// Command hostilegen writes the hostile captures of capgen.WriteHostile
// (a SYN flood, a port scan, 300,000 stalls, pcapng bombs, ...) into a
// directory, each with a truth file NAME.truth.json beside it, for make
// bench-hostile.
//
//	go run ./internal/capgen/cmd/hostilegen -dir .cache/hostile -case synflood -scale 0.01
package main

import (
	"encoding/json"
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

// Write writes one case and its truth file into dir.
func Write(dir, name string, scale float64) (capgen.HostileTruth, error) {
	var file string
	for _, c := range capgen.HostileCases() {
		if c.Name == name {
			file = c.File
		}
	}
	if file == "" {
		return capgen.HostileTruth{}, fmt.Errorf("no case %q (cases: %s)", name, names())
	}
	path := filepath.Join(dir, file)
	start := time.Now()
	// Written under a temporary name: a killed run leaves no half file
	// under the real one.
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return capgen.HostileTruth{}, err
	}
	t, err := capgen.WriteHostile(f, name, scale)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(path+".tmp", path)
	}
	if err != nil {
		os.Remove(path + ".tmp")
		return t, err
	}
	data, _ := json.MarshalIndent(t, "", " ")
	if err := os.WriteFile(path+".truth.json", append(data, '\n'), 0o644); err != nil {
		return t, err
	}
	fmt.Fprintf(os.Stderr, "hostilegen: %s written in %.1f s\n", path, time.Since(start).Seconds())
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
