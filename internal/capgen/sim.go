// Package capgen makes the captures in testdata/ from real TLS handshakes:
// Go's crypto/tls client and server run in-process over a simulated TCP
// connection, and what each side writes is recorded with a simulated clock
// and written out as packets. Everything is deterministic: the two sides
// take turns (one runs while the other waits for bytes), the clock is
// virtual, and the caller fixes crypto randomness (see capgen_test.go).
package capgen

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

type eventKind uint8

const (
	evData eventKind = iota
	evFIN
	evRST
)

// event is one thing a side did, at a time on the virtual clock.
type event struct {
	side int // 0 client, 1 server
	kind eventKind
	data []byte
	at   time.Duration
}

// sim is one simulated TCP connection between two goroutines that take
// turns: a side runs until it reads with nothing to read, then the other
// side runs. The virtual clock moves forward when the turn passes.
type sim struct {
	mu      sync.Mutex
	cond    *sync.Cond
	turn    int
	buf     [2][]byte // bytes waiting to be read by each side
	closed  [2]bool   // side has sent FIN or RST
	reset   [2]bool
	waiting [2]bool // side blocked in Read
	done    [2]bool
	expired [2]bool // side's read timed out
	clock   time.Duration
	events  []event
	// rtt is added when the turn passes from client to server and back:
	// timestamps are as seen by a capture at the client.
	rtt time.Duration
	// timeout is each side's read timeout; 0 waits for ever.
	timeout [2]time.Duration
	// dropAfter discards a side's writes after this many (0: never).
	dropAfter [2]int
	writes    [2]int
	// path, when set, withholds what the network loses (loss.go).
	path *pathSim
}

func newSim(rtt time.Duration) *sim {
	s := &sim{rtt: rtt}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// handoff gives the turn to the other side; mu is held.
func (s *sim) handoff(from int) {
	if from == 0 {
		s.clock += s.rtt
	} else {
		s.clock += 200 * time.Microsecond
	}
	s.turn = 1 - from
	s.cond.Broadcast()
}

// run runs the two sides to their end, client first.
func (s *sim) run(client, server func(net.Conn)) []event {
	var wg sync.WaitGroup
	for side, f := range []func(net.Conn){client, server} {
		wg.Add(1)
		go func(side int, f func(net.Conn)) {
			defer wg.Done()
			s.mu.Lock()
			for s.turn != side {
				s.cond.Wait()
			}
			s.mu.Unlock()
			f(&simConn{s: s, side: side})
			s.mu.Lock()
			s.done[side] = true
			s.waiting[side] = false
			if !s.done[1-side] {
				s.handoff(side)
			}
			s.mu.Unlock()
		}(side, f)
	}
	wg.Wait()
	return s.events
}

var errTimeout = timeoutError{}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout (simulated)" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

var errReset = errors.New("connection reset by peer (simulated)")

// simConn is one side's end of the connection.
type simConn struct {
	s    *sim
	side int
}

func (c *simConn) Read(p []byte) (int, error) {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	me, peer := c.side, 1-c.side
	for len(s.buf[me]) == 0 {
		if err := s.path.readErr(me); err != nil {
			return 0, err
		}
		// Behind a hole in the stream neither data nor FIN is delivered.
		if !s.path.stalled(me) {
			if s.reset[peer] {
				s.path.resetSeen(me)
				return 0, errReset
			}
			if s.closed[peer] {
				return 0, io.EOF
			}
		}
		if s.expired[me] {
			s.expired[me] = false
			return 0, errTimeout
		}
		if s.done[peer] || (s.waiting[peer] && len(s.buf[peer]) == 0 && !s.expired[peer]) {
			// Neither side can go on: the one with a read timeout gives up.
			switch {
			case s.timeout[me] > 0:
				s.clock += s.timeout[me]
				return 0, errTimeout
			case s.waiting[peer] && s.timeout[peer] > 0:
				s.clock += s.timeout[peer]
				s.expired[peer] = true
			case s.path.stalled(me):
				return 0, s.path.stop(me)
			default:
				return 0, io.EOF // a scenario that never ends: stop this side
			}
		}
		s.waiting[me] = true
		s.handoff(me)
		for s.turn != me {
			s.cond.Wait()
		}
		s.waiting[me] = false
	}
	n := copy(p, s.buf[me])
	s.buf[me] = s.buf[me][n:]
	return n, nil
}

func (c *simConn) Write(p []byte) (int, error) {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed[c.side] {
		return 0, net.ErrClosed
	}
	if s.path.gone(c.side) {
		return 0, errReset
	}
	s.writes[c.side]++
	if d := s.dropAfter[c.side]; d > 0 && s.writes[c.side] > d {
		return len(p), nil // a black hole: the peer never sees it
	}
	s.clock += 50 * time.Microsecond
	data := append([]byte(nil), p...)
	s.events = append(s.events, event{side: c.side, kind: evData, data: data, at: s.clock})
	s.buf[1-c.side] = append(s.buf[1-c.side], s.path.deliver(s, c.side, data)...)
	return len(p), nil
}

// Close sends a FIN.
func (c *simConn) Close() error {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed[c.side] && !s.path.gone(c.side) {
		s.closed[c.side] = true
		s.clock += 50 * time.Microsecond
		s.events = append(s.events, event{side: c.side, kind: evFIN, at: s.clock})
	}
	return nil
}

// Reset aborts with a RST.
func (c *simConn) Reset() {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed[c.side] && !s.path.gone(c.side) {
		s.closed[c.side], s.reset[c.side] = true, true
		s.clock += 50 * time.Microsecond
		s.events = append(s.events, event{side: c.side, kind: evRST, at: s.clock})
	}
}

// Sleep lets virtual time pass on this side.
func (c *simConn) Sleep(d time.Duration) {
	c.s.mu.Lock()
	c.s.clock += d
	c.s.mu.Unlock()
}

func (c *simConn) LocalAddr() net.Addr                { return &net.TCPAddr{} }
func (c *simConn) RemoteAddr() net.Addr               { return &net.TCPAddr{} }
func (c *simConn) SetDeadline(t time.Time) error      { return nil }
func (c *simConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *simConn) SetWriteDeadline(t time.Time) error { return nil }
