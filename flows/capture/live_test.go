package capture

import (
	"fmt"
	"net"
	"os"
	"testing"
	"time"
)

// TestLiveDrops fills a small ring on the loopback with more than it holds
// before reading any of it: the kernel drops the rest, and Drops says so.
// On the loopback the socket is given each packet twice, going out and
// coming in, and libpcap skips the first: what was read and what was
// dropped are at most what the socket was given, which is at most twice
// what was sent. It needs root (CI is).
func TestLiveDrops(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to capture")
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	port := conn.LocalAddr().(*net.UDPAddr).Port
	// Only this test's packets, so that other traffic on lo changes nothing.
	src, err := OpenLive("lo", fmt.Sprintf("udp dst port %d", port), 2048, false, 1<<20)
	if err != nil {
		t.Skipf("live capture unavailable here: %v", err)
	}
	defer src.Close()
	ds, ok := src.(DropSource)
	if !ok {
		t.Fatal("a live source does not say its drops")
	}
	out, err := net.DialUDP("udp", nil, conn.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	const sent = 20000 // 20 MB against a 1 MiB ring
	payload := make([]byte, 1000)
	for range sent {
		out.Write(payload)
	}
	// Read until nothing came for half a second: the kernel hands the
	// last, partly filled block over only when its timer fires.
	read, quiet := uint64(0), time.Now()
	for time.Since(quiet) < 500*time.Millisecond {
		_, err := src.Next()
		if err == ErrTick {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		read++
		quiet = time.Now()
	}
	time.Sleep(time.Second) // Drops reads the kernel at most once a second
	d := ds.Drops()
	t.Logf("sent %d, read %d, drops %+v", sent, read, d)
	if d.Kernel == 0 || read == 0 {
		t.Fatalf("read %d, %d dropped by the kernel: want both above 0", read, d.Kernel)
	}
	if d.Received < read || d.Received+d.Kernel > 2*sent {
		t.Errorf("the kernel says %d received and %d dropped, %d were read, %d sent", d.Received, d.Kernel, read, sent)
	}
	// Cumulative: a second look, with nothing new, says the same.
	time.Sleep(time.Second)
	if again := ds.Drops(); again != d {
		t.Errorf("drops changed from %+v to %+v with no packet", d, again)
	}
}
