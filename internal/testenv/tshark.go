package testenv

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Tests never run tshark themselves: TSharkOutput runs it once per capture,
// tshark version and argument list, and keeps the output in
// <repository>/.cache/tshark (ignored by git), so that the tests of every
// package, run in parallel processes, and every later run share it.

// cacheFormat changes when the layout of a cached entry does.
const cacheFormat = "tlsscope-tshark-cache-1"

// lockWait is how long a test waits for another process computing the same
// entry before it runs tshark itself (the other may have been killed).
var lockWait = 3 * time.Minute

// cacheDir returns the cache directory, or "" when there is none to use
// (no go.mod above the working directory). A variable for the tests.
var cacheDir = func() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, ".cache", "tshark")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

var tsharkVersion struct {
	sync.Mutex
	path, version string
}

// version is tshark's full --version text (its libraries included): a new
// tshark gives new cache keys.
func version(tshark string) (string, error) {
	tsharkVersion.Lock()
	defer tsharkVersion.Unlock()
	if tsharkVersion.path == tshark {
		return tsharkVersion.version, nil
	}
	out, err := exec.Command(tshark, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("tshark --version: %v", err)
	}
	tsharkVersion.path, tsharkVersion.version = tshark, string(out)
	return tsharkVersion.version, nil
}

// cacheKey is a hash of the capture's content, tshark's version and the
// arguments, with the capture's path (which differs between checkouts and
// runs) replaced by a placeholder.
func cacheKey(version, file string, args []string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	content := sha256.New()
	if _, err := io.Copy(content, f); err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%x\n", cacheFormat, version, content.Sum(nil))
	for _, a := range args {
		if a == file {
			a = "\x00capture\x00"
		}
		fmt.Fprintf(h, "%q\n", a)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// TSharkOutput runs tshark with args, which name file (as TSharkArgs does),
// and returns its standard output; the error says how tshark failed (some
// damaged captures make it exit non-zero after printing what it read). The
// test skips when tshark is not installed (fails under CI). The result is
// cached, keyed by the capture's content, tshark's version and args, and
// written atomically: every package's tests share one run.
func TSharkOutput(t testing.TB, file string, args ...string) ([]byte, error) {
	t.Helper()
	tshark := TShark(t)
	if !slices.Contains(args, file) {
		t.Fatalf("testenv.TSharkOutput: the arguments %q do not name %s", args, file)
	}
	out, err, _, fatal := cachedRun(tshark, file, args, true, t.Logf)
	if fatal != nil {
		t.Fatal(fatal)
	}
	return out, err
}

// cachedRun returns tshark's output and error from the cache, or runs it
// and keeps them. With wait false it gives up at once (done false) on an
// entry another process is computing. fatal is a failure to read the
// capture or to ask tshark its version.
func cachedRun(tshark, file string, args []string, wait bool, logf func(string, ...any)) (out []byte, runErr error, done bool, fatal error) {
	dir := cacheDir()
	if dir == "" {
		out, runErr = runTShark(tshark, args)
		return out, runErr, true, nil
	}
	v, err := version(tshark)
	if err != nil {
		return nil, nil, false, err
	}
	key, err := cacheKey(v, file, args)
	if err != nil {
		return nil, nil, false, err
	}
	entry := filepath.Join(dir, key)
	if out, err, ok := readEntry(entry); ok {
		return out, err, true, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		logf("tshark cache unusable, running tshark uncached: %v", err)
		out, runErr = runTShark(tshark, args)
		return out, runErr, true, nil
	}
	// Another process may be computing the same entry: wait for it rather
	// than run tshark twice.
	lock := entry + ".lock"
	if l, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644); err == nil {
		fmt.Fprint(l, os.Getpid())
		l.Close()
		defer os.Remove(lock)
	} else {
		if !wait && lockHeld(lock) {
			return nil, nil, false, nil
		}
		for deadline := time.Now().Add(lockWait); time.Now().Before(deadline) && lockHeld(lock); time.Sleep(20 * time.Millisecond) {
			if out, err, ok := readEntry(entry); ok {
				return out, err, true, nil
			}
		}
		// Released without an entry, or left by a test that was killed:
		// compute it here.
		if out, err, ok := readEntry(entry); ok {
			return out, err, true, nil
		}
	}
	out, runErr = runTShark(tshark, args)
	var exit *exec.ExitError
	if runErr == nil || errors.As(runErr, &exit) && exit.Exited() {
		// An exit status is tshark's verdict on the file and worth keeping;
		// a signal or a failure to start is not.
		if err := writeEntry(entry, out, runErr); err != nil {
			logf("tshark cache: %v", err)
		}
	}
	return out, runErr, true, nil
}

// lockHeld reports whether the lock file is there and its process alive.
func lockHeld(lock string) bool {
	b, err := os.ReadFile(lock)
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(string(b))
	if err != nil {
		return true // being written
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return !errors.Is(p.Signal(syscall.Signal(0)), os.ErrProcessDone)
}

// tsharkError is a failure of tshark as the cache keeps it.
type tsharkError string

func (e tsharkError) Error() string { return string(e) }

func runTShark(tshark string, args []string) ([]byte, error) {
	cmd := exec.Command(tshark, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(strings.ReplaceAll(stderr.String(), "Running as user \"root\" and group \"root\". This could be dangerous.", ""))
		if msg != "" {
			err = fmt.Errorf("%w: %s", err, msg)
		}
	}
	return out, err
}

// An entry is a header line, "ok" or "error" and the quoted error, then
// tshark's standard output.
func readEntry(entry string) ([]byte, error, bool) {
	b, err := os.ReadFile(entry)
	if err != nil {
		return nil, nil, false
	}
	header, out, found := bytes.Cut(b, []byte("\n"))
	switch h := string(header); {
	case !found:
		return nil, nil, false
	case h == "ok":
		return out, nil, true
	case strings.HasPrefix(h, "error "):
		msg, err := strconv.Unquote(strings.TrimPrefix(h, "error "))
		if err != nil {
			return nil, nil, false
		}
		return out, tsharkError(msg), true
	}
	return nil, nil, false
}

func writeEntry(entry string, out []byte, runErr error) error {
	tmp, err := os.CreateTemp(filepath.Dir(entry), filepath.Base(entry)+".*.tmp")
	if err != nil {
		return err
	}
	header := "ok\n"
	if runErr != nil {
		header = "error " + strconv.Quote(runErr.Error()) + "\n"
	}
	_, err = tmp.WriteString(header)
	if err == nil {
		_, err = tmp.Write(out)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), entry)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// Frame is one frame of tshark's -T json -e output: the values of each field.
type Frame map[string][]string

// HandshakeFields are the fields TSharkHandshakes reads: the union of what
// the tests comparing with tshark need, so that one tshark run per capture
// serves them all (verify.TestDifferential, flows.TestStreamNumbersMatchTShark,
// flows.TestJA3MatchesTShark, capgen.TestTSharkSeesHandshakes).
var HandshakeFields = []string{
	"tcp.stream", "tcp.srcport", "tcp.dstport", "tls.handshake.type", "tls.handshake.extensions_server_name",
	"tls.handshake.ciphersuite", "tls.handshake.version", "tls.handshake.extensions.supported_version",
	"tls.handshake.extensions_alpn_str", "tls.handshake.certificate", "x509af.serialNumber", "x509af.utcTime",
	"x509af.generalizedTime", "tls.handshake.session_ticket_lifetime_hint", "tls.alert_message.level",
	"tls.alert_message.desc", "tls.handshake.ja3_full", "tls.handshake.ja3s_full", "tls.record.content_type",
}

// HandshakeFilter selects the frames TSharkHandshakes returns.
const HandshakeFilter = "tcp && (tls.handshake or tls.handshake.type or tls.alert_message)"

// TSharkHandshakes returns the frames of file that carry a TLS handshake
// message or alert over TCP, with HandshakeFields, as tshark reads them
// with the reference settings (TSharkArgs). The error is tshark's when it
// printed nothing; for a damaged file it may end early and return the
// frames it printed. Cached like TSharkOutput.
func TSharkHandshakes(t testing.TB, file string) ([]Frame, error) {
	t.Helper()
	return TSharkHandshakesWith(t, file)
}

// TSharkHandshakesWith is TSharkHandshakes with more tshark options (a
// key log: "-o", "tls.keylog_file:PATH").
func TSharkHandshakesWith(t testing.TB, file string, extra ...string) ([]Frame, error) {
	t.Helper()
	return tsharkFrames(t, file, append(extra, handshakeArgs(file)...))
}

// tsharkFrames runs tshark with args (ending in -T json and -e fields) and
// returns the frames' fields. Cached like TSharkOutput.
func tsharkFrames(t testing.TB, file string, args []string) ([]Frame, error) {
	t.Helper()
	out, err := TSharkOutput(t, file, args...)
	if err != nil && len(out) == 0 {
		return nil, fmt.Errorf("tshark %s: %v", filepath.Base(file), err)
	}
	var frames []struct {
		Source struct {
			Layers Frame `json:"layers"`
		} `json:"_source"`
	}
	if err := json.Unmarshal(out, &frames); err != nil {
		// A damaged file can end the JSON array early: keep what parsed.
		trimmed := strings.TrimRight(string(out), " \n,")
		if i := strings.LastIndex(trimmed, "\n  }"); i > 0 {
			json.Unmarshal([]byte(trimmed[:i+4]+"\n]"), &frames)
		}
	}
	res := make([]Frame, 0, len(frames))
	for _, f := range frames {
		if f.Source.Layers == nil {
			f.Source.Layers = Frame{}
		}
		res = append(res, f.Source.Layers)
	}
	return res, nil
}

func handshakeArgs(file string) []string {
	args := append(TSharkArgs(file), "-Y", HandshakeFilter, "-T", "json", "--no-duplicate-keys")
	for _, f := range HandshakeFields {
		args = append(args, "-e", f)
	}
	return args
}

// PrefetchHandshakes fills the cache for TSharkHandshakes on files, one
// tshark per CPU, leaving the files another process is reading to it: with
// a cold cache the tests then read it at the speed of the machine, not of
// one tshark after another. It skips the test without tshark, like
// TSharkHandshakes.
func PrefetchHandshakes(t testing.TB, files []string) {
	t.Helper()
	tshark := TShark(t)
	if cacheDir() == "" {
		return
	}
	jobs := make(chan string)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for f := range jobs {
				cachedRun(tshark, f, handshakeArgs(f), false, t.Logf)
			}
		})
	}
	for _, f := range files {
		jobs <- f
	}
	close(jobs)
	wg.Wait()
}

// Has reports whether the frame has value x in field.
func (f Frame) Has(field, x string) bool { return slices.Contains(f[field], x) }

// First is the first value of field, or "".
func (f Frame) First(field string) string {
	if v := f[field]; len(v) > 0 {
		return v[0]
	}
	return ""
}
