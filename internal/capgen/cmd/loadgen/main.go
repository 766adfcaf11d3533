// Command loadgen writes a load capture of many real crypto/tls
// connections (see capgen.WriteLoad) and a truth file with each
// connection's real outcome, for make bench.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/tlsscope/tlsscope/internal/capgen"
)

func main() {
	size := flag.String("size", "50M", "capture size to reach: N, NM or NG")
	out := flag.String("o", "load.pcap", "capture to write")
	truth := flag.String("truth", "", "truth file to write (default: OUTPUT.truth.json)")
	flag.Parse()
	n, err := parseSize(*size)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	if *truth == "" {
		*truth = *out + ".truth.json"
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	tr, err := capgen.WriteLoad(f, capgen.LoadOptions{Bytes: n})
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	data, _ := json.MarshalIndent(tr, "", " ")
	if err := os.WriteFile(*truth, data, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "loadgen: %s: %d connections\n", *out, len(tr))
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}
