package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tlsscope/tlsscope/internal/capgen"
)

// TestShardUnionIsWholeRun: the JSON lines of --shard 0/4 .. 3/4 together
// are those of one whole run, line for line, stream numbers included.
func TestShardUnionIsWholeRun(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/*.pcap*")
	netlab, _ := filepath.Glob("../../testdata/netlab/*.pcap")
	dir := t.TempDir()
	sets := map[string][]string{"testdata": files, "netlab": netlab}
	for _, tc := range []struct {
		name  string
		scale float64
	}{{"synflood", 0.001}, {"portscan", 0.002}, {"stalls", 0.003}, {"longlived", 0.002}} {
		if _, err := capgen.WriteHostileFile(dir, tc.name, tc.scale); err != nil {
			t.Fatal(err)
		}
		sets[tc.name] = []string{filepath.Join(dir, tc.name+".pcap")}
	}
	if !testing.Short() {
		f, err := os.Create(filepath.Join(dir, "load.pcap"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := capgen.WriteLoad(f, capgen.LoadOptions{Bytes: 8 << 20, Data: 16 << 10, Gap: 500 * 1e3}); err != nil {
			t.Fatal(err)
		}
		f.Close()
		sets["load"] = []string{f.Name()}
	}
	for name, set := range sets {
		lines := func(extra ...string) []string {
			out, stderr, code := runCLI(append(append([]string{"--format", "json", "--exit-zero"}, extra...), set...)...)
			if code != exitOK {
				t.Fatalf("%s %v: exit %d: %s", name, extra, code, stderr)
			}
			// A shard sees only its own connections' CA certificates: which
			// other stream sent a chain's missing issuer is the shard's
			// (README, Certificate chains), not the whole run's.
			out = sentIn.ReplaceAllString(out, "")
			return strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		}
		whole := lines()
		var union []string
		for i := range 4 {
			part := lines("--shard", strconv.Itoa(i)+"/4")
			if len(part) == len(whole) && len(whole) > 8 {
				t.Errorf("%s: shard %d/4 kept all %d connections", name, i, len(whole))
			}
			union = append(union, part...)
		}
		union = slices.DeleteFunc(union, func(s string) bool { return s == "" })
		whole = slices.DeleteFunc(whole, func(s string) bool { return s == "" })
		slices.Sort(union)
		slices.Sort(whole)
		if !slices.Equal(union, whole) {
			n := 0
			for _, l := range whole {
				if _, ok := slices.BinarySearch(union, l); !ok && n < 3 {
					t.Errorf("%s: whole run's line missing from the shards':\n%s", name, l)
					n++
				}
			}
			for _, l := range union {
				if _, ok := slices.BinarySearch(whole, l); !ok && n < 6 {
					t.Errorf("%s: shards' line not in the whole run:\n%s", name, l)
					n++
				}
			}
			t.Errorf("%s: union of 4 shards (%d lines) differs from the whole run (%d)", name, len(union), len(whole))
		} else {
			t.Logf("%s: %d lines, equal", name, len(whole))
		}
	}
}

func TestShardFlag(t *testing.T) {
	for _, v := range []string{"4/4", "x", "1/0", "-1/2", "1", "1/2/3", "a/b"} {
		_, stderr, code := runCLI("--shard", v, demo)
		if code != exitUsage || stderr != "tlsscope: --shard: want i/n with 0 ≤ i < n\nsee tlsscope --help\n" {
			t.Errorf("--shard %s: exit %d, stderr %q", v, code, stderr)
		}
	}
	if _, stderr, code := runCLI("--shard", "0/1", "--exit-zero", demo); code != exitOK {
		t.Errorf("--shard 0/1: exit %d: %s", code, stderr)
	}
}

// sentIn matches what names the other stream that sent a missing issuer.
var sentIn = regexp.MustCompile(`,"issuer_sent_in":"[^"]*"| A client that has it cached would accept it \(sent in stream [^)]*\)\.`)
