// Package testenv is what the tests of several packages share about their
// environment: tshark, and the corpus of other projects' captures in
// ../shared/captures. Without them tests skip and say why, except under CI
// (CI=true), whose .ci/run installs tshark and has the corpus: there a
// missing one fails the test instead of hiding it.
//
// tshark is looked up in PATH, so a PATH without it shows what a machine
// without tshark does. Tests get tshark's output through TSharkOutput or
// TSharkHandshakes, which cache it in .cache/tshark.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TShark returns the path of tshark.
func TShark(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tshark is not installed, and CI must run this test (.ci/run installs it)")
		}
		t.Skip("tshark not installed (apt-get install tshark): skipping the comparison with Wireshark")
	}
	return path
}

// TSharkArgs are the reference settings: TCP out-of-order reassembly on,
// numbers not resolved, and the ports tshark does not know as TLS.
func TSharkArgs(file string) []string {
	args := []string{"-n", "-o", "tcp.reassemble_out_of_order:TRUE", "-r", file}
	if strings.Contains(file, "irc-starttls") {
		args = append(args, "-d", "tcp.port==6667,tls")
	}
	return args
}

// SharedDir is the corpus seen from a package directory one level below
// the repository root; root is the path from the package to the root.
func SharedDir(root string) string { return filepath.Join(root, "..", "shared", "captures") }

// HaveShared reports whether the corpus is there.
func HaveShared(root string) bool {
	_, err := os.Stat(SharedDir(root))
	return err == nil
}

// NeedShared skips the test when the corpus is absent (fails it in CI)
// and returns its directory.
func NeedShared(t testing.TB, root string) string {
	t.Helper()
	if !HaveShared(root) {
		if os.Getenv("CI") != "" {
			t.Fatal("../shared/captures is absent, and CI must run this test")
		}
		t.Skip("../shared/captures absent: skipping tests on other projects' captures")
	}
	return SharedDir(root)
}

// CorpusIfPresent lists the capture files of the corpus when it is there,
// for tests that also run on the generated captures alone: without it they
// log so and get none, except under CI, where the test fails.
func CorpusIfPresent(t testing.TB, root string) []string {
	t.Helper()
	if !HaveShared(root) && os.Getenv("CI") == "" {
		t.Log("../shared/captures absent: testing on the generated captures only")
		return nil
	}
	return SharedCaptures(t, root)
}

// SharedCaptures lists the capture files of the corpus (not its expected
// outputs), skipping the test when it is absent.
func SharedCaptures(t testing.TB, root string) []string {
	t.Helper()
	dir := NeedShared(t, root)
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		n := d.Name()
		if err == nil && !d.IsDir() && strings.Contains(n, ".pcap") && !strings.HasSuffix(n, ".json") && !strings.HasSuffix(n, ".snap") {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	return files
}

// KeyLogOf is the key log made with a test capture (NAME.keys beside
// NAME.pcap, or a netlab scenario's beside its NAME.client.pcap and
// NAME.server.pcap), or "".
func KeyLogOf(file string) string {
	base := strings.TrimSuffix(strings.TrimSuffix(file, filepath.Ext(file)), ".client")
	base = strings.TrimSuffix(base, ".server")
	if _, err := os.Stat(base + ".keys"); err == nil {
		return base + ".keys"
	}
	return ""
}
