package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// The traffic is real crypto/tls between two namespaces, captured by
// tcpdump on the client's side. Its outcomes are fixed by the connection's
// number, so that every run has the same mix:
//   - port 443: a TLS 1.3 or 1.2 handshake that completes, a request, a
//     response of 1 to 6 KiB and close_notify;
//   - one in 10 of those resumes a session the client holds;
//   - port 8443 accepts TLS 1.3 only: a TLS 1.2 client is refused with a
//     protocol_version alert (failed), one in 20;
//   - port 9443 reads the ClientHello and resets the connection (reset),
//     one in 20.
const (
	portComplete = 443
	portRefuse   = 8443
	portReset    = 9443
)

// roleEnv names the part a re-executed binary plays in a namespace.
const roleEnv = "TLSLIVE_ROLE"

// runRole runs the part named in the environment, if any, and reports
// whether it did.
func runRole() bool {
	switch os.Getenv(roleEnv) {
	case "servers":
		servers()
	case "clients":
		n, _ := strconv.Atoi(os.Getenv("TLSLIVE_CONNS"))
		if err := clients(genServerAddr, n); err != nil {
			fmt.Fprintln(os.Stderr, "clients:", err)
			os.Exit(1)
		}
	default:
		return false
	}
	return true
}

func selfSigned() tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "load.test"}, DNSNames: []string{"load.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// servers listens on the three ports until killed.
func servers() {
	cert := selfSigned()
	listen := func(port int) net.Listener {
		ln, err := net.Listen("tcp", net.JoinHostPort(genServerAddr, strconv.Itoa(port)))
		if err != nil {
			fmt.Println("listen:", err)
			os.Exit(1)
		}
		return ln
	}
	serve := func(ln net.Listener, handle func(net.Conn)) {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); c.SetDeadline(time.Now().Add(10 * time.Second)); handle(c) }()
		}
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	go serve(listen(portComplete), func(c net.Conn) {
		s := tls.Server(c, cfg)
		// The request is the size of the response wanted, in bytes.
		line, err := bufio.NewReader(s).ReadString('\n')
		if err != nil {
			return
		}
		n, _ := strconv.Atoi(line[:len(line)-1])
		s.Write(make([]byte, n))
		s.CloseWrite()
		io.Copy(io.Discard, s)
	})
	go serve(listen(portRefuse), func(c net.Conn) {
		tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}).Handshake()
	})
	go serve(listen(portReset), func(c net.Conn) {
		c.Read(make([]byte, 4096))
		c.(*net.TCPConn).SetLinger(0) // close with RST
	})
	fmt.Println("ready")
	select {}
}

// clients makes n connections, eight at a time.
func clients(host string, n int) error {
	cache := tls.NewLRUClientSessionCache(64)
	base := &tls.Config{ServerName: "load.test", InsecureSkipVerify: true}
	var wg sync.WaitGroup
	work := make(chan int)
	errs := make(chan error, n)
	for range 8 {
		wg.Go(func() {
			for i := range work {
				if err := client(host, i, base, cache); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	bad := 0
	for err := range errs {
		if bad++; bad <= 3 {
			fmt.Fprintln(os.Stderr, "connection:", err)
		}
	}
	if bad > n/100 {
		return fmt.Errorf("%d of %d connections went wrong", bad, n)
	}
	return nil
}

func client(host string, i int, base *tls.Config, cache tls.ClientSessionCache) error {
	port, cfg := portComplete, base.Clone()
	switch {
	case i%20 == 0:
		port, cfg.MaxVersion = portRefuse, tls.VersionTLS12
	case i%20 == 1:
		port = portReset
	case i%10 == 2:
		cfg.ClientSessionCache = cache
	case i%3 == 0:
		cfg.MaxVersion = tls.VersionTLS12
	}
	c, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	s := tls.Client(c, cfg)
	if port != portComplete {
		s.Handshake() // meant to fail
		return nil
	}
	if _, err := fmt.Fprintf(s, "%d\n", 1024*(1+i%6)); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, s); err != nil {
		return err
	}
	return s.Close()
}

// generate captures the traffic of conns connections into file.
func generate(file string, conns int, log io.Writer) error {
	if err := pair(nsGenServer, vethGenServer, genServerAddr, nsGenClient, vethGenClient, genClientAddr); err != nil {
		return err
	}
	defer unpair(nsGenServer, nsGenClient)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	srv, err := start(nsGenServer, nil, []string{roleEnv + "=servers"}, "ready", self, "-test.run=^$")
	if err != nil {
		return err
	}
	defer srv.stop(syscall.SIGKILL)
	dump, err := start(nsGenClient, nil, nil, "listening on", "tcpdump", "-i", vethGenClient, "-s", "0", "-n", "-Z", "root", "-w", file, "tcp")
	if err != nil {
		return err
	}
	t0 := time.Now()
	_, cerr := in(nsGenClient, "env", roleEnv+"=clients", "TLSLIVE_CONNS="+strconv.Itoa(conns), self, "-test.run=^$")
	// The last FINs and their ACKs are in before the capture stops.
	time.Sleep(500 * time.Millisecond)
	dump.stop(syscall.SIGINT)
	if cerr != nil {
		return cerr
	}
	drops := tcpdumpCounts(dump.output())
	fmt.Fprintf(log, "liveload: %d connections captured in %.1f s: %s (%s)\n", conns, time.Since(t0).Seconds(), file, drops)
	if drops.dropped > 0 {
		return fmt.Errorf("tcpdump dropped %d packets while capturing the traffic", drops.dropped)
	}
	return nil
}
