package main

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tlsscope/tlsscope/flows/capture"
)

// TestLiveDropsRoot: a live capture started as root parses packets as
// --user (nobody): once "capturing on" is said, every thread of the
// process has that user's uid in /proc/PID/task/*/status (real, effective,
// saved and filesystem), and it still captures, into a -w file created
// before the drop in a directory only root may enter.
func TestLiveDropsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI runs as root: this test must run there")
		}
		t.Skip("needs root for live capture")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{selfSigned()}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { c.(*tls.Conn).Handshake(); io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	dir := t.TempDir() // 0700, root's
	all := filepath.Join(dir, "all.pcapng")
	port := ln.Addr().(*net.TCPAddr).Port
	args, _ := json.Marshal([]string{"-i", "lo", "-f", fmt.Sprintf("tcp port %d", port), "--format", "json", "--count", "1", "--duration", "20s", "-w", all})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TLSSCOPE_HELPER=tlsscope", "TLSSCOPE_ARGS="+string(args))
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, _ := bufio.NewReader(stderr).ReadString('\n')
	if !strings.Contains(line, "capturing on") {
		t.Skipf("live capture unavailable here: %q", line)
	}
	if !strings.Contains(line, "as nobody") {
		t.Errorf("the first line does not say whom it runs as: %q", line)
	}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", cmd.Process.Pid))
	if len(tasks) == 0 {
		t.Fatal("no thread of the process in /proc")
	}
	want := strings.Repeat("\t"+nobody.Uid, 4)
	for _, st := range tasks {
		b, err := os.ReadFile(st)
		if err != nil {
			continue // a thread that ended
		}
		for _, l := range strings.Split(string(b), "\n") {
			if id, ok := strings.CutPrefix(l, "Uid:"); ok && id != want {
				t.Errorf("%s: Uid:%q, want %q (nobody's real, effective, saved and fs uid)", st, id, want)
			} else if id, ok := strings.CutPrefix(l, "Gid:"); ok && id != strings.Repeat("\t"+nobody.Gid, 4) {
				t.Errorf("%s: Gid:%q, want nobody's group %s", st, id, nobody.Gid)
			}
		}
	}
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan []byte)
	go func() { out, _ := io.ReadAll(stdout); done <- out }()
	var out []byte
	select {
	case out = <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("no handshake judged within 15 s")
	}
	cmd.Wait()
	if !strings.Contains(string(out), `"outcome":"complete"`) {
		t.Errorf("after the drop, output:\n%s", out)
	}
	src, err := capture.OpenFile(all)
	if err != nil {
		t.Fatalf("-w file: %v", err)
	}
	defer src.Close()
	if ps, err := capture.ReadAll(src); err != nil || len(ps) < 5 {
		t.Errorf("-w file: %d packets, %v", len(ps), err)
	}
}
