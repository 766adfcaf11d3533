// Command liveload measures live capture under load (issue #24): real
// crypto/tls traffic between two network namespaces is captured once, then
// replayed with tcpreplay -K across a second pair of namespaces, at its
// own timing and at top speed, while tlsscope -i (or tcpdump) sniffs the
// receiving side; each connection's outcome is compared with tlsscope's
// offline judgement of the same file. As root.
//
//	go run ./internal/liveload -tlsscope after=bin/tlsscope,before=/tmp/old -tcpdump -runs 3
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

func main() {
	if runRole() {
		return
	}
	file := flag.String("file", ".cache/liveload/traffic.pcap", "the traffic capture, made if missing")
	conns := flag.Int("conns", defaultConns, "connections in a capture made")
	scopes := flag.String("tlsscope", "bin/tlsscope", "tlsscope binaries to measure live, name=path, comma-separated; the first judges offline")
	tcpdump := flag.Bool("tcpdump", false, "measure tcpdump too, in its default mode and with --immediate-mode")
	runs := flag.Int("runs", 3, "runs of each sniffer at each rate (the median is shown)")
	rates := flag.String("rates", "original,top", "replay rates: original (the capture's timing), top (tcpreplay --topspeed)")
	args := flag.String("args", "", "more flags for tlsscope -i, space-separated (--buffer-size 2097152)")
	flag.Parse()
	if err := measure(*file, *conns, *scopes, strings.Fields(*args), *rates, *tcpdump, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "liveload:", err)
		os.Exit(1)
	}
}

// defaultConns makes about 60,000 packets.
const defaultConns = 2400

func measure(file string, conns int, scopes string, args []string, rates string, tcpdump bool, runs int) error {
	if _, err := os.Stat(file); err != nil {
		os.MkdirAll(filepath.Dir(file), 0o755)
		if err := generate(file, conns, os.Stderr); err != nil {
			return err
		}
	}
	var sniffers []sniffer
	for _, s := range strings.Split(scopes, ",") {
		name, path, ok := strings.Cut(s, "=")
		if !ok {
			name, path = "tlsscope", s
		}
		abs, _ := filepath.Abs(path)
		sniffers = append(sniffers, sniffer{Name: name, TLSScope: abs, Live: true, Args: args})
	}
	judge := sniffers[0].TLSScope
	if tcpdump {
		sniffers = append(sniffers,
			sniffer{Name: "tcpdump", TLSScope: judge, Tcpdump: []string{}},
			sniffer{Name: "tcpdump --immediate-mode", TLSScope: judge, Tcpdump: []string{"--immediate-mode"}})
	}
	ref, err := offline(judge, file)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "liveload")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	fmt.Println("| sniffer | rate | equal outcomes | dropped (said) | packets sent | kpps | backlog drops | load (1, 5, 15 min) |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, s := range sniffers {
		for _, rate := range strings.Split(rates, ",") {
			top := rate == "top"
			var rs []result
			for range runs {
				r, err := replay(s, file, top, ref, tmp)
				if err != nil {
					return fmt.Errorf("%s: %w", s.Name, err)
				}
				fmt.Fprintf(os.Stderr, "liveload: %s %s: %d/%d equal, %s dropped, %d sent in %.2f s, backlog %d, load %s\n",
					s.Name, rateName(top), r.Equal, r.Compared, saidDrops(r), r.Sent, r.Seconds, r.Backlog, r.Load)
				rs = append(rs, r)
			}
			// The median run by equal outcomes.
			slices.SortFunc(rs, func(a, b result) int { return a.Equal - b.Equal })
			m := rs[len(rs)/2]
			fmt.Printf("| %s | %s | %.1f%% (%d/%d) | %s | %d | %.0f | %d | %s |\n", s.Name, rateName(top), 100*m.ratio(), m.Equal, m.Compared,
				saidDrops(m), m.Sent, float64(m.Sent)/m.Seconds/1000, m.Backlog, m.Load)
		}
	}
	return nil
}

func rateName(top bool) string {
	if top {
		return "top speed"
	}
	return "original timing"
}

func saidDrops(r result) string {
	if !r.Said {
		return "not said"
	}
	of := r.Received
	if of == 0 {
		of = uint64(r.Sent)
	}
	return fmt.Sprintf("%d (%.1f%%)", r.Dropped, 100*float64(r.Dropped)/float64(of))
}
