package flows

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tlsscope/tlsscope/flows/capture"
)

// serverSilentOpen is stall-server-silent.pcap up to the server's ACK of
// the ClientHello: the server owes its ServerHello, and the connection
// is still open (the client's FIN, 5 s later, is left out).
func serverSilentOpen(t *testing.T) []capture.Packet {
	t.Helper()
	src, err := capture.OpenFile(filepath.Join("..", "testdata", "stall-server-silent.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ps, err := capture.ReadAll(src)
	if err != nil || len(ps) != 7 {
		t.Fatalf("%d packets, %v", len(ps), err)
	}
	return ps[:6]
}

// TestStallSaidOnTime: live, a stall is said as the owing side's silence
// reaches the stall timeout, at the first tick past it, not up to a
// second later (the stalls used to be looked for once a second).
func TestStallSaidOnTime(t *testing.T) {
	const timeout = 2 * time.Second
	for _, offset := range []time.Duration{0, 330 * time.Millisecond, 770 * time.Millisecond} {
		a := NewAnalyzer(Options{Live: true, StallTimeout: timeout})
		var stalled *Result
		var saidAt time.Time
		a.OnResult = func(r *Result) {
			if r.Outcome == Stalled && stalled == nil {
				stalled, saidAt = r, a.now
			}
		}
		ps := serverSilentOpen(t)
		for _, p := range ps {
			a.Packet(p.Data, p.CI, p.Link)
		}
		// A tick soon after the last packet (the scan the old code then
		// held for a second), then ticks 10 ms apart.
		last := ps[len(ps)-1].CI.Timestamp
		a.Tick(last.Add(offset))
		for at := last.Add(offset); stalled == nil && at.Before(last.Add(2*timeout)); at = at.Add(10 * time.Millisecond) {
			a.Tick(at)
		}
		if stalled == nil {
			t.Fatalf("offset %v: no stall said within %v", offset, 2*timeout)
		}
		due := stalled.Stall.Since.Add(timeout)
		if late := saidAt.Sub(due); late < 0 || late > stallScanGap+10*time.Millisecond {
			t.Errorf("offset %v: stall said at %v, %v after its silence reached %v (want at most %v)", offset, saidAt, late, timeout, stallScanGap+10*time.Millisecond)
		}
		if !stalled.Open {
			t.Errorf("offset %v: the stall was not said while open", offset)
		}
	}
}

// liveFeed is a live source of a few packets, one tick (libpcap's block
// timeout hands over the packets that came), then silence: no packet and
// no tick until closed (a link busy with other traffic would do the same
// to the ticks), so only the analysis's own clock can say a stall.
type liveFeed struct {
	ps     []capture.Packet
	ticked bool
	closed chan struct{}
	once   sync.Once
}

func (f *liveFeed) Name() string { return "feed" }
func (f *liveFeed) Live() bool   { return true }
func (f *liveFeed) Close() error { f.once.Do(func() { close(f.closed) }); return nil }
func (f *liveFeed) Next() (capture.Packet, error) {
	if len(f.ps) > 0 {
		p := f.ps[0]
		f.ps = f.ps[1:]
		return p, nil
	}
	if !f.ticked {
		f.ticked = true
		return capture.Packet{}, capture.ErrTick
	}
	<-f.closed
	return capture.Packet{}, capture.ErrClosed
}

// TestLiveStallTimer: a live Run says a stall when its silence reaches
// the timeout on the wall clock, though the source gives no tick.
func TestLiveStallTimer(t *testing.T) {
	const timeout = 300 * time.Millisecond
	ps := serverSilentOpen(t)
	// The packets as if captured just now.
	shift := time.Since(ps[len(ps)-1].CI.Timestamp)
	for i := range ps {
		ps[i].CI.Timestamp = ps[i].CI.Timestamp.Add(shift)
	}
	feed := &liveFeed{ps: ps, closed: make(chan struct{})}
	a := NewAnalyzer(Options{Live: true, StallTimeout: timeout})
	said := make(chan time.Time, 1)
	var stalled *Result
	a.OnResult = func(r *Result) {
		if r.Outcome == Stalled && r.Open && stalled == nil {
			stalled = r
			said <- time.Now()
		}
	}
	done := make(chan error)
	go func() { done <- a.Run(feed) }()
	var at time.Time
	select {
	case at = <-said:
	case <-time.After(5 * time.Second):
		feed.Close()
		<-done
		t.Fatal("no stall said within 5 s")
	}
	feed.Close()
	<-done
	due := stalled.Stall.Since.Add(timeout)
	// The wall clock and the shifted capture clock agree to within the
	// shift's rounding; scheduling on a busy machine adds some.
	if late := at.Sub(due); late < -5*time.Millisecond || late > 250*time.Millisecond {
		t.Errorf("stall said %v after its silence reached the timeout", late)
	}
}
