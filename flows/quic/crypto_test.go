package quic

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"runtime"
	"testing"
)

// readAll adds the pieces in order and returns what Read gave.
func readAll(t *testing.T, s *CryptoStream, pieces [][2]int, data []byte) []byte {
	t.Helper()
	var out []byte
	for _, p := range pieces {
		if err := s.Add(uint64(p[0]), data[p[0]:p[1]]); err != nil {
			t.Fatalf("Add(%d, %d bytes): %v", p[0], p[1]-p[0], err)
		}
		out = append(out, s.Read()...)
	}
	return out
}

// TestCryptoStreamShuffled: shuffled, overlapping and repeated pieces give
// the original bytes, as Chrome's ClientHello split over two Initials
// does.
func TestCryptoStreamShuffled(t *testing.T) {
	data := make([]byte, 3000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		var pieces [][2]int
		for off := 0; off < len(data); {
			n := 1 + r.IntN(400)
			end := min(off+n, len(data))
			pieces = append(pieces, [2]int{off, end})
			// An overlapping piece and a duplicate, now and then.
			if r.IntN(3) == 0 {
				a := max(0, off-r.IntN(50))
				pieces = append(pieces, [2]int{a, min(end+r.IntN(50), len(data))})
			}
			if r.IntN(4) == 0 {
				pieces = append(pieces, [2]int{off, end})
			}
			off = end
		}
		r.Shuffle(len(pieces), func(i, j int) { pieces[i], pieces[j] = pieces[j], pieces[i] })
		var s CryptoStream
		got := readAll(t, &s, pieces, data)
		if !bytes.Equal(got, data) {
			t.Fatalf("round %d: %d bytes back, differ", round, len(got))
		}
		if s.Buffered() != 0 || s.Missing() || s.Offset() != uint64(len(data)) || s.Read() != nil {
			t.Fatalf("round %d: buffered %d, missing %v at the end", round, s.Buffered(), s.Missing())
		}
	}
}

// TestCryptoStreamCopies: the stream keeps its own copy of what it holds.
func TestCryptoStreamCopies(t *testing.T) {
	var s CryptoStream
	buf := []byte("worldhello")
	if err := s.Add(5, buf[:5]); err != nil {
		t.Fatal(err)
	}
	if !s.Missing() || s.Buffered() != 5 || s.Read() != nil {
		t.Fatalf("hole not seen: buffered %d", s.Buffered())
	}
	copy(buf, "XXXXXXXXXX") // the datagram buffer is reused
	if err := s.Add(0, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if got := string(s.Read()); got != "helloworld" {
		t.Fatalf("Read = %q", got)
	}
}

// TestCryptoStreamBounds: a frame past the limit or one that would hold
// too much out of order is refused whole, and nothing is held for it.
func TestCryptoStreamBounds(t *testing.T) {
	var s CryptoStream
	if err := s.Add(1<<62-1, []byte{1}); !errors.Is(err, ErrCryptoTooFar) {
		t.Fatalf("offset 2^62-1: %v", err)
	}
	if err := s.Add(MaxCryptoOffset-1, []byte{1, 2}); !errors.Is(err, ErrCryptoTooFar) {
		t.Fatalf("ending past the limit: %v", err)
	}
	if err := s.Add(MaxCryptoOffset-1, []byte{1}); err != nil {
		t.Fatalf("the last byte below the limit: %v", err)
	}
	s = CryptoStream{}
	if err := s.Add(1000, make([]byte, MaxCryptoBuffered)); err != nil {
		t.Fatalf("exactly the out-of-order limit: %v", err)
	}
	if err := s.Add(1000+MaxCryptoBuffered+10, []byte{1}); !errors.Is(err, ErrCryptoBuffered) {
		t.Fatalf("one byte past the limit: %v", err)
	}
	if err := s.Add(1000, make([]byte, 100)); err != nil {
		t.Fatalf("a duplicate of held bytes: %v", err)
	}
	if s.Buffered() != MaxCryptoBuffered {
		t.Fatalf("buffered %d after a refusal", s.Buffered())
	}
	// The hole filled, all of it comes out and the limit is free again.
	if err := s.Add(0, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Read()); n != 1000+MaxCryptoBuffered || s.Buffered() != 0 {
		t.Fatalf("read %d, buffered %d", n, s.Buffered())
	}
	// Too many runs: every other byte.
	s = CryptoStream{}
	var err error
	for i := 0; err == nil && i < 1000; i++ {
		err = s.Add(uint64(2+2*i), []byte{1})
	}
	if !errors.Is(err, ErrCryptoBuffered) || s.Buffered() != maxCryptoPieces {
		t.Fatalf("runs: %v with %d held", err, s.Buffered())
	}
}

// TestCryptoStreamNoReserve: a hostile offset does not make the stream
// reserve memory for it (the amplification RFC 9000 §7.5 warns of).
func TestCryptoStreamNoReserve(t *testing.T) {
	data := make([]byte, 100)
	for _, off := range []uint64{1 << 61, 1<<62 - 1, MaxCryptoOffset - 200} {
		var s CryptoStream
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		for range 100 {
			s = CryptoStream{}
			_ = s.Add(off, data)
		}
		runtime.ReadMemStats(&m1)
		if per := (m1.TotalAlloc - m0.TotalAlloc) / 100; per > 512 {
			t.Errorf("Add at offset %#x allocates %d bytes", off, per)
		}
	}
	allocs := testing.AllocsPerRun(100, func() {
		var s CryptoStream
		_ = s.Add(1<<61, data)
	})
	if allocs != 0 {
		t.Errorf("a refused Add allocates %.0f times", allocs)
	}
}
