// Command dtls13gen makes decoder/testdata's DTLS 1.3 captures with a real
// stack: pion/dtls v4.0.1's client and server, in process, over UDP on
// loopback, with a key log (pion's KeyLogWriter, NSS format). Each
// datagram is recorded as the stack hands it to its socket and written
// to a pcap with synthetic Ethernet, IPv4 and UDP headers (the addresses
// and ports are the sockets' own; the UDP checksum is 0, "none", which
// IPv4 allows), so no capture privilege is needed.
//
// It lives in testdata as a module of its own so that tlsscope's module
// does not depend on pion. Run: cd decoder/testdata/dtls13gen && go run .
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"sync"
	"time"

	"github.com/pion/dtls/v4"
	"github.com/pion/dtls/v4/pkg/crypto/ciphersuite"
	"github.com/pion/dtls/v4/pkg/protocol"
)

// serverName is the certificate's subject CN and the client's SNI.
const serverName = "dtls13.tlsscope.test"

type datagram struct {
	t        time.Time
	src, dst *net.UDPAddr
	payload  []byte
}

// recorder keeps every datagram written by the sockets it wraps.
type recorder struct {
	mu  sync.Mutex
	out []datagram
}

type recConn struct {
	net.PacketConn
	r *recorder
	// lose: the first datagram written that starts with a DTLS 1.3
	// unified header is recorded but not sent (lost after the capture
	// point, as on a path that drops it).
	lose *bool
}

func (c recConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	c.r.out = append(c.r.out, datagram{time.Now(), c.LocalAddr().(*net.UDPAddr), addr.(*net.UDPAddr), bytes.Clone(p)})
	if c.lose != nil && *c.lose && len(p) > 0 && p[0]&0xe0 == 0x20 {
		*c.lose = false
		return len(p), nil
	}
	return c.PacketConn.WriteTo(p, addr)
}

func certificate() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1309147),
		Subject:      pkix.Name{CommonName: serverName, Organization: []string{"tlsscope test"}},
		DNSNames:     []string{serverName},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// scenario is one association.
type scenario struct {
	name  string
	suite ciphersuite.ID
	// keyUpdate: the client updates its keys (and asks the server to)
	// between two messages.
	keyUpdate bool
	// loseServerFlight: the server's first protected datagram (its
	// EncryptedExtensions to Finished) is lost once: the flight is sent
	// again on the server's timer (RFC 9147 §5.8).
	loseServerFlight bool
	// verify: the client verifies the server's certificate (against an
	// empty pool of roots: it fails, and the client says so with an
	// alert under its handshake keys).
	verify bool
}

func run(s scenario) error {
	if _, err := os.Stat("../" + s.name + ".pcap"); err == nil {
		fmt.Printf("%s: there already, kept\n", s.name)
		return nil
	}
	cert, err := certificate()
	if err != nil {
		return err
	}
	rec := &recorder{}
	sc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	cc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	var keylog bytes.Buffer
	var klmu sync.Mutex
	kw := writerFunc(func(p []byte) (int, error) { klmu.Lock(); defer klmu.Unlock(); return keylog.Write(p) })
	v13 := []dtls.Option{dtls.WithMinVersion(protocol.Version1_3), dtls.WithMaxVersion(protocol.Version1_3), dtls.WithCipherSuites(s.suite)}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		var opts []dtls.ServerOption
		for _, o := range v13 {
			opts = append(opts, o)
		}
		opts = append(opts, dtls.WithCertificates(cert))
		lose := s.loseServerFlight
		srv, err := dtls.Server(recConn{sc, rec, &lose}, cc.LocalAddr(), opts...)
		if err != nil {
			done <- err
			return
		}
		if err := srv.HandshakeContext(ctx); err != nil {
			done <- fmt.Errorf("server handshake: %w", err)
			return
		}
		buf := make([]byte, 1500)
		for {
			n, err := srv.Read(buf)
			if err != nil {
				done <- nil // the client's close_notify
				srv.Close()
				return
			}
			if _, err := srv.Write(append([]byte("echo: "), buf[:n]...)); err != nil {
				done <- err
				return
			}
		}
	}()
	var opts []dtls.ClientOption
	for _, o := range v13 {
		opts = append(opts, o)
	}
	opts = append(opts, dtls.WithInsecureSkipVerify(!s.verify), dtls.WithServerName(serverName), dtls.WithKeyLogWriter(kw))
	if s.verify {
		opts = append(opts, dtls.WithRootCAs(x509.NewCertPool()))
	}
	cl, err := dtls.Client(recConn{cc, rec, nil}, sc.LocalAddr(), opts...)
	if err != nil {
		return err
	}
	err = cl.HandshakeContext(ctx)
	switch {
	case s.verify && err == nil:
		return fmt.Errorf("client handshake: the certificate was accepted")
	case s.verify:
		fmt.Printf("%s: client handshake failed as meant: %v\n", s.name, err)
		cl.Close()
		<-done
		time.Sleep(100 * time.Millisecond)
		return save(s, rec, &keylog, &klmu, sc, cc)
	case err != nil:
		return fmt.Errorf("client handshake: %w", err)
	}
	buf := make([]byte, 1500)
	say := func(msg string) error {
		if _, err := cl.Write([]byte(msg)); err != nil {
			return err
		}
		n, err := cl.Read(buf)
		if err != nil {
			return err
		}
		if string(buf[:n]) != "echo: "+msg {
			return fmt.Errorf("echo %q", buf[:n])
		}
		return nil
	}
	if err := say("hello over DTLS 1.3"); err != nil {
		return err
	}
	if s.keyUpdate {
		if err := cl.UpdateKeys(ctx, dtls.KeyUpdateOptions{RequestPeerUpdate: true}); err != nil {
			return fmt.Errorf("key update: %w", err)
		}
		if err := say("after the key update"); err != nil {
			return err
		}
	}
	if err := cl.Close(); err != nil {
		return err
	}
	if err := <-done; err != nil {
		return err
	}
	time.Sleep(100 * time.Millisecond)
	return save(s, rec, &keylog, &klmu, sc, cc)
}

// save writes the capture and the key log.
func save(s scenario, rec *recorder, keylog *bytes.Buffer, klmu *sync.Mutex, sc, cc net.PacketConn) error {
	sc.Close()
	cc.Close()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if err := writePcap("../"+s.name+".pcap", rec.out); err != nil {
		return err
	}
	klmu.Lock()
	defer klmu.Unlock()
	if err := os.WriteFile("../"+s.name+".keys", keylog.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Printf("%s: %d datagrams, %d key log lines\n", s.name, len(rec.out), bytes.Count(keylog.Bytes(), []byte("\n")))
	return nil
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// writePcap writes the datagrams as Ethernet/IPv4/UDP frames.
func writePcap(path string, dgs []datagram) error {
	var b bytes.Buffer
	hdr := []any{uint32(0xa1b2c3d4), uint16(2), uint16(4), int32(0), uint32(0), uint32(65535), uint32(1)}
	for _, v := range hdr {
		binary.Write(&b, binary.LittleEndian, v)
	}
	for i, d := range dgs {
		frame := udpFrame(d, uint16(i+1))
		us := d.t.UnixMicro()
		binary.Write(&b, binary.LittleEndian, uint32(us/1e6))
		binary.Write(&b, binary.LittleEndian, uint32(us%1e6))
		binary.Write(&b, binary.LittleEndian, uint32(len(frame)))
		binary.Write(&b, binary.LittleEndian, uint32(len(frame)))
		b.Write(frame)
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

func udpFrame(d datagram, id uint16) []byte {
	var f []byte
	f = append(f, 0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00) // Ethernet, IPv4
	ipLen := 20 + 8 + len(d.payload)
	ip := []byte{0x45, 0, byte(ipLen >> 8), byte(ipLen), byte(id >> 8), byte(id), 0x40, 0, 64, 17, 0, 0}
	ip = append(ip, d.src.IP.To4()...)
	ip = append(ip, d.dst.IP.To4()...)
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(ip[i])<<8 | uint32(ip[i+1])
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	f = append(f, ip...)
	udpLen := 8 + len(d.payload)
	f = binary.BigEndian.AppendUint16(f, uint16(d.src.Port))
	f = binary.BigEndian.AppendUint16(f, uint16(d.dst.Port))
	f = binary.BigEndian.AppendUint16(f, uint16(udpLen))
	f = append(f, 0, 0)
	return append(f, d.payload...)
}

var _ io.Writer = writerFunc(nil)

func main() {
	for _, s := range []scenario{
		{name: "dtls13-pion-aes128gcm", suite: ciphersuite.TLS_AES_128_GCM_SHA256, keyUpdate: true},
		{name: "dtls13-pion-chacha20", suite: ciphersuite.TLS_CHACHA20_POLY1305_SHA256},
		{name: "dtls13-pion-lost-flight", suite: ciphersuite.TLS_AES_128_GCM_SHA256, loseServerFlight: true},
		{name: "dtls13-pion-bad-certificate", suite: ciphersuite.TLS_AES_128_GCM_SHA256, verify: true},
	} {
		if err := run(s); err != nil {
			fmt.Fprintln(os.Stderr, s.name+":", err)
			os.Exit(1)
		}
	}
}
