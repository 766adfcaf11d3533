package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The integration test runs parts of itself in network namespaces: the
// test binary is started again under `ip netns exec` with TLSSCOPE_HELPER
// naming the part.
func TestMain(m *testing.M) {
	switch os.Getenv("TLSSCOPE_HELPER") {
	case "servers":
		helperServers()
		return
	case "client":
		helperClient(os.Getenv("TLSSCOPE_ADDR"))
		return
	case "tlsscope":
		var args []string
		json.Unmarshal([]byte(os.Getenv("TLSSCOPE_ARGS")), &args)
		os.Exit(run(args, os.Stdin, os.Stdout, os.Stderr))
	case "main":
		var args []string
		json.Unmarshal([]byte(os.Getenv("TLSSCOPE_ARGS")), &args)
		os.Args = append([]string{"tlsscope"}, args...)
		main()
		return
	}
	os.Exit(m.Run())
}

func selfSigned() tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "live.test"}, DNSNames: []string{"live.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// helperServers listens on :8443 (TLS that completes), :8444 (TLS 1.3
// only, so a TLS 1.2 client is refused with an alert) and :8445 (accepts
// TCP and never answers). It runs until killed.
func helperServers() {
	cert := selfSigned()
	serve := func(port string, cfg *tls.Config) {
		ln, err := net.Listen("tcp", ":"+port)
		if err != nil {
			fmt.Println("listen:", err)
			os.Exit(1)
		}
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				if cfg == nil {
					time.Sleep(time.Minute) // silent
					return
				}
				s := tls.Server(c, cfg)
				if s.Handshake() == nil {
					io.Copy(io.Discard, s)
				}
			}(c)
		}
	}
	go serve("8443", &tls.Config{Certificates: []tls.Certificate{cert}})
	go serve("8444", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13})
	go serve("8445", nil)
	fmt.Println("ready")
	select {}
}

// helperClient makes the three handshakes and prints when it gave up on
// the silent server.
func helperClient(host string) {
	dial := func(port string, cfg *tls.Config, deadline time.Duration) error {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(host, port), 3*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(deadline))
		return tls.Client(c, cfg).Handshake()
	}
	base := &tls.Config{ServerName: "live.test", InsecureSkipVerify: true}
	fmt.Println("complete:", dial("8443", base, 3*time.Second))
	twelve := base.Clone()
	twelve.MaxVersion = tls.VersionTLS12
	fmt.Println("refused:", dial("8444", twelve, 3*time.Second))
	err := dial("8445", base, 5*time.Second)
	fmt.Println("gave-up:", time.Now().Format(time.RFC3339Nano), err)
}

func sh(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestLiveCapture sniffs a veth between two network namespaces made here
// and checks that a complete handshake, one refused with an alert and one
// stalled appear in the streamed JSON, the stall while that connection is
// still open. It needs root (CI is); it removes what it made.
func TestLiveCapture(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip (iproute2)")
	}
	id := os.Getpid() % 10000
	srv, cli := fmt.Sprintf("tlss-srv-%d", id), fmt.Sprintf("tlss-cli-%d", id)
	vs, vc := fmt.Sprintf("tlss%ds", id), fmt.Sprintf("tlss%dc", id)
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", srv).Run()
		exec.Command("ip", "netns", "del", cli).Run()
	})
	sh(t, "ip", "netns", "add", srv)
	sh(t, "ip", "netns", "add", cli)
	sh(t, "ip", "link", "add", vs, "type", "veth", "peer", "name", vc)
	sh(t, "ip", "link", "set", vs, "netns", srv)
	sh(t, "ip", "link", "set", vc, "netns", cli)
	sh(t, "ip", "-n", srv, "addr", "add", "10.213.7.1/24", "dev", vs)
	sh(t, "ip", "-n", cli, "addr", "add", "10.213.7.2/24", "dev", vc)
	for _, x := range [][2]string{{srv, vs}, {cli, vc}, {srv, "lo"}, {cli, "lo"}} {
		sh(t, "ip", "-n", x[0], "link", "set", x[1], "up")
	}
	helper := func(ns, role string, env ...string) *exec.Cmd {
		cmd := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=^$")
		cmd.Env = append(append(os.Environ(), "TLSSCOPE_HELPER="+role), env...)
		return cmd
	}

	servers := helper(srv, "servers")
	sout, _ := servers.StdoutPipe()
	if err := servers.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { servers.Process.Kill(); servers.Wait() })
	if line, _ := bufio.NewReader(sout).ReadString('\n'); strings.TrimSpace(line) != "ready" {
		t.Fatalf("servers: %q", line)
	}

	args, _ := json.Marshal([]string{"-i", vs, "--format", "json", "--stall-timeout", "1s", "--duration", "30s"})
	scope := helper(srv, "tlsscope", "TLSSCOPE_ARGS="+string(args))
	stdout, _ := scope.StdoutPipe()
	stderr, _ := scope.StderrPipe()
	if err := scope.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { scope.Process.Kill(); scope.Wait() })
	if line, _ := bufio.NewReader(stderr).ReadString('\n'); !strings.Contains(line, "capturing on") {
		t.Skipf("live capture unavailable here: %q", line)
	}
	type seen struct {
		at   time.Time
		line map[string]any
	}
	var mu sync.Mutex
	var lines []seen
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				mu.Lock()
				lines = append(lines, seen{time.Now(), m})
				mu.Unlock()
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)

	out, err := helper(cli, "client", "TLSSCOPE_ADDR=10.213.7.1").Output()
	if err != nil {
		t.Fatalf("client: %v\n%s", err, out)
	}
	var gaveUp time.Time
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "gave-up: ") {
			gaveUp, _ = time.Parse(time.RFC3339Nano, strings.Fields(l)[1])
		}
	}
	time.Sleep(3 * time.Second) // the closed connections linger 2 s
	scope.Process.Signal(syscall.SIGTERM)
	<-done
	scope.Wait()

	mu.Lock()
	defer mu.Unlock()
	var complete, refused, stalledOpen, stalledFinal bool
	for _, s := range lines {
		m := s.line
		server, _ := m["server"].(string)
		switch {
		case strings.HasSuffix(server, ":8443") && m["outcome"] == "complete":
			complete = true
		case strings.HasSuffix(server, ":8444") && m["outcome"] == "failed":
			for _, a := range m["alerts"].([]any) {
				a := a.(map[string]any)
				refused = refused || (a["from"] == "server" && a["description"] == "protocol_version")
			}
		case strings.HasSuffix(server, ":8445") && m["outcome"] == "stalled" && m["open"] == true:
			if !s.at.Before(gaveUp) {
				t.Errorf("the stall was reported at %v, after the client gave up at %v", s.at, gaveUp)
			}
			stalledOpen = true
		case strings.HasSuffix(server, ":8445") && m["outcome"] == "stalled" && m["update"] == true:
			stalledFinal = true
		}
	}
	if !complete || !refused || !stalledOpen || !stalledFinal {
		var all []string
		for _, s := range lines {
			b, _ := json.Marshal(map[string]any{"server": s.line["server"], "outcome": s.line["outcome"], "open": s.line["open"], "update": s.line["update"]})
			all = append(all, string(b))
		}
		t.Errorf("complete %v, refused by alert %v, stalled while open %v, final update %v; lines:\n%s\nclient:\n%s",
			complete, refused, stalledOpen, stalledFinal, strings.Join(all, "\n"), out)
	}
}

// TestLiveCount: --count stops a live capture by itself after N
// handshakes, here one made on the loopback interface.
func TestLiveCount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for live capture")
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
	port := ln.Addr().(*net.TCPAddr).Port
	args, _ := json.Marshal([]string{"-i", "lo", "-f", fmt.Sprintf("tcp port %d", port), "--format", "json", "--count", "1", "--duration", "20s"})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TLSSCOPE_HELPER=tlsscope", "TLSSCOPE_ARGS="+string(args))
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if line, _ := bufio.NewReader(stderr).ReadString('\n'); !strings.Contains(line, "capturing on") {
		t.Skipf("live capture unavailable here: %q", line)
	}
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	out, _ := io.ReadAll(stdout)
	cmd.Wait()
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("stopped after %v, not at the first handshake", took)
	}
	// One connection, then what the kernel dropped (a live run always says).
	if n := strings.Count(string(out), "\n"); n != 2 || !strings.Contains(string(out), `"outcome":"complete"`) || !strings.Contains(string(out), `{"type":"drops","by":"kernel"`) {
		t.Errorf("output:\n%s", out)
	}
}
