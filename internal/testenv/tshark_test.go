package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeTShark puts a tshark first in PATH that prints its arguments, fails
// on "fail", and counts its runs; the cache goes to a temporary directory.
func fakeTShark(t *testing.T) (runs func() int) {
	bin, cache := t.TempDir(), t.TempDir()
	count := filepath.Join(bin, "runs")
	script := `#!/bin/sh
if [ "$1" = --version ]; then echo "TShark (fake) 1.0"; exit 0; fi
echo run >> ` + count + `
sleep 0.2
echo "$@"
for a in "$@"; do [ "$a" = fail ] && { echo "tshark: the file is damaged" >&2; exit 2; }; done
exit 0
`
	if err := os.WriteFile(filepath.Join(bin, "tshark"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	saved := cacheDir
	cacheDir = func() string { return cache }
	t.Cleanup(func() { cacheDir = saved })
	return func() int {
		b, _ := os.ReadFile(count)
		return strings.Count(string(b), "run")
	}
}

func TestTSharkOutputCached(t *testing.T) {
	runs := fakeTShark(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.pcap"), filepath.Join(dir, "b.pcap")
	os.WriteFile(a, []byte("capture one"), 0o644)
	os.WriteFile(b, []byte("capture one"), 0o644)

	out, err := TSharkOutput(t, a, "-r", a, "-e", "tcp.stream")
	if err != nil || string(out) != "-r "+a+" -e tcp.stream\n" {
		t.Fatalf("first run: %q, %v", out, err)
	}
	again, err := TSharkOutput(t, a, "-r", a, "-e", "tcp.stream")
	if err != nil || string(again) != string(out) || runs() != 1 {
		t.Errorf("second run: %q, %v; tshark ran %d times, want 1", again, err, runs())
	}
	// The same content elsewhere is the same entry: the key is the
	// content, not the path.
	if _, err := TSharkOutput(t, b, "-r", b, "-e", "tcp.stream"); err != nil || runs() != 1 {
		t.Errorf("same content at another path: %v; tshark ran %d times, want 1", err, runs())
	}
	// Other arguments, or other content, are other entries.
	TSharkOutput(t, a, "-r", a, "-e", "tcp.srcport")
	os.WriteFile(b, []byte("capture two"), 0o644)
	TSharkOutput(t, b, "-r", b, "-e", "tcp.stream")
	if runs() != 3 {
		t.Errorf("tshark ran %d times, want 3", runs())
	}
	// tshark's failure on a file is kept, with what it said.
	for range 2 {
		out, err := TSharkOutput(t, a, "-r", a, "fail")
		if err == nil || !strings.Contains(err.Error(), "the file is damaged") || !strings.HasPrefix(string(out), "-r ") {
			t.Errorf("failing run: %q, %v", out, err)
		}
	}
	if runs() != 4 {
		t.Errorf("tshark ran %d times, want 4 (a failure is cached too)", runs())
	}
	// No temporary or lock file is left behind.
	left, _ := filepath.Glob(filepath.Join(cacheDir(), "*.*"))
	if len(left) > 0 {
		t.Errorf("left in the cache: %v", left)
	}
}

// TestTSharkOutputShared: callers asking at once for the same entry (as
// the tests of several packages do) run tshark once.
func TestTSharkOutputShared(t *testing.T) {
	runs := fakeTShark(t)
	f := filepath.Join(t.TempDir(), "a.pcap")
	os.WriteFile(f, []byte("capture"), 0o644)
	var wg sync.WaitGroup
	outs := make([]string, 4)
	for i := range outs {
		wg.Go(func() {
			out, _ := TSharkOutput(t, f, "-r", f)
			outs[i] = string(out)
		})
	}
	wg.Wait()
	if runs() != 1 {
		t.Errorf("tshark ran %d times for 4 callers at once, want 1", runs())
	}
	for _, o := range outs {
		if o != outs[0] || o == "" {
			t.Errorf("outputs differ: %q", outs)
		}
	}
}

// TestTSharkMissing runs a test that needs tshark with a PATH that has
// none: it skips and says so, and under CI it fails.
func TestTSharkMissing(t *testing.T) {
	if os.Getenv("TESTENV_NEED_TSHARK") != "" {
		TShark(t)
		return
	}
	for _, ci := range []string{"", "true"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestTSharkMissing$", "-test.v")
		cmd.Env = append(os.Environ(), "TESTENV_NEED_TSHARK=1", "PATH="+t.TempDir(), "CI="+ci)
		out, err := cmd.CombinedOutput()
		switch {
		case ci == "" && (err != nil || !strings.Contains(string(out), "--- SKIP") || !strings.Contains(string(out), "tshark not installed")):
			t.Errorf("without tshark: %v\n%s", err, out)
		case ci != "" && (err == nil || !strings.Contains(string(out), "--- FAIL") || !strings.Contains(string(out), "CI must run this test")):
			t.Errorf("without tshark under CI: %v\n%s", err, out)
		}
	}
}

// TestTSharkOutputStaleLock: a lock left by a test that was killed does
// not hold the next run up.
func TestTSharkOutputStaleLock(t *testing.T) {
	runs := fakeTShark(t)
	f := filepath.Join(t.TempDir(), "a.pcap")
	os.WriteFile(f, []byte("capture"), 0o644)
	v, _ := version(TShark(t))
	key, _ := cacheKey(v, f, []string{"-r", f})
	dead := exec.Command("true")
	dead.Run()
	os.WriteFile(filepath.Join(cacheDir(), key+".lock"), []byte(strconv.Itoa(dead.Process.Pid)), 0o644)
	start := time.Now()
	if out, err := TSharkOutput(t, f, "-r", f); err != nil || len(out) == 0 || runs() != 1 {
		t.Errorf("%q, %v, %d runs", out, err, runs())
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %v behind a dead process's lock", took)
	}
}

// TestPrefetchHandshakes: the prefetch fills the cache TSharkHandshakes reads.
func TestPrefetchHandshakes(t *testing.T) {
	runs := fakeTShark(t)
	var files []string
	for _, n := range []string{"a", "b", "c"} {
		f := filepath.Join(t.TempDir(), n+".pcap")
		os.WriteFile(f, []byte(n), 0o644)
		files = append(files, f)
	}
	PrefetchHandshakes(t, files)
	for _, f := range files {
		TSharkHandshakes(t, f)
	}
	if runs() != 3 {
		t.Errorf("tshark ran %d times for 3 files, want 3", runs())
	}
}
